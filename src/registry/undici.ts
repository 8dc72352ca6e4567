export { undici } from '../net/undici';

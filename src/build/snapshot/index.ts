export * from './types';
export { StatWalkSnapshotter, diffStates } from './stat-walk';

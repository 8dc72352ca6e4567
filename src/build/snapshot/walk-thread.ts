// The script of a stat-walk worker thread (see parallel-walk.ts).
import { parentPort } from 'node:worker_threads';
import { runWalker } from './parallel-walk';

runWalker(parentPort!);

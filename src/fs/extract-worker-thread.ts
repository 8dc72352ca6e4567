// The script of a layer extraction worker thread (see extract-worker.ts).
import { parentPort } from 'node:worker_threads';
import { runWorker } from './extract-worker';

runWorker(parentPort!);

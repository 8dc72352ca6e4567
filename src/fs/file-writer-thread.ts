// The script of a file writer thread (see file-writers.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { runFileWriter } from './file-writers';

runFileWriter(parentPort!, workerData);

// Mocha root hooks: whatever servers the run started are stopped by PID at the end, then the
// run's temporary directory goes (run-tmp.ts; imported first: it sets TMPDIR for the others).
import { removeRunTmp } from './run-tmp';
import { stopAll } from './testbed';
import { stopS3IfStarted } from './s3';
export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(30000);
    await stopAll();
    await stopS3IfStarted();
    removeRunTmp();
  },
};

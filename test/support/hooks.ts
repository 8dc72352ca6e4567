// Mocha root hooks: whatever servers the run started are stopped by PID at the end, then the
// run's temporary directory goes (run-tmp.ts; imported first: it sets TMPDIR for the others).
import { removeRunTmp } from './run-tmp';
import { stopAll } from './testbed';
import { stopS3IfStarted } from './s3';
export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    // each server gets up to 5 s to stop (then SIGKILL); on a loaded machine a run once took more
    // than 30 s for them one after another: they stop together now, with room to spare
    this.timeout(60000);
    await Promise.all([stopAll(), stopS3IfStarted()]);
    removeRunTmp();
  },
};

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { giveTo, permits } from '../../../src/sidecar/paths';

describe('sidecar/paths', () => {
  const who = { uid: 1234, gid: 1234 };

  it('permits as the owner, the group or others, root always', () => {
    const st = (uid: number, gid: number, mode: number) => ({ uid, gid, mode }) as fs.Stats;
    assert.equal(permits(st(1234, 0, 0o700), who, 6), true);
    assert.equal(permits(st(0, 1234, 0o750), who, 2), false);
    assert.equal(permits(st(0, 1234, 0o750), who, 5), true);
    assert.equal(permits(st(0, 0, 0o755), who, 2), false);
    assert.equal(permits(st(0, 0, 0o000), { uid: 0, gid: 0 }, 7), true);
  });

  it('gives a tree the build made to the client through descriptors: never a symlink\'s target, a file of several links, or where the directory is not the client\'s', () => {
    const top = fs.mkdtempSync(path.join(os.tmpdir(), 'drydock-give-'));
    const victim = fs.mkdtempSync(path.join(os.tmpdir(), 'drydock-give-victim-'));
    fs.writeFileSync(path.join(victim, 'shadow'), 'x');
    const job = path.join(top, 'job');
    fs.mkdirSync(path.join(job, 'out', 'blobs'), { recursive: true });
    fs.chownSync(job, who.uid, who.gid);
    fs.writeFileSync(path.join(job, 'out', 'blobs', 'a'), 'a');
    fs.symlinkSync(victim, path.join(job, 'out', 'evil'));
    fs.linkSync(path.join(victim, 'shadow'), path.join(job, 'out', 'hard'));
    giveTo(path.join(job, 'out'), who);
    const uid = (p: string) => fs.lstatSync(p).uid;
    assert.deepEqual([uid(path.join(job, 'out')), uid(path.join(job, 'out', 'blobs')), uid(path.join(job, 'out', 'blobs', 'a'))], [1234, 1234, 1234]);
    assert.deepEqual([uid(path.join(job, 'out', 'evil')), uid(victim), uid(path.join(victim, 'shadow'))], [0, 0, 0]);
    // a symlink on the way (the job directory swapped for one) is not followed
    fs.mkdirSync(path.join(victim, 'out'));
    fs.renameSync(job, `${job}.old`);
    fs.symlinkSync(victim, job);
    assert.throws(() => giveTo(path.join(job, 'out'), who), /ELOOP|ENOTDIR/);
    assert.equal(uid(path.join(victim, 'out')), 0);
    // a directory that is not the client's
    assert.throws(() => giveTo(path.join(victim, 'shadow'), who), /is not uid 1234's/);
    assert.equal(uid(path.join(victim, 'shadow')), 0);
  });
});

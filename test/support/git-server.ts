// A git repository served over plain HTTP on loopback the "dumb" way (static files after
// `git update-server-info`), which git clients fetch from like any remote: for ADD of git
// repositories and git build contexts.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { freePort, run, tmpDir } from './testbed';

export interface GitServer {
  /** http://127.0.0.1:PORT/repo.git */
  url: string;
  /** 127.0.0.1:PORT/repo.git (for kaniko's git:// form) */
  location: string;
  /** the commit tagged v1 (first), and main's head (second); `feature` branches off v1 */
  v1: string;
  head: string;
  feature: string;
  /** Authorization headers the server was sent */
  authorizations: string[];
  close(): void;
}

/**
 * main: v1 (a.txt "first", sub/tool.sh mode 0700, a Dockerfile in / and in sub/ copying the context to /ctx) then a.txt "second"; tag v1;
 * branch feature from v1 with b.txt. Every commit dated 2021-02-03T04:05:06Z.
 */
export async function startGitServer(): Promise<GitServer> {
  const top = tmpDir('drydock-git-');
  const work = path.join(top, 'work');
  const when = '2021-02-03T04:05:06Z';
  const env = { ...process.env, GIT_COMMITTER_DATE: when, GIT_AUTHOR_DATE: when };
  const git = (...args: string[]) => run('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'init.defaultBranch=main', ...args], { cwd: work, env }).trim();
  fs.mkdirSync(path.join(work, 'sub'), { recursive: true });
  git('init', '-q', '.');
  fs.writeFileSync(path.join(work, 'a.txt'), 'first\n');
  fs.writeFileSync(path.join(work, 'sub/tool.sh'), '#!/bin/sh\necho tool\n', { mode: 0o700 });
  fs.writeFileSync(path.join(work, 'Dockerfile'), 'FROM scratch\nCOPY . /ctx/\n');
  fs.writeFileSync(path.join(work, 'sub/Dockerfile'), 'FROM scratch\nCOPY . /ctx/\n');
  git('add', '.');
  git('commit', '-q', '-m', 'one');
  git('tag', 'v1');
  const v1 = git('rev-parse', 'HEAD');
  git('checkout', '-q', '-b', 'feature');
  fs.writeFileSync(path.join(work, 'b.txt'), 'feature\n');
  git('add', '.');
  git('commit', '-q', '-m', 'feature');
  const feature = git('rev-parse', 'HEAD');
  git('checkout', '-q', 'main');
  fs.writeFileSync(path.join(work, 'a.txt'), 'second\n');
  git('commit', '-q', '-am', 'two');
  const head = git('rev-parse', 'HEAD');
  run('git', ['clone', '-q', '--bare', work, path.join(top, 'repo.git')]);
  run('git', ['--git-dir', path.join(top, 'repo.git'), 'update-server-info']);
  const port = await freePort();
  const authorizations: string[] = [];
  const server = http.createServer((req, res) => {
    if (req.headers.authorization) authorizations.push(req.headers.authorization);
    const file = path.join(top, decodeURIComponent(new URL(req.url!, 'http://x').pathname));
    if (!file.startsWith(top + '/') || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.end(fs.readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const location = `127.0.0.1:${port}/repo.git`;
  return { url: `http://${location}`, location, v1, head, feature, authorizations, close: () => server.close() };
}

// GET a URL (ADD sources, https build contexts) following redirects, with transient failures
// retried and a status error that names the URL.
import type { Dispatcher } from 'undici';
import { UserError } from '../log';
import { undici } from '../net/undici';
import { newAgent } from '../net/agents';

let dispatcher: Dispatcher | undefined;
function redirecting(): Dispatcher {
  const { interceptors } = undici();
  dispatcher ??= newAgent().compose(interceptors.redirect({ maxRedirections: 10 }));
  return dispatcher;
}

export async function httpGet(url: string, what: string, attempts = 3): Promise<Dispatcher.ResponseData> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 500 * 2 ** (i - 1)));
    try {
      const res = await undici().request(url, { dispatcher: redirecting() });
      if (res.statusCode === 200) return res;
      res.body.resume();
      const transient = res.statusCode === 408 || res.statusCode === 429 || res.statusCode >= 500;
      last = new UserError(`${what}: cannot download ${url}: HTTP ${res.statusCode}`);
      if (!transient) throw last;
    } catch (e) {
      if (e instanceof UserError && !/HTTP (408|429|5\d\d)/.test(e.message)) throw e;
      last = e instanceof UserError ? e : new UserError(`${what}: cannot download ${url}: ${(e as Error).message}`);
    }
  }
  throw last;
}

// Is the controller there, and will it accept this kind of agent? Asked over plain HTTP before
// remoting starts, so that a wrong URL or a disabled agent port gives one clear message instead
// of remoting's endless reconnect loop. This never opens the agent connection itself (no TCP
// agent handshake, no /wsagents/ upgrade): that is remoting's job and the controller would log
// our probe as a failed agent.
//
// TCP mode:       GET {url}/tcpSlaveAgentListener/  → X-Jenkins-JNLP-Port, X-Jenkins-Agent-Protocols,
//                 X-Instance-Identity, X-Remoting-Minimum-Version
// WebSocket mode: GET {url}/login                   → reachable, X-Jenkins present
import type { Dispatcher } from 'undici';
import { UserError, type Logger } from '../log';
import { newAgent } from '../net/agents';
import { undici } from '../net/undici';
import { defaultSleep, delayAfter, type BackoffOptions } from './backoff';
import { describeNetworkError } from './http-errors';
import type { ConnectionSettings } from './launch-plan';

export interface ControllerFacts {
  url: string;
  mode: 'tcp' | 'websocket';
  jenkinsVersion?: string;
  minRemotingVersion?: string;
  agentPort?: number;
  agentProtocols?: string[];
  instanceIdentity?: string;
}

export interface CheckOptions {
  backoff: BackoffOptions;
  log: Logger;
  timeoutMs?: number;
}

type Outcome = { ok: ControllerFacts } | { retry: string } | { fatal: string };

/** A base URL that ends in `/`, so relative paths keep Jenkins' context path. */
export function controllerBase(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UserError(`Jenkins URL "${url}" is not a URL: expected e.g. https://jenkins.example.com/ (from -url or JENKINS_URL)`, { exitCode: 2 });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new UserError(`Jenkins URL "${url}" must start with http:// or https://`, { exitCode: 2 });
  }
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  return u;
}

export function dispatcherFor(skipCertificateCheck: boolean): Dispatcher | undefined {
  return skipCertificateCheck ? newAgent({ rejectUnauthorized: false }) : undefined;
}

/**
 * Remoting takes several -url and uses the first that answers (JnlpAgentEndpointResolver), so
 * each attempt asks them in that order; the facts say which one answered.
 */
export async function checkController(conn: ConnectionSettings, opts: CheckOptions): Promise<ControllerFacts> {
  const urls = conn.urls.length ? conn.urls : conn.url !== undefined ? [conn.url] : [];
  if (urls.length === 0) throw new Error('checkController needs a URL');
  const mode = conn.webSocket ? 'websocket' : 'tcp';
  const candidates = urls.map((u) => {
    const base = controllerBase(u);
    return { base, target: new URL(mode === 'tcp' ? 'tcpSlaveAgentListener/' : 'login', base).toString() };
  });
  const dispatcher = dispatcherFor(conn.skipCertificateCheck);
  const sleep = opts.backoff.sleep ?? defaultSleep;
  const log = opts.log;
  try {
    for (let attempt = 1; ; attempt++) {
      let retry: string | undefined;
      let fatal: string | undefined;
      for (const { base, target } of candidates) {
        const outcome = await probe(target, base.toString(), mode, conn, opts.timeoutMs ?? 10000, dispatcher, log);
        if ('ok' in outcome) {
          log.info('Jenkins controller reachable', { url: base.toString(), mode, ...compact(outcome.ok) });
          return outcome.ok;
        }
        if ('fatal' in outcome) fatal ??= outcome.fatal;
        else retry ??= outcome.retry;
      }
      // every URL refused for good: nothing to wait for
      if (retry === undefined) throw new UserError(`Jenkins controller check failed: ${fatal}`);
      const where = candidates.map((c) => c.base.toString()).join(', ');
      if (attempt >= opts.backoff.attempts) {
        throw new UserError(
          `Jenkins controller at ${where} not reachable after ${attempt} attempt(s): ${retry}. ` +
            'Set DRYDOCK_AGENT_CHECK_ATTEMPTS to wait longer, or DRYDOCK_AGENT_SKIP_CHECK=true to leave it to remoting.',
        );
      }
      const wait = delayAfter(attempt, opts.backoff);
      log.warn(`Jenkins controller not ready: ${retry}; retrying`, { attempt, of: opts.backoff.attempts, waitMs: wait });
      await sleep(wait);
    }
  } finally {
    await dispatcher?.close();
  }
}

async function probe(
  target: string,
  base: string,
  mode: 'tcp' | 'websocket',
  conn: ConnectionSettings,
  timeoutMs: number,
  dispatcher: Dispatcher | undefined,
  log: Logger,
): Promise<Outcome> {
  let res: Dispatcher.ResponseData;
  try {
    res = await undici().request(target, { method: 'GET', headersTimeout: timeoutMs, bodyTimeout: timeoutMs, dispatcher });
  } catch (err) {
    const p = describeNetworkError(err, target);
    return p.retryable ? { retry: p.message } : { fatal: p.message };
  }
  await res.body.dump();
  const h = (name: string): string | undefined => {
    const v = res.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const status = res.statusCode;
  if (status >= 500 || status === 429) {
    return { retry: `GET ${target} answered ${status} (Jenkins starting up, restarting, or overloaded?)` };
  }
  const facts: ControllerFacts = {
    url: base,
    mode,
    jenkinsVersion: h('x-jenkins'),
    minRemotingVersion: h('x-remoting-minimum-version'),
  };
  if (mode === 'websocket') {
    if (status === 404) {
      return { fatal: `GET ${target} answered 404: ${base} is not the Jenkins root URL (missing context path such as /jenkins/?)` };
    }
    if (status >= 400 && status !== 401 && status !== 403) return { fatal: `GET ${target} answered ${status}; expected Jenkins' login page` };
    if (!facts.jenkinsVersion) log.warn(`${base} answered without an X-Jenkins header: is this Jenkins, or a proxy page?`);
    return { ok: facts };
  }
  if (status === 404) {
    return {
      fatal: `GET ${target} answered 404: the controller's TCP port for inbound agents is disabled. ` +
        'Enable it (Manage Jenkins → Security → Agents → TCP port for inbound agents), or use WebSocket: JENKINS_WEB_SOCKET=true / -webSocket.',
    };
  }
  if (status === 401 || status === 403) {
    return {
      fatal: `GET ${target} answered ${status}: something in front of Jenkins refuses anonymous access to /tcpSlaveAgentListener/, ` +
        'which inbound agents need. Allow that path, or use WebSocket (JENKINS_WEB_SOCKET=true).',
    };
  }
  if (status >= 300) return { fatal: `GET ${target} answered ${status}; expected 200 from Jenkins' agent listener (redirect to another URL? use that as -url)` };
  const port = h('x-jenkins-jnlp-port');
  facts.agentPort = port === undefined ? undefined : Number(port);
  if (facts.agentPort === undefined || !Number.isInteger(facts.agentPort) || facts.agentPort <= 0) {
    return {
      fatal: `${target} reports no TCP agent port (X-Jenkins-JNLP-Port: ${port ?? 'absent'}): enable the TCP port for inbound agents ` +
        'or use WebSocket (JENKINS_WEB_SOCKET=true).',
    };
  }
  const offered = h('x-jenkins-agent-protocols');
  if (offered !== undefined) {
    facts.agentProtocols = offered.split(',').map((s) => s.trim()).filter(Boolean);
    const wanted = (conn.protocols ?? 'JNLP4-connect').split(',').map((s) => s.trim()).filter(Boolean);
    if (!wanted.some((p) => facts.agentProtocols?.includes(p))) {
      return {
        fatal: `the controller offers agent protocols ${facts.agentProtocols.join(', ') || '(none)'} but the agent would use ${wanted.join(', ')}; ` +
          'enable JNLP4-connect on the controller or change JENKINS_PROTOCOLS / -protocols',
      };
    }
  }
  facts.instanceIdentity = h('x-instance-identity');
  if (conn.instanceIdentity && facts.instanceIdentity && conn.instanceIdentity !== facts.instanceIdentity) {
    log.warn('the controller\'s X-Instance-Identity differs from JENKINS_INSTANCE_IDENTITY / -instanceIdentity: is this the right controller?');
  }
  return { ok: facts };
}

function compact(f: ControllerFacts): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (f.jenkinsVersion) out.jenkins = f.jenkinsVersion;
  if (f.agentPort) out.agentPort = f.agentPort;
  if (f.agentProtocols) out.protocols = f.agentProtocols.join(',');
  if (f.minRemotingVersion) out.minRemoting = f.minRemotingVersion;
  return out;
}

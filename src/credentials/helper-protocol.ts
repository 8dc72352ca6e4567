// The docker-credential-helpers protocol: `docker-credential-<name> get|store|erase|list`, the
// request on stdin, JSON on stdout, and the exact text "credentials not found in native keychain"
// for a registry the helper does not know. A Username of "<token>" means Secret is an identity token.
import { spawn } from 'node:child_process';
import { UserError, redact, registerSecret } from '../log';
import type { AuthConfig } from './keychain';

export const NOT_FOUND_TEXT = 'credentials not found in native keychain';
export const TOKEN_USERNAME = '<token>';

export interface HelperReply {
  ServerURL?: string;
  Username?: string;
  Secret?: string;
}

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const TIMEOUT_MS = 60_000;
const MAX_OUTPUT = 1024 * 1024;

export class CredentialHelper {
  readonly program: string;

  /** `origin` says where the helper was named, for messages ("credHelpers in /x/config.json"). */
  constructor(readonly name: string, private readonly env: NodeJS.ProcessEnv, private readonly origin: string) {
    this.program = `docker-credential-${name}`;
  }

  private run(action: string, input: string, registry: string): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      let child;
      try {
        child = spawn(this.program, [action], { env: this.env, stdio: ['pipe', 'pipe', 'pipe'] });
      } catch (e) {
        reject(this.spawnError(e as NodeJS.ErrnoException, registry));
        return;
      }
      let stdout = '';
      let stderr = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
      child.stdout.setEncoding('utf8').on('data', (d: string) => { if (stdout.length < MAX_OUTPUT) stdout += d; });
      child.stderr.setEncoding('utf8').on('data', (d: string) => { if (stderr.length < MAX_OUTPUT) stderr += d; });
      child.on('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(this.spawnError(e, registry));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      });
      // a helper that exits without reading stdin must not crash us with EPIPE
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
    });
  }

  private spawnError(e: NodeJS.ErrnoException, registry: string): UserError {
    if (e.code === 'ENOENT') {
      return new UserError(`credential helper "${this.program}" for registry ${registry} was not found on PATH (named by ${this.origin}); install it or remove that entry`);
    }
    if (e.code === 'EACCES') return new UserError(`credential helper "${this.program}" for registry ${registry} is not executable (named by ${this.origin})`);
    return new UserError(`credential helper "${this.program}" for registry ${registry} could not be started: ${e.message}`);
  }

  private failure(action: string, registry: string, r: RunResult): UserError {
    const how = r.signal ? `was killed by ${r.signal}` : `exited with status ${r.code}`;
    // the helper's own words are the useful part, but never anything that looks like a reply body
    const said = [r.stderr, r.stdout.trim().startsWith('{') ? '' : r.stdout].join(' ').replace(/\s+/g, ' ').trim().slice(0, 300);
    return new UserError(`credential helper "${this.program}" ${how} on "${action}" for registry ${registry}${said ? `: ${redact(said)}` : ''}`);
  }

  /** Credentials for a server URL; undefined when the helper has none. */
  async get(serverUrl: string, registry = serverUrl): Promise<AuthConfig | undefined> {
    const r = await this.run('get', serverUrl, registry);
    if (r.code !== 0 || r.signal) {
      if (r.stdout.includes(NOT_FOUND_TEXT) || r.stderr.includes(NOT_FOUND_TEXT)) return undefined;
      throw this.failure('get', registry, r);
    }
    let reply: HelperReply;
    try {
      reply = JSON.parse(r.stdout) as HelperReply;
    } catch {
      throw new UserError(`credential helper "${this.program}" answered "get" for registry ${registry} with output that is not JSON (expected {"Username": ..., "Secret": ...})`);
    }
    if (!reply || typeof reply !== 'object') throw new UserError(`credential helper "${this.program}" answered "get" for registry ${registry} with a non-object`);
    registerSecret(reply.Secret);
    if (!reply.Username && !reply.Secret) return undefined;
    if (reply.Username === TOKEN_USERNAME) return { identityToken: reply.Secret };
    return { username: reply.Username, password: reply.Secret };
  }

  async store(serverUrl: string, username: string, secret: string): Promise<void> {
    registerSecret(secret);
    const r = await this.run('store', JSON.stringify({ ServerURL: serverUrl, Username: username, Secret: secret }), serverUrl);
    if (r.code !== 0 || r.signal) throw this.failure('store', serverUrl, r);
  }

  async erase(serverUrl: string): Promise<void> {
    const r = await this.run('erase', serverUrl, serverUrl);
    if ((r.code !== 0 || r.signal) && !(r.stdout + r.stderr).includes(NOT_FOUND_TEXT)) throw this.failure('erase', serverUrl, r);
  }

  /** Server URL → username. */
  async list(): Promise<Record<string, string>> {
    const r = await this.run('list', '', '(list)');
    if (r.code !== 0 || r.signal) throw this.failure('list', '(all)', r);
    try {
      return JSON.parse(r.stdout || '{}') as Record<string, string>;
    } catch {
      throw new UserError(`credential helper "${this.program}" answered "list" with output that is not JSON`);
    }
  }
}

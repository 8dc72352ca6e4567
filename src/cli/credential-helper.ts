// `docker-credential-drydock get|store|erase|list`: drydock's keychain behind the standard helper
// protocol, so skopeo, buildah, crane or docker can use the same credentials (ECR included).
import * as fs from 'node:fs';
import { createKeychain } from '../credentials';
import { IN_HELPER_ENV, decodeAuthEntry } from '../credentials/docker-keychain';
import { NOT_FOUND_TEXT, TOKEN_USERNAME } from '../credentials/helper-protocol';
import { configLocations, readDockerConfig, type AuthEntry } from '../credentials/config-file';
import { helperServerUrl, keyToHost } from '../credentials/registry-key';
import { UserError, describeError, redact } from '../log';

const USAGE = 'Usage: docker-credential-drydock <get|store|erase|list|version>\n' +
  '  get    read a server URL on stdin, print {"ServerURL","Username","Secret"} from drydock\'s keychain\n' +
  '  list   print {"<server URL>": "<username>"} for the auths entries drydock can see (never a secret)\n' +
  '  store, erase: not supported (use `drydock creds login/logout`)\n';

/**
 * The user name of an auths entry, decoded as the keychain does; undefined for an entry without
 * one (a token, or an "auth" that is no "user:password": its decoded text may be the secret itself).
 */
function usernameOf(entry: AuthEntry, key: string, file: string): string | undefined {
  try {
    return decodeAuthEntry(entry, key, file).username || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The helper protocol (docker-credential-helpers' credentials.Serve): an error is one line on
 * stdout and exit status 1, since that is where docker, crane and skopeo read the helper's words
 * (stderr is not shown to the person). Secrets are masked as in every other message.
 */
export async function main(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    return await serve(args, env);
  } catch (e) {
    const message = e instanceof UserError ? e.message : `internal error: ${describeError(e)}`;
    process.stdout.write(redact(message).replace(/\s*\n\s*/g, ' ') + '\n');
    return 1;
  }
}

async function serve(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const action = args[0];
  // a config that names drydock as its credsStore must not make drydock call itself
  const helperEnv = { ...env, [IN_HELPER_ENV]: '1' };
  switch (action) {
    case 'get': {
      const server = fs.readFileSync(0, 'utf8').trim();
      if (!server) throw new UserError('docker-credential-drydock get: expected a server URL on stdin');
      const auth = await createKeychain({ env: helperEnv }).resolve(keyToHost(server));
      if (auth.identityToken) {
        process.stdout.write(JSON.stringify({ ServerURL: server, Username: TOKEN_USERNAME, Secret: auth.identityToken }) + '\n');
        return 0;
      }
      if (!auth.username && !auth.password) {
        // the protocol's exact words, on stdout, exit 1: callers treat this as "anonymous"
        process.stdout.write(NOT_FOUND_TEXT + '\n');
        return 1;
      }
      process.stdout.write(JSON.stringify({ ServerURL: server, Username: auth.username ?? '', Secret: auth.password ?? '' }) + '\n');
      return 0;
    }
    case 'list': {
      const out: Record<string, string> = {};
      for (const loc of configLocations(env)) {
        const cfg = readDockerConfig(loc.path, loc.from);
        for (const [k, v] of Object.entries(cfg?.auths ?? {})) {
          const server = helperServerUrl(keyToHost(k));
          if (out[server] !== undefined) continue;
          const username = usernameOf(v, k, loc.path);
          if (username) out[server] = username;
        }
      }
      process.stdout.write(JSON.stringify(out) + '\n');
      return 0;
    }
    case 'store':
    case 'erase':
      process.stdout.write(`docker-credential-drydock does not ${action} credentials: its keychain reads config.json, helpers and ECR; use \`drydock creds ${action === 'store' ? 'login' : 'logout'}\`\n`);
      return 1;
    case 'version':
      process.stdout.write(`docker-credential-drydock ${require('../../../package.json').version}\n`);
      return 0;
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    case undefined:
      process.stdout.write(USAGE);
      return 1;
    default:
      // credentials.Serve's words for it
      process.stdout.write(`unknown credential action: ${action}\n`);
      return 1;
  }
}

// The standard AWS credential chain, in the SDK's order, read from an explicit environment object
// (so tests and the agent can pass one) rather than process.env. Each source is an SDK provider
// from @aws-sdk/credential-providers; what is ours is choosing which sources apply, naming the one
// that failed, and caching the result until shortly before it expires.
import * as os from 'node:os';
import * as path from 'node:path';
import { Logger, UserError, describeError, log as rootLog, registerSecret } from '../log';
import { regionFromEnv } from './region';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export type CredentialProvider = () => Promise<AwsCredentials>;

export interface CredentialOptions {
  env?: NodeJS.ProcessEnv;
  log?: Logger;
}

// Loaded on first use: the SDK providers take a second to load, and most commands (and every
// docker-credential-drydock call for a non-AWS registry) never need them.
function sdk(): typeof import('@aws-sdk/credential-providers') {
  return require('@aws-sdk/credential-providers');
}

interface Source {
  name: string;
  load: () => Promise<AwsCredentials>;
}

// Refresh this long before expiry so that a signed request never arrives with dead credentials.
const REFRESH_MARGIN_MS = 5 * 60 * 1000;

function sourcesFor(env: NodeJS.ProcessEnv): Source[] {
  const sources: Source[] = [];
  const region = regionFromEnv(env);
  if (env.AWS_ACCESS_KEY_ID || env.AWS_SECRET_ACCESS_KEY) {
    sources.push({
      name: 'environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)',
      load: async () => {
        if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) {
          throw new Error('both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set');
        }
        return {
          accessKeyId: env.AWS_ACCESS_KEY_ID,
          secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
          sessionToken: env.AWS_SESSION_TOKEN || undefined,
          expiration: env.AWS_CREDENTIAL_EXPIRATION ? new Date(env.AWS_CREDENTIAL_EXPIRATION) : undefined,
        };
      },
    });
  }
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE && env.AWS_ROLE_ARN) {
    sources.push({
      name: `web identity (AWS_WEB_IDENTITY_TOKEN_FILE ${env.AWS_WEB_IDENTITY_TOKEN_FILE}, role ${env.AWS_ROLE_ARN})`,
      load: () =>
        sdk().fromTokenFile({
          webIdentityTokenFile: env.AWS_WEB_IDENTITY_TOKEN_FILE,
          roleArn: env.AWS_ROLE_ARN,
          roleSessionName: env.AWS_ROLE_SESSION_NAME || `drydock-${Date.now()}`,
          clientConfig: region ? { region } : undefined,
        })(),
    });
  }
  const home = env.HOME || os.homedir();
  const credFile = env.AWS_SHARED_CREDENTIALS_FILE || path.join(home, '.aws', 'credentials');
  const configFile = env.AWS_CONFIG_FILE || path.join(home, '.aws', 'config');
  if (env.AWS_PROFILE || fileExists(credFile) || fileExists(configFile)) {
    const profile = env.AWS_PROFILE || 'default';
    sources.push({
      name: `shared config profile "${profile}" (${credFile}, ${configFile})`,
      load: () => sdk().fromIni({ profile, filepath: credFile, configFilepath: configFile, clientConfig: region ? { region } : undefined })(),
    });
  }
  const relative = env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI;
  const full = env.AWS_CONTAINER_CREDENTIALS_FULL_URI;
  if (relative || full) {
    sources.push({
      name: `container credentials (${relative ? 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI' : `AWS_CONTAINER_CREDENTIALS_FULL_URI ${full}`})`,
      load: () =>
        sdk().fromHttp({
          awsContainerCredentialsRelativeUri: relative || undefined,
          awsContainerCredentialsFullUri: relative ? undefined : full,
          awsContainerAuthorizationToken: env.AWS_CONTAINER_AUTHORIZATION_TOKEN || undefined,
          awsContainerAuthorizationTokenFile: env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE || undefined,
          maxRetries: 1,
          timeout: 2000,
        })(),
    });
  }
  if (env.AWS_EC2_METADATA_DISABLED !== 'true') {
    sources.push({
      name: 'EC2 instance metadata (IMDSv2)',
      load: () => sdk().fromInstanceMetadata({ timeout: 1000, maxRetries: 1 })(),
    });
  }
  return sources;
}

function fileExists(p: string): boolean {
  try {
    return require('node:fs').statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * A provider for the first credential source that applies. Sources that are configured but
 * fail (a container endpoint answering 500, a broken profile) are reported by name; credentials
 * are cached and refreshed five minutes before their expiration.
 */
export function awsCredentialProvider(opts: CredentialOptions = {}): CredentialProvider {
  const env = opts.env ?? process.env;
  const log = (opts.log ?? rootLog).child({ component: 'aws-credentials' });
  let cached: AwsCredentials | undefined;
  let inflight: Promise<AwsCredentials> | undefined;

  const fresh = (c: AwsCredentials) => !c.expiration || c.expiration.getTime() - Date.now() > REFRESH_MARGIN_MS;

  async function load(): Promise<AwsCredentials> {
    const sources = sourcesFor(env);
    const failures: string[] = [];
    for (const s of sources) {
      try {
        const c = await s.load();
        registerSecret(c.secretAccessKey);
        registerSecret(c.sessionToken);
        log.debug('AWS credentials loaded', { source: s.name, accessKeyId: c.accessKeyId });
        return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken, expiration: c.expiration };
      } catch (e) {
        failures.push(`${s.name}: ${describeError(e)}`);
        log.debug('AWS credential source failed', { source: s.name, error: describeError(e) });
      }
    }
    if (sources.length === 0) {
      throw new UserError('no AWS credentials: none of AWS_ACCESS_KEY_ID, AWS_PROFILE, AWS_WEB_IDENTITY_TOKEN_FILE, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/FULL_URI is set and instance metadata is disabled');
    }
    throw new UserError(`no AWS credentials could be loaded; tried:\n  ${failures.join('\n  ')}`);
  }

  return async () => {
    if (cached && fresh(cached)) return cached;
    if (!inflight) {
      inflight = load().then(
        (c) => {
          cached = c;
          inflight = undefined;
          return c;
        },
        (e) => {
          inflight = undefined;
          throw e;
        },
      );
    }
    return inflight;
  };
}

/** Fixed credentials (for callers that already have them). */
export function staticCredentials(c: AwsCredentials): CredentialProvider {
  registerSecret(c.secretAccessKey);
  registerSecret(c.sessionToken);
  return async () => c;
}

// The AWS JSON 1.1 protocol (SSM, ECR): POST / with X-Amz-Target naming the operation, a JSON
// body, and errors as {"__type": "...#Code", "message": "..."} with a 4xx/5xx status.
import { Logger, UserError, log as rootLog } from '../log';
import { awsCredentialProvider, type CredentialProvider } from './credentials';
import { serviceEndpoint, type AwsService } from './endpoints';
import { backoff, isRetryableAnswer, isThrottling, MAX_ATTEMPTS } from './retry';
import { awsRequest } from './sigv4';

export interface JsonCall {
  service: AwsService;
  /** e.g. "AmazonSSM.GetParameter" */
  target: string;
  region: string;
  input: unknown;
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  credentials?: CredentialProvider;
  /** What the call is about, for error messages (e.g. `SSM parameter "/ci/hub"`). */
  subject: string;
}

export class AwsApiError extends UserError {
  constructor(message: string, readonly code: string, readonly status: number) {
    super(message);
  }
}

/** Error codes that mean "your credentials are not good", whatever the service. */
export const CREDENTIAL_ERRORS = new Set([
  'UnrecognizedClientException', 'InvalidSignatureException', 'ExpiredTokenException', 'ExpiredToken',
  'InvalidClientTokenId', 'SignatureDoesNotMatch', 'IncompleteSignature', 'MissingAuthenticationToken',
  'AccessDeniedException', 'AccessDenied', 'InvalidAccessKeyId',
]);

export async function callJson<T>(call: JsonCall): Promise<T> {
  const env = call.env ?? process.env;
  const log = (call.log ?? rootLog).child({ component: call.service });
  const url = serviceEndpoint(call.service, call.region, env);
  const endpoint = new URL('/', url);
  const credentials = call.credentials ?? awsCredentialProvider({ env, log: call.log });
  const body = JSON.stringify(call.input);
  log.debug('AWS call', { target: call.target, endpoint: endpoint.origin });
  // the SDK's standard retry: network errors, 5xx and throttling (the answer is read whole first)
  for (let attempt = 1; ; attempt++) {
    let res;
    try {
      res = await awsRequest({
        method: 'POST',
        url: endpoint,
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': call.target },
        body,
        service: signingName(call.service),
        region: call.region,
        credentials,
      });
    } catch (e) {
      if (e instanceof UserError) throw e;
      if (attempt < MAX_ATTEMPTS) {
        log.debug('AWS call failed, retrying', { target: call.target, error: (e as Error).message, attempt });
        await backoff(attempt, false);
        continue;
      }
      throw new UserError(`${call.subject}: cannot reach ${call.target.split('.')[0]} at ${endpoint.origin}: ${(e as Error).message}${attempt > 1 ? ` (after ${attempt} attempts)` : ''}`, { cause: e });
    }
    let text: string;
    try {
      text = await res.body.text();
    } catch (e) {
      if (attempt < MAX_ATTEMPTS) {
        await backoff(attempt, false);
        continue;
      }
      throw new UserError(`${call.subject}: ${call.target} answer cut short: ${(e as Error).message}`, { cause: e });
    }
    if (res.statusCode >= 200 && res.statusCode < 300) {
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new UserError(`${call.subject}: ${endpoint.origin} answered ${call.target} with a body that is not JSON`);
      }
    }
    let code = String(res.headers['x-amzn-errortype'] ?? '').split(':')[0];
    let message = '';
    try {
      const j = JSON.parse(text) as Record<string, unknown>;
      code = String(j.__type ?? j.code ?? code);
      message = String(j.message ?? j.Message ?? '');
    } catch {
      message = text.slice(0, 200);
    }
    code = code.includes('#') ? code.slice(code.lastIndexOf('#') + 1) : code;
    code ||= `HTTP ${res.statusCode}`;
    if (isRetryableAnswer(code, res.statusCode) && attempt < MAX_ATTEMPTS) {
      log.debug('AWS call answered an error worth retrying', { target: call.target, code, status: res.statusCode, attempt });
      await backoff(attempt, isThrottling(code, res.statusCode));
      continue;
    }
    const hint = CREDENTIAL_ERRORS.has(code) ? ' (the AWS credentials in use are invalid, expired or not allowed to do this)' : '';
    throw new AwsApiError(`${call.subject}: ${call.target} failed with ${code}${message ? `: ${message}` : ''}${hint}${attempt > 1 ? ` (after ${attempt} attempts)` : ''}`, code, res.statusCode);
  }
}

function signingName(service: AwsService): string {
  return service === 'ecr-public' ? 'ecr-public' : service;
}

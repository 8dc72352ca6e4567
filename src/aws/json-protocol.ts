// The AWS JSON 1.1 protocol (SSM, ECR): POST / with X-Amz-Target naming the operation, a JSON
// body, and errors as {"__type": "...#Code", "message": "..."} with a 4xx/5xx status.
import { Logger, UserError, log as rootLog } from '../log';
import { awsCredentialProvider, type CredentialProvider } from './credentials';
import { serviceEndpoint, type AwsService } from './endpoints';
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
    throw new UserError(`${call.subject}: cannot reach ${call.target.split('.')[0]} at ${endpoint.origin}: ${(e as Error).message}`, { cause: e });
  }
  const text = await res.body.text();
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
  const hint = CREDENTIAL_ERRORS.has(code) ? ' (the AWS credentials in use are invalid, expired or not allowed to do this)' : '';
  throw new AwsApiError(`${call.subject}: ${call.target} failed with ${code}${message ? `: ${message}` : ''}${hint}`, code, res.statusCode);
}

function signingName(service: AwsService): string {
  return service === 'ecr-public' ? 'ecr-public' : service;
}

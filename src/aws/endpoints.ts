// Service endpoints: the standard per-region host unless the environment overrides it, with the
// SDK's override names (AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL) so that one setting
// points drydock and the AWS CLI at the same place (LocalStack, a VPC endpoint, a test server).
import { UserError } from '../log';
import { partitionSuffix } from './region';

export type AwsService = 's3' | 'ssm' | 'ecr' | 'ecr-public';

const envSuffix: Record<AwsService, string> = { s3: 'S3', ssm: 'SSM', ecr: 'ECR', 'ecr-public': 'ECR_PUBLIC' };

function parseEndpoint(value: string, name: string): URL {
  let u: URL;
  try {
    u = new URL(/^[a-z]+:\/\//i.test(value) ? value : `https://${value}`);
  } catch {
    throw new UserError(`invalid endpoint URL in ${name}: "${value}" (expected e.g. https://host:port)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new UserError(`invalid endpoint URL in ${name}: "${value}" (expected an http:// or https:// URL)`);
  }
  return u;
}

/** An endpoint set in the environment for this service, with the name of the variable it came from. */
export function endpointOverride(service: AwsService, env: NodeJS.ProcessEnv): { url: URL; from: string } | undefined {
  const names = [`AWS_ENDPOINT_URL_${envSuffix[service]}`, 'AWS_ENDPOINT_URL'];
  // kaniko's name for the S3 endpoint comes first: existing pipelines set it
  if (service === 's3') names.unshift('S3_ENDPOINT');
  for (const n of names) {
    const v = env[n];
    if (v) return { url: parseEndpoint(v, n), from: n };
  }
  return undefined;
}

/** The endpoint for a service in a region. */
export function serviceEndpoint(service: AwsService, region: string, env: NodeJS.ProcessEnv): URL {
  const o = endpointOverride(service, env);
  if (o) return o.url;
  const suffix = partitionSuffix(region);
  const fips = env.AWS_USE_FIPS_ENDPOINT === 'true';
  switch (service) {
    case 's3':
      return new URL(`https://${fips ? 's3-fips' : 's3'}.${region}.${suffix}`);
    case 'ssm':
      return new URL(`https://${fips ? 'ssm-fips' : 'ssm'}.${region}.${suffix}`);
    case 'ecr':
      return new URL(fips ? `https://ecr-fips.${region}.${suffix}` : `https://api.ecr.${region}.${suffix}`);
    case 'ecr-public':
      return new URL(`https://api.ecr-public.${region}.${suffix}`);
  }
}

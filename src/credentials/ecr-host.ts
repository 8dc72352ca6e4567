// Which registry hosts are ECR, by the same host pattern as amazon-ecr-credential-helper
// (commercial, FIPS, China, dual-stack and isolated partitions), plus ECR Public.
import { partitionSuffix } from '../aws/region';

export const ECR_PUBLIC_HOST = 'public.ecr.aws';
export const ECR_PUBLIC_REGION = 'us-east-1';

const ECR_PATTERN =
  /^(\d{12})\.dkr[.-]ecr(-fips)?\.([a-zA-Z0-9][a-zA-Z0-9-_]*)\.(amazonaws\.(?:com(?:\.cn)?|eu)|on\.(?:aws|amazonwebservices\.com\.cn)|sc2s\.sgov\.gov|c2s\.ic\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)$/;

export interface EcrRegistry {
  kind: 'private' | 'public';
  host: string;
  registryId?: string;
  region: string;
  fips: boolean;
}

/** The ECR registry behind a host, or undefined when the host is not ECR. */
export function parseEcrHost(registry: string): EcrRegistry | undefined {
  const host = registry.replace(/^https?:\/\//, '').split('/')[0].toLowerCase();
  // matched without its port, as docker-credential-ecr-login matches the URL's Hostname()
  const name = host.replace(/:\d+$/, '');
  if (name === ECR_PUBLIC_HOST) return { kind: 'public', host, region: ECR_PUBLIC_REGION, fips: false };
  const m = ECR_PATTERN.exec(name);
  if (!m) return undefined;
  return { kind: 'private', host, registryId: m[1], region: m[3], fips: m[2] !== undefined };
}

/** A bare 12-digit account id, as some ECS setups write it as a config.json key. */
export function isAccountId(s: string): boolean {
  return /^\d{12}$/.test(s);
}

/** The registry host of an account in a region. */
export function ecrHostFor(accountId: string, region: string): string {
  // registries live under their partition's suffix, as the API endpoints do
  return `${accountId}.dkr.ecr.${region}.${partitionSuffix(region)}`;
}

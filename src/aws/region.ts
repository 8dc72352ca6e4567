// Which AWS region a call goes to: the SDK's environment names, in the SDK's order.
import { UserError } from '../log';

export function regionFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  return env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
}

/** The region, or a UserError that says which call needed it and how to set it. */
export function requireRegion(env: NodeJS.ProcessEnv, forWhat: string): string {
  const r = regionFromEnv(env);
  if (!r) throw new UserError(`${forWhat} needs an AWS region: set AWS_REGION (or AWS_DEFAULT_REGION)`);
  if (!/^[a-z0-9-]+$/.test(r)) throw new UserError(`invalid AWS region "${r}" (from AWS_REGION/AWS_DEFAULT_REGION): expected e.g. us-east-1`);
  return r;
}

/** DNS suffix of the partition a region belongs to (China regions live under amazonaws.com.cn). */
export function partitionSuffix(region: string): string {
  if (region.startsWith('cn-')) return 'amazonaws.com.cn';
  // the AWS European Sovereign Cloud (aws-eusc): eusc-de-east-1 ...
  if (region.startsWith('eusc-')) return 'amazonaws.eu';
  if (region.startsWith('us-iso-')) return 'c2s.ic.gov';
  if (region.startsWith('us-isob-')) return 'sc2s.sgov.gov';
  if (region.startsWith('eu-isoe-')) return 'cloud.adc-e.uk';
  if (region.startsWith('us-isof-')) return 'csp.hci.ic.gov';
  return 'amazonaws.com';
}

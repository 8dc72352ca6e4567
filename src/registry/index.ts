// The registry client's public surface.
export { RegistryClient } from './client';
export type { RegistryClientOptions, ResolvedImage, ManifestResponse, Progress } from './client';
export { RegistryError, isRetryable } from './errors';
export { parseChallenges, pickChallenge } from './challenge';
export type { Challenge } from './challenge';
export { Transport, isLoopbackHost } from './transport';
export type { Direction, TransportOptions } from './transport';
export { keychainKey, repositoryScope } from './auth';
export { DEFAULT_RETRY } from './retry';
export type { RetryPolicy } from './retry';

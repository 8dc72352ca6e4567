// The layer cache and the base image cache: the surface the build uses.
export { CacheKey, cacheKey, baseParentKey, instructionText, KEY_VERSION } from './key';
export type { CacheKeyParts } from './key';
export { digestEntries } from './entries-digest';
export type { LayerCache, CachedLayer, CacheMeta } from './types';
export { CACHE_LABEL, CACHE_KEY_LABEL } from './types';
export { RegistryLayerCache } from './registry-cache';
export { OciLayoutLayerCache } from './oci-cache';
export { openLayerCache } from './open';
export { StepCache } from './step-cache';
export type { LayerStepKind, StepState, StepExtras } from './step-cache';
export { lookupCachedBase, lookupCachedBaseFor, warmBaseImage } from './base-cache';
export type { BaseCacheOptions, WarmResult } from './base-cache';
export { cachedStep, layerFromCache, layerToCache, stageParentKey, copyFlags, type StepInputs } from './stage-hooks';
export type { CacheAwareStage } from './stage-hooks';

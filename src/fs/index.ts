// The filesystem layer of the builder: hashing streams, walks, ignore lists, layer tar writing and
// layer extraction. Depends on nothing in src/ but log.
export * from './types';
export { HashStream, digestFile, type Digest } from './hash';
export { IgnoreList, parseMountinfo, mountPointsFromMountinfo, unescapeMountField, type MountInfo } from './ignore';
export { writeLayer, imagePathComponents, type WriteLayerOptions, type LayerWriteResult, type LayerCompression } from './layer-writer';
export { walkDir, entriesFromDir, deviceNumbers, type WalkOptions, type WalkEntry, type WalkVerdict, type EntriesFromDirOptions } from './walk';
export { extractLayer, decompressIfNeeded, type ExtractOptions, type ExtractResult } from './extract';
export { Limiter, mapLimit } from './limit';

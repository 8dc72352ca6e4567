// The Dockerfile front end: parse (words kept unexpanded) and expand at execution time.
export { parseDockerfile } from './parser';
export { expandWord, expandWords, unquoteWord, ExpansionError, type Lookup } from './expand';
export { expandsVariables } from './expands-variables';
export { parseKeyValues, parseArgDefinitions, splitQuotedWords, splitOnWhitespace } from './words';
export { parseMountSpec } from './mount';
export { parseGoDuration } from './duration';
export { dockerfileError, InstructionError } from './errors';
export * from './types';

export * from './logger';
export * from './redact';
export * from './errors';
export * from './progress';

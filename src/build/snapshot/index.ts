export * from './types';
export { StatWalkSnapshotter, diffStates } from './stat-walk';
export { OverlaySnapshotter, OverlayOptions, overlayUnavailableReason, probeOverlay } from './overlay';
export { selectSnapshotter, SelectSnapshotterOptions } from './select';

export * from './types';
export * from './capabilities';
export { ChrootIsolation, ChrootOptions, DEV_NODES, Launcher, pickLauncher } from './chroot';
export { NoneIsolation, NoneOptions } from './none';
export { selectIsolation, chooseIsolation, SelectOptions, canMountPrivately } from './select';
export { defaultIgnorePaths, executorInstallDir } from './ignore-paths';
export { detectContainer, ProbeFs } from './container-detect';
export { findHostTools, HostTools } from './host-tools';
export { resolveInRoot } from './root-path';

import type { BuildOptions } from './options';
export async function build(_opts: BuildOptions): Promise<void> {}

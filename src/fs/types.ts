// What a layer is made of, independent of where the bytes come from.

export type LayerEntryType =
  | 'file'
  | 'dir'
  | 'symlink'
  | 'hardlink'
  | 'char'
  | 'block'
  | 'fifo'
  /** deletes the lower layers' `path`: written as `<parent>/.wh.<name>` */
  | 'whiteout'
  /** hides the lower layers' contents of directory `path`: written as `<path>/.wh..wh..opq` */
  | 'opaque';

export interface LayerEntry {
  /** In-image path: posix, relative, no leading '/', e.g. 'usr/bin/x'. */
  path: string;
  type: LayerEntryType;
  /** Host file to read the content of a 'file' entry from. */
  source?: string;
  /** Small inline content of a 'file' entry (heredocs, generated files). */
  content?: Buffer;
  /** Target of a symlink (as is) or of a hardlink (an in-image path of this layer). */
  linkname?: string;
  /** Permission bits plus setuid/setgid/sticky (0o7777); file type bits are ignored. */
  mode: number;
  uid: number;
  gid: number;
  uname?: string;
  gname?: string;
  mtime: Date;
  /** Informational: the written size of a sourced file is taken from the file when it is opened. */
  size?: number;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, Buffer | string>;
}

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

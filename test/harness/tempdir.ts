import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A private directory for one harness component. Unix socket paths are limited to 107 bytes, so
 * the directory is created directly under the OS temp directory with a short prefix.
 */
export interface WorkDir {
  readonly path: string;
  /** True when this component created the directory and so removes it on stop. */
  readonly owned: boolean;
}

/**
 * Returns `inside/name` (created) when a parent directory is given, otherwise a fresh
 * `mkdtemp` directory `/tmp/<prefix>XXXXXX` that the caller owns.
 */
export async function makeWorkDir(prefix: string, inside?: string, name?: string): Promise<WorkDir> {
  if (inside !== undefined) {
    const path = join(inside, name ?? prefix);
    await mkdir(path, { recursive: true });
    return { path, owned: false };
  }
  return { path: await mkdtemp(join(tmpdir(), `${prefix}-`)), owned: true };
}

/** Removes an owned directory; directories handed in by a caller are left to that caller. */
export async function removeWorkDir(dir: WorkDir): Promise<void> {
  if (dir.owned) await rm(dir.path, { recursive: true, force: true });
}

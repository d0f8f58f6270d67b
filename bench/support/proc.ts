/**
 * Reading a process's CPU time and resident memory from /proc (Linux), for the server-side
 * figures of the benchmarks: the parsers are pure (unit-tested on captured text), the readers
 * are thin wrappers.
 */
import { readFile } from 'node:fs/promises';

/** CPU time a process has used, in clock ticks (`utime`, `stime` of /proc/<pid>/stat). */
export interface ProcCpuTicks {
  readonly utime: number;
  readonly stime: number;
}

/**
 * Parses /proc/<pid>/stat. The command name (field 2) sits in parentheses and may itself contain
 * spaces and parentheses, so fields are counted from the LAST `)`: `utime` and `stime` are fields
 * 14 and 15 of the whole line (proc(5)), i.e. the 12th and 13th after the name.
 */
export function parseProcStat(text: string): ProcCpuTicks {
  const end = text.lastIndexOf(')');
  if (end < 0) throw new Error(`not a /proc/<pid>/stat line: ${JSON.stringify(text.slice(0, 80))}`);
  const fields = text
    .slice(end + 1)
    .trim()
    .split(/\s+/);
  // fields[0] is field 3 (state); field n is fields[n - 3].
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  if (!Number.isInteger(utime) || !Number.isInteger(stime) || utime < 0 || stime < 0)
    throw new Error(
      `/proc/<pid>/stat: utime/stime not counts (${String(fields[14 - 3])}, ${String(fields[15 - 3])})`,
    );
  return { utime, stime };
}

/** `VmRSS` of /proc/<pid>/status, in bytes. */
export function parseProcStatusRss(text: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(text);
  if (match === null) throw new Error('/proc/<pid>/status has no VmRSS line');
  return Number(match[1]) * 1024;
}

/** The soft `Max open files` limit of /proc/<pid>/limits (`Infinity` for unlimited). */
export function parseOpenFilesLimit(text: string): number {
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  if (match === null) throw new Error('/proc/<pid>/limits has no "Max open files" line');
  return match[1] === 'unlimited' ? Infinity : Number(match[1]);
}

/**
 * Clock ticks per second for /proc CPU times. Linux reports `USER_HZ`, which is 100 on every
 * architecture Debian ships (the kernel converts from its internal HZ).
 */
export const USER_HZ = 100;

/** CPU seconds (user + system) the process has used so far. */
export async function processCpuSeconds(pid: number): Promise<number> {
  const ticks = parseProcStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
  return (ticks.utime + ticks.stime) / USER_HZ;
}

/** Resident set of the process, in bytes. */
export async function processRssBytes(pid: number): Promise<number> {
  return parseProcStatusRss(await readFile(`/proc/${pid}/status`, 'utf8'));
}

/** The soft open-files limit of this process. */
export async function ownOpenFilesLimit(): Promise<number> {
  return parseOpenFilesLimit(await readFile('/proc/self/limits', 'utf8'));
}

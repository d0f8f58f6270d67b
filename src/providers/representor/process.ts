/**
 * The only place the representor provider starts processes. Everything goes through an injected
 * {@link SpawnProcess}, so tests can hand in recorded devlink output or the fake devlink script.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { systemTimers, type Timers } from '../../plug/index.js';

/** The part of a child process the provider uses (Node's ChildProcess with piped stdout/stderr). */
export interface SpawnedProcess {
  readonly stdout: Readable;
  readonly stderr: Readable;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: 'close', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
  kill(signal?: NodeJS.Signals): boolean;
}

export type SpawnProcess = (command: string, args: readonly string[]) => SpawnedProcess;

/** Starts a real process with stdin closed and stdout/stderr piped. */
export const spawnProcess: SpawnProcess = (command, args) =>
  spawn(command, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });

/** The runtime contract's timers (src/plug/runtime.ts); the names stay for existing callers. */
export type { Timers };
export const globalTimers: Timers = systemTimers;

export interface CommandResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The command could not be started, or did not finish in time. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    message: string,
    /** `ENOENT`, `EACCES`, `ETIMEDOUT`, … */
    readonly code: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface RunCommandOptions {
  readonly spawn: SpawnProcess;
  readonly timers: Timers;
  readonly timeoutMs: number;
}

function errnoCode(error: Error): string | undefined {
  const code = (error as Error & { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** `devlink -j port show` → `devlink -j port show`, for messages. */
export function formatCommand(command: string, args: readonly string[]): string {
  return [command, ...args].join(' ');
}

/**
 * Runs a command to completion and collects its output. Resolves for any exit status (the caller
 * decides what a failure means); rejects with {@link CommandError} when it cannot start or runs
 * longer than `timeoutMs` (it is then killed).
 */
export function runCommand(
  command: string,
  args: readonly string[],
  options: RunCommandOptions,
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const text = formatCommand(command, args);
    let child: SpawnedProcess;
    try {
      child = options.spawn(command, args);
    } catch (error) {
      const code = error instanceof Error ? errnoCode(error) : undefined;
      reject(new CommandError(`cannot run "${text}": ${String(error)}`, code, { cause: error }));
      return;
    }
    const stdout: string[] = [];
    const stderr: string[] = [];
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => stdout.push(chunk));
    child.stderr.on('data', (chunk: string) => stderr.push(chunk));
    let settled = false;
    const timer = options.timers.setTimer(() => {
      if (settled) return;
      settled = true;
      child.kill('SIGKILL');
      reject(new CommandError(`"${text}" did not finish within ${options.timeoutMs} ms`, 'ETIMEDOUT'));
    }, options.timeoutMs);
    child.on('error', (error) => {
      if (settled) return;
      settled = true;
      timer.cancel();
      reject(new CommandError(`cannot run "${text}": ${error.message}`, errnoCode(error), { cause: error }));
    });
    child.on('close', (code, signal) => {
      if (settled) return;
      settled = true;
      timer.cancel();
      resolve({ code, signal, stdout: stdout.join(''), stderr: stderr.join('') });
    });
  });
}

/**
 * Process supervision for real servers started by tests.
 *
 * Contract:
 * - Every process runs in its own process group (so a stop reaches anything it forks) with its
 *   stdout/stderr appended to `<dir>/<name>.out`; OVS daemons additionally write `--log-file`s.
 * - `start()` resolves only once the caller's readiness predicate holds (polled with a deadline,
 *   never a fixed sleep); if the process exits or the deadline passes first, it is killed and
 *   the error carries the tail of its logs.
 * - On Linux every child is started through `setpriv --pdeathsig KILL`, so it dies with the Node
 *   process even when that is killed with SIGKILL and no JavaScript cleanup can run.
 * - Every live process is known to a {@link ProcessRegistry}; the default registry kills all of
 *   them on `exit`, `SIGINT` and `SIGTERM`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from './exec.js';
import { toolEnv } from './env.js';
import { AbortWait, waitUntil } from './wait.js';

export interface ProcessSpec {
  /** Short name, unique within `dir`; names the output file and appears in errors. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** Working directory and home of the output file. */
  readonly dir: string;
  readonly env: Readonly<Record<string, string>>;
  /** Other log files worth showing when the process fails (e.g. its `--log-file`). */
  readonly logFiles?: readonly string[];
  /** Polled until it returns true; the process counts as started from then on. */
  readonly ready: () => Promise<boolean> | boolean;
  /** Readiness deadline; default 15,000 ms. */
  readonly readyTimeoutMs?: number;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A process failed to start or become ready; `message` includes the tail of its logs. */
export class ProcessStartError extends Error {
  constructor(
    readonly processName: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ProcessStartError';
  }
}

const PDEATHSIG_WRAPPER = '/usr/bin/setpriv';

/** One supervised server process; can be stopped, paused, killed and restarted on its files. */
export class SupervisedProcess {
  readonly name: string;
  readonly outPath: string;
  #spec: ProcessSpec;
  #child: ChildProcess | undefined;
  #exited: Promise<ExitStatus> | undefined;
  #lastExit: ExitStatus | undefined;
  #spawnError: Error | undefined;
  readonly #registry: ProcessRegistry;

  constructor(spec: ProcessSpec, registry: ProcessRegistry) {
    this.#spec = spec;
    this.name = spec.name;
    this.outPath = join(spec.dir, `${spec.name}.out`);
    this.#registry = registry;
  }

  /** Process id of the running process; throws when it is not running. */
  get pid(): number {
    const pid = this.#child?.pid;
    if (pid === undefined || !this.running) throw new Error(`${this.name} is not running`);
    return pid;
  }

  /** True from spawn until the exit is observed. */
  get running(): boolean {
    return this.#child !== undefined && this.#lastExit === undefined;
  }

  /** How the last run ended, if it has. */
  get lastExit(): ExitStatus | undefined {
    return this.#lastExit;
  }

  /** Command line for the next (re)start, e.g. to pin a port chosen by the first start. */
  setArgs(args: readonly string[]): void {
    this.#spec = { ...this.#spec, args };
  }

  /** Spawns the process and waits for readiness; on failure kills it and throws with log tails. */
  async start(): Promise<void> {
    if (this.running) throw new Error(`${this.name} is already running (pid ${this.pid})`);
    const spec = this.#spec;
    const outFd = openSync(this.outPath, 'a');
    let child: ChildProcess;
    try {
      const wrapped = existsSync(PDEATHSIG_WRAPPER);
      child = spawn(
        wrapped ? PDEATHSIG_WRAPPER : spec.command,
        wrapped ? ['--pdeathsig', 'KILL', '--', spec.command, ...spec.args] : [...spec.args],
        { cwd: spec.dir, env: spec.env, detached: true, stdio: ['ignore', outFd, outFd] },
      );
    } finally {
      closeSync(outFd);
    }
    this.#child = child;
    this.#lastExit = undefined;
    this.#spawnError = undefined;
    this.#exited = new Promise<ExitStatus>((resolve) => {
      // A late event of an earlier run must not touch the state of the current one.
      const ended = (status: ExitStatus, error?: Error): void => {
        if (this.#child === child) {
          this.#lastExit = status;
          this.#spawnError = error;
          this.#registry.forget(this);
        }
        resolve(status);
      };
      child.once('exit', (code, signal) => ended({ code, signal }));
      child.once('error', (error) => ended({ code: null, signal: null }, error));
    });
    this.#registry.remember(this);
    try {
      await waitUntil(
        async () => {
          if (this.#lastExit !== undefined) {
            throw new AbortWait(
              new ProcessStartError(
                this.name,
                `${this.name} exited during start (${describeExit(this.#lastExit)})` +
                  (this.#spawnError ? `: ${this.#spawnError.message}` : '') +
                  `\n${this.logTail()}`,
              ),
            );
          }
          return await spec.ready();
        },
        { description: `${this.name} to become ready`, timeoutMs: spec.readyTimeoutMs ?? 15_000 },
      );
    } catch (error) {
      await this.stop();
      if (error instanceof ProcessStartError) throw error;
      throw new ProcessStartError(
        this.name,
        `${error instanceof Error ? error.message : String(error)}\n${this.logTail()}`,
        { cause: error },
      );
    }
  }

  /** SIGTERM to the process group, SIGKILL after `graceMs` (default 3,000); resolves on exit. */
  async stop(graceMs = 3_000): Promise<void> {
    const exited = this.#exited;
    if (!this.running || exited === undefined) return;
    this.#signalGroup('SIGTERM');
    this.#signalGroup('SIGCONT');
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'grace-over'>((resolve) => {
      timer = setTimeout(() => resolve('grace-over'), graceMs);
    });
    const first = await Promise.race([exited, graceOver]);
    clearTimeout(timer);
    if (first === 'grace-over') {
      this.#signalGroup('SIGKILL');
      await exited;
    }
  }

  /** SIGKILL to the process group, as a crash would; resolves once the exit is observed. */
  async kill9(): Promise<void> {
    const exited = this.#exited;
    if (!this.running || exited === undefined) return;
    this.#signalGroup('SIGKILL');
    await exited;
  }

  /** Freezes the process (SIGSTOP): sockets stay open but nothing answers. */
  pause(): void {
    if (!this.running) throw new Error(`cannot pause ${this.name}: not running`);
    this.#signalGroup('SIGSTOP');
  }

  /** Undoes {@link pause} (SIGCONT). */
  resume(): void {
    if (!this.running) throw new Error(`cannot resume ${this.name}: not running`);
    this.#signalGroup('SIGCONT');
  }

  /** Stops (if running) and starts again with the same files, arguments and readiness check. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** The last lines of the process's output file and log files, labelled, for error messages. */
  logTail(lines = 30): string {
    const files = [this.outPath, ...(this.#spec.logFiles ?? [])];
    return files
      .map((file) => {
        let text: string;
        try {
          text = readFileSync(file, 'utf8');
        } catch {
          return `--- ${file}: (absent)`;
        }
        const tail = text.split('\n').filter(Boolean).slice(-lines).join('\n');
        return `--- ${file} (last ${lines} lines):\n${tail}`;
      })
      .join('\n');
  }

  /** Synchronous SIGKILL for exit handlers, where nothing asynchronous can run any more. */
  killNow(): void {
    if (this.running) this.#signalGroup('SIGKILL');
  }

  #signalGroup(signal: NodeJS.Signals): void {
    const pid = this.#child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch (error) {
      if (!isNoSuchProcess(error)) throw error;
    }
  }
}

function isNoSuchProcess(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'ESRCH';
}

function describeExit(status: ExitStatus): string {
  return status.signal ? `signal ${status.signal}` : `exit code ${String(status.code)}`;
}

/** Something that must be stopped at teardown (a started component's handle). */
export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * Knows every live process and every started top-level component, so that teardown can happen
 * wherever a test run ends: `stopAll()` from an `afterAll`, `killAllNow()` from exit handlers.
 * Entries are numbered in registration order; `mark()` + `stopAll(mark)` stop only what was
 * started after the mark (so a suite's teardown never touches an enclosing suite's servers).
 */
export class ProcessRegistry {
  readonly #processes = new Map<SupervisedProcess, number>();
  readonly #components = new Map<Stoppable, number>();
  #sequence = 0;

  remember(process: SupervisedProcess): void {
    this.#processes.set(process, ++this.#sequence);
  }

  forget(process: SupervisedProcess): void {
    this.#processes.delete(process);
  }

  /** Registers a started component; `stopAll` stops components newest first. */
  track(component: Stoppable): void {
    this.#components.set(component, ++this.#sequence);
  }

  untrack(component: Stoppable): void {
    this.#components.delete(component);
  }

  /** A position in registration order, for {@link stopAll}. */
  mark(): number {
    return this.#sequence;
  }

  /** Processes currently alive (for leak assertions). */
  liveProcesses(): readonly SupervisedProcess[] {
    return [...this.#processes.keys()];
  }

  /**
   * Stops every component registered after `since` (default: all), newest first, then every
   * process registered after `since` that is still alive. Carries on past failures and
   * rethrows them together at the end.
   */
  async stopAll(since = 0): Promise<void> {
    const errors: unknown[] = [];
    const components = [...this.#components].filter(([, seq]) => seq > since).sort(([, a], [, b]) => b - a);
    for (const [component] of components) {
      try {
        await component.stop();
      } catch (error) {
        errors.push(error);
      }
      this.#components.delete(component);
    }
    const processes = [...this.#processes].filter(([, seq]) => seq > since).map(([p]) => p);
    await Promise.all(processes.map((p) => p.stop()));
    if (errors.length > 0) throw new AggregateError(errors, 'harness teardown failed');
  }

  /** SIGKILLs every live process group synchronously. */
  killAllNow(): void {
    for (const p of this.#processes.keys()) p.killNow();
  }
}

let defaultRegistryInstance: ProcessRegistry | undefined;

/**
 * The registry used when a start function is not given one. It is deliberately process-wide
 * (docs/adr/0030): exit and signal handlers exist once per Node process, and they must reach
 * every server any test started. Its handlers are installed on first use.
 */
export function defaultRegistry(): ProcessRegistry {
  if (defaultRegistryInstance) return defaultRegistryInstance;
  const registry = new ProcessRegistry();
  defaultRegistryInstance = registry;
  process.on('exit', () => registry.killAllNow());
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      registry.killAllNow();
      // Re-raise so the process still ends the way the signal asks (and other listeners run).
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
  return registry;
}

/**
 * Command lines (`pid cmdline`) of live processes whose command line contains `text`, e.g. a
 * harness directory: every harness process has its directory in its arguments. For leak checks.
 */
export async function processesMentioning(text: string): Promise<string[]> {
  try {
    const { stdout } = await runCommand('pgrep', ['-fa', '--', text], { env: toolEnv('/') });
    return stdout.split('\n').filter((line) => line !== '' && !line.includes('pgrep -fa'));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

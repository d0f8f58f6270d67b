import { execFile } from 'node:child_process';

/** Output of a finished command. */
export interface CommandOutput {
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Environment of the command; the harness always passes a complete, private one. */
  readonly env: Readonly<Record<string, string>>;
  /** Killed (SIGKILL) after this many milliseconds; default 30,000. */
  readonly timeoutMs?: number;
  readonly cwd?: string;
}

/** A command exited non-zero, was killed, or could not be started; the message names it fully. */
export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly exitCode: number | string | null,
    readonly stdout: string,
    readonly stderr: string,
    options?: ErrorOptions,
  ) {
    super(
      `command failed (exit ${String(exitCode)}): ${[command, ...args].map(quoteArg).join(' ')}` +
        (stderr.trim() ? `\n${stderr.trim()}` : stdout.trim() ? `\n${stdout.trim().slice(-2000)}` : ''),
      options,
    );
    this.name = 'CommandError';
  }
}

/** Runs a command to completion and returns its output; rejects with {@link CommandError}. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: RunOptions,
): Promise<CommandOutput> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      {
        env: options.env,
        cwd: options.cwd,
        timeout: options.timeoutMs ?? 30_000,
        killSignal: 'SIGKILL',
        maxBuffer: 512 * 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        if (error) {
          const code = error.killed ? 'killed (timeout)' : (error.code ?? null);
          reject(new CommandError(command, args, code, stdout, stderr, { cause: error }));
          return;
        }
        resolve({ stdout, stderr });
      },
    );
  });
}

/** Shell-quotes one argument for messages and printed commands. */
export function quoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

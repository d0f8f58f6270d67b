import { execFile } from 'node:child_process';
import { quoteArg } from '../exec.js';

/** How a finished kubectl/helm command ended; a non-zero exit is a result, not an error. */
export interface ToolResult {
  /** Exit code, or the signal / `timeout` when it was killed. */
  readonly exitCode: number | string;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ToolRunOptions {
  /** Written to the command's standard input (e.g. for `kubectl apply -f -`). */
  readonly input?: string;
  /** Kubeconfig to use instead of the admin one. */
  readonly kubeconfig?: string;
  /** Killed after this many milliseconds; default 60,000. */
  readonly timeoutMs?: number;
}

/** A kubectl/helm command exited non-zero; the message holds the command line and its stderr. */
export class ToolCommandError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly result: ToolResult,
  ) {
    super(
      `command failed (exit ${String(result.exitCode)}): ${args.map(quoteArg).join(' ')}` +
        (result.stderr.trim() ? `\n${result.stderr.trim()}` : ''),
    );
    this.name = 'ToolCommandError';
  }
}

/** Runs `command args` to completion; rejects only when it cannot be started at all. */
export function runTool(
  command: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  options: ToolRunOptions = {},
): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const child = execFile(
      command,
      args,
      { env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (!error) {
          resolve({ exitCode: 0, stdout, stderr });
          return;
        }
        if (typeof error.code === 'number') {
          resolve({ exitCode: error.code, stdout, stderr });
          return;
        }
        if (error.killed || error.signal) {
          resolve({
            exitCode: error.killed ? `timeout after ${timeoutMs} ms` : String(error.signal),
            stdout,
            stderr,
          });
          return;
        }
        reject(new Error(`cannot run ${command}: ${error.message}`, { cause: error }));
      },
    );
    child.stdin?.on('error', () => {
      // The command may exit without reading its input; its exit status tells what happened.
    });
    child.stdin?.end(options.input ?? '');
  });
}

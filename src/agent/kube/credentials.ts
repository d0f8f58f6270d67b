/**
 * Where the bearer token or client certificate of each request comes from, and when it is
 * fetched again: a fixed token; a token file re-read periodically and at once after a 401
 * (projected ServiceAccount tokens rotate under the agent); or an exec credential plugin
 * (client.authentication.k8s.io v1 / v1beta1 `ExecCredential`) run again when its credential
 * expires or the server refuses it. The transport asks {@link CredentialSource.current} before
 * every request.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { KubeConfigError, KubeTransportError } from './errors.js';
import type { ExecCredentialConfig, KubeConnection, ReadTextFile } from './kubeconfig.js';
import { systemClock, type Clock } from './runtime.js';

/** What one request authenticates with; all absent → only the kubeconfig's static TLS identity. */
export interface Credentials {
  readonly token?: string;
  readonly clientCertPem?: string;
  readonly clientKeyPem?: string;
}

export interface CredentialSource {
  /** The credentials to use now (may read a file or run a plugin). */
  current(): Promise<Credentials>;
  /**
   * The server answered 401 to `used`: forget cached credentials. Resolves the credentials to
   * retry with, or `undefined` when nothing fresher exists (then the 401 stands).
   */
  refreshAfterUnauthorized(used: Credentials): Promise<Credentials | undefined>;
}

function sameCredentials(a: Credentials, b: Credentials): boolean {
  return a.token === b.token && a.clientCertPem === b.clientCertPem && a.clientKeyPem === b.clientKeyPem;
}

/** What an exec plugin printed, checked. */
export interface ExecCredentialStatus extends Credentials {
  /** Epoch ms after which the plugin must be run again; absent → until the server refuses it. */
  readonly expiresAtMs?: number;
}

/** Runs an exec plugin once; injectable so unit tests need no processes. */
export type ExecRunner = (config: ExecCredentialConfig) => Promise<ExecCredentialStatus>;

export interface CredentialSourceOptions {
  readonly readFile?: ReadTextFile;
  readonly clock?: Clock;
  /** How long a token read from `tokenFile` is reused before the file is read again; default 60 s. */
  readonly tokenRefreshMs?: number;
  readonly execRunner?: ExecRunner;
}

/** The source `connection` asks for: exec plugin, token file, fixed token, or none. */
export function createCredentialSource(
  connection: KubeConnection,
  options: CredentialSourceOptions = {},
): CredentialSource {
  const clock = options.clock ?? systemClock;
  if (connection.exec !== undefined) {
    return execCredentialSource(connection.exec, options.execRunner ?? runExecCredentialPlugin, clock);
  }
  if (connection.tokenFile !== undefined) {
    return tokenFileSource(
      connection.tokenFile,
      options.readFile ?? ((path: string) => readFileSync(path, 'utf8')),
      clock,
      options.tokenRefreshMs ?? 60_000,
    );
  }
  const fixed: Credentials = connection.token === undefined ? {} : { token: connection.token };
  return {
    current: () => Promise.resolve(fixed),
    refreshAfterUnauthorized: () => Promise.resolve(undefined),
  };
}

function tokenFileSource(
  file: string,
  read: ReadTextFile,
  clock: Clock,
  refreshMs: number,
): CredentialSource {
  let cached: { token: string; readAtMs: number } | undefined;
  const load = (force: boolean): Credentials => {
    const now = clock.now();
    if (force || cached === undefined || now - cached.readAtMs >= refreshMs) {
      try {
        cached = { token: read(file).trim(), readAtMs: now };
      } catch (error) {
        // A rotation in progress (the kubelet swaps a symlink): keep the last good token.
        if (cached === undefined) {
          throw new KubeTransportError(`cannot read the token file "${file}"`, { cause: error });
        }
      }
    }
    return { token: cached.token };
  };
  return {
    current: () => Promise.resolve(load(false)),
    refreshAfterUnauthorized: (used) => {
      const fresh = load(true);
      return Promise.resolve(sameCredentials(fresh, used) ? undefined : fresh);
    },
  };
}

function execCredentialSource(config: ExecCredentialConfig, run: ExecRunner, clock: Clock): CredentialSource {
  let cached: ExecCredentialStatus | undefined;
  let running: Promise<ExecCredentialStatus> | undefined;
  const fresh = (status: ExecCredentialStatus): boolean =>
    status.expiresAtMs === undefined || clock.now() < status.expiresAtMs;
  // One plugin run at a time: every request waiting for a credential shares it.
  const obtain = (): Promise<ExecCredentialStatus> => {
    running ??= run(config).then(
      (status) => {
        running = undefined;
        cached = status;
        return status;
      },
      (error: unknown) => {
        running = undefined;
        throw error instanceof KubeTransportError
          ? error
          : new KubeTransportError(error instanceof Error ? error.message : String(error), { cause: error });
      },
    );
    return running;
  };
  const credentialsOf = ({ token, clientCertPem, clientKeyPem }: ExecCredentialStatus): Credentials => ({
    ...(token !== undefined && { token }),
    ...(clientCertPem !== undefined && { clientCertPem }),
    ...(clientKeyPem !== undefined && { clientKeyPem }),
  });
  return {
    async current() {
      if (cached !== undefined && fresh(cached)) return credentialsOf(cached);
      return credentialsOf(await obtain());
    },
    async refreshAfterUnauthorized(used) {
      if (cached !== undefined && !sameCredentials(credentialsOf(cached), used)) return credentialsOf(cached);
      cached = undefined;
      const next = credentialsOf(await obtain());
      return sameCredentials(next, used) ? undefined : next;
    },
  };
}

const EXEC_TIMEOUT_MS = 60_000;
const EXEC_MAX_OUTPUT = 1024 * 1024;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The `KUBERNETES_EXEC_INFO` a plugin reads: never interactive (a node agent has no terminal). */
export function execInfo(config: ExecCredentialConfig): string {
  return JSON.stringify({
    apiVersion: config.apiVersion,
    kind: 'ExecCredential',
    spec: {
      interactive: false,
      ...(config.cluster !== undefined && { cluster: config.cluster }),
    },
  });
}

/**
 * Checks a plugin's stdout: an `ExecCredential` of the configured apiVersion with a token or a
 * client certificate and key, and an optional RFC 3339 `expirationTimestamp`.
 */
export function parseExecCredential(config: ExecCredentialConfig, stdout: string): ExecCredentialStatus {
  const who = `exec credential plugin "${config.command}"`;
  let document: unknown;
  try {
    document = JSON.parse(stdout);
  } catch {
    throw new KubeConfigError(
      `${who} printed no JSON ExecCredential; its output starts with ${JSON.stringify(stdout.slice(0, 120))}`,
    );
  }
  if (!isRecord(document) || document['kind'] !== 'ExecCredential') {
    throw new KubeConfigError(
      `${who} printed JSON that is not an ExecCredential (kind must be "ExecCredential")`,
    );
  }
  if (document['apiVersion'] !== config.apiVersion) {
    throw new KubeConfigError(
      `${who} printed apiVersion ${JSON.stringify(document['apiVersion'])}, but the kubeconfig asks for "${config.apiVersion}"`,
    );
  }
  const status = document['status'];
  if (!isRecord(status)) throw new KubeConfigError(`${who} printed an ExecCredential without "status"`);
  const text = (key: string): string | undefined => {
    const value = status[key];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') {
      throw new KubeConfigError(`${who}: status.${key} must be a string, got ${JSON.stringify(value)}`);
    }
    return value;
  };
  const token = text('token');
  const clientCertPem = text('clientCertificateData');
  const clientKeyPem = text('clientKeyData');
  if ((clientCertPem === undefined) !== (clientKeyPem === undefined)) {
    throw new KubeConfigError(
      `${who}: status needs both clientCertificateData and clientKeyData, or neither`,
    );
  }
  if (token === undefined && clientCertPem === undefined) {
    throw new KubeConfigError(`${who}: status has neither a token nor clientCertificateData/clientKeyData`);
  }
  const expiration = text('expirationTimestamp');
  let expiresAtMs: number | undefined;
  if (expiration !== undefined) {
    expiresAtMs = Date.parse(expiration);
    if (!Number.isFinite(expiresAtMs)) {
      throw new KubeConfigError(`${who}: status.expirationTimestamp "${expiration}" is not an RFC 3339 time`);
    }
  }
  return {
    ...(token !== undefined && { token }),
    ...(clientCertPem !== undefined && { clientCertPem }),
    ...(clientKeyPem !== undefined && { clientKeyPem }),
    ...(expiresAtMs !== undefined && { expiresAtMs }),
  };
}

/**
 * Runs the plugin with its arguments and environment (no shell), `KUBERNETES_EXEC_INFO` set, a
 * 60 s deadline, and stdin closed; its stderr is passed on in error messages only.
 */
export function runExecCredentialPlugin(config: ExecCredentialConfig): Promise<ExecCredentialStatus> {
  const who = `exec credential plugin "${config.command}"`;
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      config.command,
      [...config.args],
      {
        env: { ...config.env, KUBERNETES_EXEC_INFO: execInfo(config) },
        timeout: EXEC_TIMEOUT_MS,
        maxBuffer: EXEC_MAX_OUTPUT,
        encoding: 'utf8',
        windowsHide: true,
      },
      (error, stdout, stderr) => {
        if (error !== null) {
          const detail = stderr.trim().slice(-500);
          // An exit status arrives as a number in `code`, a spawn failure as an errno string.
          const code = (error as { code?: unknown }).code;
          let message: string;
          if (code === 'ENOENT') {
            message = `${who} not found${config.installHint === undefined ? '' : `; ${config.installHint.trim()}`}`;
          } else if (error.killed === true || error.signal === 'SIGTERM') {
            message = `${who} did not finish within ${EXEC_TIMEOUT_MS / 1000} s`;
          } else {
            message = `${who} failed (${typeof code === 'number' ? `exit code ${code}` : typeof code === 'string' ? code : error.message})`;
          }
          reject(new KubeConfigError(detail === '' ? message : `${message}: ${detail}`, { cause: error }));
          return;
        }
        try {
          resolvePromise(parseExecCredential(config, stdout));
        } catch (parseError) {
          reject(parseError instanceof Error ? parseError : new Error(String(parseError)));
        }
      },
    );
    child.stdin?.end();
  });
}

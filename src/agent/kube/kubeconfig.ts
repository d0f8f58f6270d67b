/**
 * Where and how to reach the API server: from a kubeconfig file (the `--kubeconfig` flag; its
 * current context: token, token file, client certificate, or an exec credential plugin) or from
 * the ServiceAccount files mounted into every pod (the DaemonSet's default). Everything is resolved once, at start, into a {@link KubeConnection}; problems are
 * reported as {@link KubeConfigError} naming the file, context or field at fault.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { KubeConfigError } from './errors.js';

/** Everything the HTTPS transport and the client need to talk to one API server. */
export interface KubeConnection {
  /** Base URL, e.g. `https://127.0.0.1:6443`. */
  readonly server: string;
  /** PEM bundle the server certificate must chain to; absent → the system roots. */
  readonly caPem?: string;
  readonly clientCertPem?: string;
  readonly clientKeyPem?: string;
  /** A fixed bearer token. */
  readonly token?: string;
  /**
   * A file holding the bearer token, re-read periodically: projected ServiceAccount tokens are
   * rotated by the kubelet.
   */
  readonly tokenFile?: string;
  readonly insecureSkipTlsVerify: boolean;
  /** Overrides the name checked against the server certificate. */
  readonly tlsServerName?: string;
  /** The context's namespace, or the pod's namespace in-cluster. */
  readonly namespace?: string;
  /** An exec credential plugin that supplies the token or client certificate (credentials.ts). */
  readonly exec?: ExecCredentialConfig;
}

export const EXEC_API_VERSIONS = [
  'client.authentication.k8s.io/v1',
  'client.authentication.k8s.io/v1beta1',
] as const;
export type ExecApiVersion = (typeof EXEC_API_VERSIONS)[number];

/** `spec.cluster` of the ExecCredential a plugin receives when `provideClusterInfo` is set. */
export interface ExecClusterInfo {
  readonly server: string;
  readonly 'tls-server-name'?: string;
  readonly 'insecure-skip-tls-verify'?: boolean;
  readonly 'certificate-authority-data'?: string;
  readonly 'proxy-url'?: string;
  readonly config?: unknown;
}

/** A kubeconfig user's `exec` section, resolved. */
export interface ExecCredentialConfig {
  /** The program; a relative path with a `/` is resolved against the kubeconfig's directory. */
  readonly command: string;
  readonly args: readonly string[];
  /** The whole environment of the plugin: the agent's (when given) plus the section's `env`. */
  readonly env: Readonly<Record<string, string>>;
  readonly apiVersion: ExecApiVersion;
  readonly installHint?: string;
  readonly cluster?: ExecClusterInfo;
}

/** Reads a file as UTF-8; injectable so tests need no files. */
export type ReadTextFile = (path: string) => string;

const defaultRead: ReadTextFile = (path) => readFileSync(path, 'utf8');

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(owner: Record<string, unknown>, key: string, where: string): string | undefined {
  const value = owner[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw new KubeConfigError(`${where}: "${key}" must be a string, got ${JSON.stringify(value)}`);
  }
  return value;
}

function findNamed(list: unknown, name: string, section: string, file: string): Record<string, unknown> {
  if (!Array.isArray(list))
    throw new KubeConfigError(`kubeconfig ${file}: "${section}" is missing or not a list`);
  for (const entry of list) {
    if (isRecord(entry) && entry['name'] === name) {
      const inner = entry[section.slice(0, -1)];
      if (!isRecord(inner)) {
        throw new KubeConfigError(
          `kubeconfig ${file}: ${section} entry "${name}" has no "${section.slice(0, -1)}" map`,
        );
      }
      return inner;
    }
  }
  throw new KubeConfigError(`kubeconfig ${file}: no ${section.slice(0, -1)} named "${name}"`);
}

function decodeBase64(value: string, field: string, file: string): string {
  const text = Buffer.from(value, 'base64').toString('utf8');
  if (!text.includes('-----BEGIN')) {
    throw new KubeConfigError(`kubeconfig ${file}: "${field}" is not base64-encoded PEM`);
  }
  return text;
}

interface PemSource {
  readonly owner: Record<string, unknown>;
  readonly dataKey: string;
  readonly fileKey: string;
  readonly where: string;
}

function loadPem(source: PemSource, file: string, read: ReadTextFile): string | undefined {
  const data = optionalString(source.owner, source.dataKey, source.where);
  if (data !== undefined) return decodeBase64(data, source.dataKey, file);
  const path = optionalString(source.owner, source.fileKey, source.where);
  if (path === undefined) return undefined;
  const absolute = isAbsolute(path) ? path : resolve(dirname(file), path);
  try {
    return read(absolute);
  } catch (error) {
    throw new KubeConfigError(`kubeconfig ${file}: cannot read ${source.fileKey} "${absolute}"`, {
      cause: error,
    });
  }
}

/** Options for {@link loadKubeconfig}. */
export interface LoadKubeconfigOptions {
  /** Use this context instead of `current-context`. */
  readonly context?: string;
  readonly readFile?: ReadTextFile;
  /**
   * The environment an exec credential plugin inherits (`process.env`, passed in by `main.ts`);
   * default none, so the plugin sees only its section's `env`.
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

function execSection(
  user: Record<string, unknown>,
  cluster: Record<string, unknown>,
  server: string,
  userWhere: string,
  file: string,
  inherited: Readonly<Record<string, string | undefined>>,
): ExecCredentialConfig {
  const exec = user['exec'];
  const where = `${userWhere}: exec`;
  if (!isRecord(exec)) throw new KubeConfigError(`${where} must be a map`);
  const command = optionalString(exec, 'command', where);
  if (command === undefined || command === '') throw new KubeConfigError(`${where}: "command" is missing`);
  const apiVersion = optionalString(exec, 'apiVersion', where);
  const known = EXEC_API_VERSIONS.find((version) => version === apiVersion);
  if (known === undefined) {
    throw new KubeConfigError(
      `${where}: apiVersion ${JSON.stringify(apiVersion)} is not supported; use one of ${EXEC_API_VERSIONS.join(', ')}`,
    );
  }
  const interactiveMode = optionalString(exec, 'interactiveMode', where);
  if (interactiveMode === undefined && known === 'client.authentication.k8s.io/v1') {
    throw new KubeConfigError(`${where}: "interactiveMode" must be set for ${known} (Never or IfAvailable)`);
  }
  if (interactiveMode === 'Always') {
    throw new KubeConfigError(
      `${where}: plugin "${command}" needs a terminal (interactiveMode: Always), which the agent never has; use Never or IfAvailable`,
    );
  }
  if (interactiveMode !== undefined && interactiveMode !== 'Never' && interactiveMode !== 'IfAvailable') {
    throw new KubeConfigError(
      `${where}: interactiveMode "${interactiveMode}" is not Never, IfAvailable or Always`,
    );
  }
  const rawArgs = exec['args'] ?? [];
  if (!Array.isArray(rawArgs) || !rawArgs.every((arg): arg is string => typeof arg === 'string')) {
    throw new KubeConfigError(`${where}: "args" must be a list of strings`);
  }
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(inherited)) if (value !== undefined) env[name] = value;
  const rawEnv = exec['env'] ?? [];
  if (!Array.isArray(rawEnv)) throw new KubeConfigError(`${where}: "env" must be a list of {name, value}`);
  for (const entry of rawEnv) {
    if (!isRecord(entry) || typeof entry['name'] !== 'string' || typeof entry['value'] !== 'string') {
      throw new KubeConfigError(`${where}: env entry ${JSON.stringify(entry)} needs a string name and value`);
    }
    env[entry['name']] = entry['value'];
  }
  const installHint = optionalString(exec, 'installHint', where);
  const resolvedCommand =
    command.includes('/') && !isAbsolute(command) ? resolve(dirname(file), command) : command;
  let clusterInfo: ExecClusterInfo | undefined;
  if (exec['provideClusterInfo'] === true) {
    const extensions = cluster['extensions'];
    const config = Array.isArray(extensions)
      ? extensions.find(
          (e): e is Record<string, unknown> =>
            isRecord(e) && e['name'] === 'client.authentication.k8s.io/exec',
        )?.['extension']
      : undefined;
    const tlsServerName = optionalString(cluster, 'tls-server-name', where);
    const caData = optionalString(cluster, 'certificate-authority-data', where);
    const proxyUrl = optionalString(cluster, 'proxy-url', where);
    clusterInfo = {
      server,
      ...(tlsServerName !== undefined && { 'tls-server-name': tlsServerName }),
      ...(cluster['insecure-skip-tls-verify'] === true && { 'insecure-skip-tls-verify': true }),
      ...(caData !== undefined && { 'certificate-authority-data': caData }),
      ...(proxyUrl !== undefined && { 'proxy-url': proxyUrl }),
      ...(config !== undefined && { config }),
    };
  }
  return {
    command: resolvedCommand,
    args: rawArgs,
    env,
    apiVersion: known,
    ...(installHint !== undefined && { installHint }),
    ...(clusterInfo !== undefined && { cluster: clusterInfo }),
  };
}

/**
 * Resolves the current (or the named) context of the kubeconfig at `file`. Supports token,
 * tokenFile, client certificate/key (data or file), CA (data or file) and exec credential
 * plugins (client.authentication.k8s.io v1/v1beta1, never interactive); `auth-provider` (removed
 * from client-go) is refused with a clear error.
 */
export function loadKubeconfig(file: string, options: LoadKubeconfigOptions = {}): KubeConnection {
  const read = options.readFile ?? defaultRead;
  let document: unknown;
  try {
    document = parseYaml(read(file));
  } catch (error) {
    throw new KubeConfigError(`kubeconfig ${file}: cannot read or parse it`, { cause: error });
  }
  if (!isRecord(document)) throw new KubeConfigError(`kubeconfig ${file}: not a YAML map`);
  const contextName = options.context ?? optionalString(document, 'current-context', `kubeconfig ${file}`);
  if (contextName === undefined || contextName === '') {
    throw new KubeConfigError(`kubeconfig ${file}: no current-context set and no context given`);
  }
  const context = findNamed(document['contexts'], contextName, 'contexts', file);
  const clusterName = optionalString(context, 'cluster', `context "${contextName}"`);
  const userName = optionalString(context, 'user', `context "${contextName}"`);
  if (clusterName === undefined)
    throw new KubeConfigError(`kubeconfig ${file}: context "${contextName}" names no cluster`);
  const cluster = findNamed(document['clusters'], clusterName, 'clusters', file);
  const user = userName === undefined ? {} : findNamed(document['users'], userName, 'users', file);
  const clusterWhere = `kubeconfig ${file}: cluster "${clusterName}"`;
  const userWhere = `kubeconfig ${file}: user "${userName ?? ''}"`;
  const server = optionalString(cluster, 'server', clusterWhere);
  if (server === undefined || !/^https?:\/\//.test(server)) {
    throw new KubeConfigError(
      `${clusterWhere}: "server" must be an http(s) URL, got ${JSON.stringify(server)}`,
    );
  }
  if (user['auth-provider'] !== undefined) {
    throw new KubeConfigError(
      `${userWhere}: "auth-provider" credentials are not supported (client-go removed them); use an exec plugin, a token or a client certificate`,
    );
  }
  const exec =
    user['exec'] === undefined || user['exec'] === null
      ? undefined
      : execSection(user, cluster, server, userWhere, file, options.env ?? {});
  const tokenFile = optionalString(user, 'tokenFile', userWhere);
  const namespace = optionalString(context, 'namespace', `context "${contextName}"`);
  const tlsServerName = optionalString(cluster, 'tls-server-name', clusterWhere);
  const caPem = loadPem(
    {
      owner: cluster,
      dataKey: 'certificate-authority-data',
      fileKey: 'certificate-authority',
      where: clusterWhere,
    },
    file,
    read,
  );
  const clientCertPem = loadPem(
    { owner: user, dataKey: 'client-certificate-data', fileKey: 'client-certificate', where: userWhere },
    file,
    read,
  );
  const clientKeyPem = loadPem(
    { owner: user, dataKey: 'client-key-data', fileKey: 'client-key', where: userWhere },
    file,
    read,
  );
  if ((clientCertPem === undefined) !== (clientKeyPem === undefined)) {
    throw new KubeConfigError(`${userWhere}: a client certificate needs both a certificate and a key`);
  }
  const token = optionalString(user, 'token', userWhere);
  return {
    server: server.replace(/\/+$/, ''),
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
    ...(caPem !== undefined && { caPem }),
    ...(clientCertPem !== undefined && { clientCertPem }),
    ...(clientKeyPem !== undefined && { clientKeyPem }),
    ...(token !== undefined && { token }),
    ...(tokenFile !== undefined && {
      tokenFile: isAbsolute(tokenFile) ? tokenFile : resolve(dirname(file), tokenFile),
    }),
    ...(tlsServerName !== undefined && { tlsServerName }),
    ...(namespace !== undefined && { namespace }),
    ...(exec !== undefined && { exec }),
  };
}

/** The directory where the kubelet mounts a pod's ServiceAccount credentials. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Options for {@link inClusterConfig}. */
export interface InClusterOptions {
  /** `process.env` in production (only `main.ts` reads it and passes it here). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly serviceAccountDir?: string;
  readonly readFile?: ReadTextFile;
}

/**
 * The in-cluster configuration: API server from `KUBERNETES_SERVICE_HOST`/`_PORT`, CA and
 * namespace from the ServiceAccount directory, the token file re-read as it rotates.
 */
export function inClusterConfig(options: InClusterOptions): KubeConnection {
  const read = options.readFile ?? defaultRead;
  const dir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const host = options.env['KUBERNETES_SERVICE_HOST'];
  const port = options.env['KUBERNETES_SERVICE_PORT'];
  if (host === undefined || host === '' || port === undefined || port === '') {
    throw new KubeConfigError(
      'not running in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set (or pass --kubeconfig)',
    );
  }
  if (!/^\d{1,5}$/.test(port))
    throw new KubeConfigError(`KUBERNETES_SERVICE_PORT must be a port number, got "${port}"`);
  const hostPart = host.includes(':') ? `[${host}]` : host;
  let caPem: string;
  try {
    caPem = read(`${dir}/ca.crt`);
  } catch (error) {
    throw new KubeConfigError(`cannot read the ServiceAccount CA "${dir}/ca.crt"`, { cause: error });
  }
  let namespace: string | undefined;
  try {
    namespace = read(`${dir}/namespace`).trim();
  } catch {
    namespace = undefined;
  }
  return {
    server: `https://${hostPart}:${port}`,
    caPem,
    tokenFile: `${dir}/token`,
    insecureSkipTlsVerify: false,
    ...(namespace !== undefined && namespace !== '' && { namespace }),
  };
}

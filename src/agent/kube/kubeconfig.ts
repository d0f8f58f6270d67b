/**
 * Where and how to reach the API server: from a kubeconfig file (the `--kubeconfig` flag; its
 * current context) or from the ServiceAccount files mounted into every pod (the DaemonSet's
 * default). Everything is resolved once, at start, into a {@link KubeConnection}; problems are
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
}

/**
 * Resolves the current (or the named) context of the kubeconfig at `file`. Supports token,
 * tokenFile, client certificate/key (data or file) and CA (data or file); exec and
 * auth-provider plugins are refused with a clear error (the agent is not an interactive client).
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
  for (const unsupported of ['exec', 'auth-provider']) {
    if (user[unsupported] !== undefined) {
      throw new KubeConfigError(
        `${userWhere}: "${unsupported}" credentials are not supported; use a token or a client certificate`,
      );
    }
  }
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

/**
 * A real Kubernetes control plane for tests: etcd plus kube-apiserver (optionally
 * kube-controller-manager for garbage collection and namespace deletion), built by
 * `scripts/k8s-tools.sh build`, listening on 127.0.0.1 only, with all files in one private
 * temporary directory.
 *
 * Identities: an admin token in group `system:masters` (static token file), and real
 * ServiceAccount tokens from the TokenRequest API for the agent, so RBAC rules bound to a
 * ServiceAccount (as the Helm chart's are) apply exactly as in a cluster. Authorization is RBAC
 * only: no kubelet runs here, so the Node authorizer would have nothing to authorize.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TOOL_PATH } from '../env.js';
import { pickFreePort } from '../net.js';
import { defaultRegistry, ProcessStartError, SupervisedProcess, type ProcessRegistry } from '../process.js';
import { makeWorkDir, removeWorkDir } from '../tempdir.js';
import { runCommand } from '../exec.js';
import { apiRequest, type ApiRequestOptions, type ApiResponse } from './http.js';
import { writeTokenKubeconfig } from './kubeconfig.js';
import { createKubePki } from './pki.js';
import { runTool, ToolCommandError, type ToolResult, type ToolRunOptions } from './run-tool.js';
import { findKubeTools, type KubeToolPaths } from './tools.js';

export interface KubeApiServerOptions {
  /** Directory holding the binaries; default: `bash scripts/k8s-tools.sh bin-dir`. */
  readonly binDir?: string;
  /** Also run kube-controller-manager (garbage collector, namespace controller); default false. */
  readonly controllerManager?: boolean;
  /**
   * More kube-controller-manager controllers, e.g. `validatingadmissionpolicy-status-controller`
   * (type-checks admission policies into their status); implies `controllerManager`.
   */
  readonly extraControllers?: readonly string[];
  /** Deadline for kube-apiserver's `/readyz`; default 90,000 ms (2 shared cores, cold caches). */
  readonly readyTimeoutMs?: number;
  /** Teardown registry; default: the harness's process-wide one. */
  readonly registry?: ProcessRegistry;
  /** Keep the temporary directory (logs, etcd data) after stop, for debugging; default false. */
  readonly keepDir?: boolean;
}

export interface ServiceAccountTokenOptions {
  /** Token lifetime; default 86,400 s (the API server's minimum is 600 s). */
  readonly expirationSeconds?: number;
  /** Audiences; default: the API server's own. */
  readonly audiences?: readonly string[];
  /**
   * Bind the token to an object in the ServiceAccount's namespace: it stops working when the
   * object is deleted, and a token bound to a Pod carries the Pod's node as the
   * `authentication.kubernetes.io/node-name` claim (what the kubelet's tokens carry).
   */
  readonly boundObject?: { readonly kind: 'Pod' | 'Secret'; readonly name: string };
}

/** A client certificate signed by the CA the API server trusts for client authentication. */
export interface ClientCertificate {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface KubeApiServer {
  /** `https://127.0.0.1:<port>` */
  readonly url: string;
  /** CA certificate (PEM file) that verifies {@link url}. */
  readonly caFile: string;
  /** Bearer token of `admin` in group `system:masters`. */
  readonly adminToken: string;
  /** Kubeconfig of the admin (the default for {@link kubectl} and {@link helm}). */
  readonly adminKubeconfig: string;
  /** `http://127.0.0.1:<port>` of the private etcd. */
  readonly etcdUrl: string;
  /** The private directory with certificates, kubeconfigs, logs and etcd's data. */
  readonly dir: string;
  readonly tools: KubeToolPaths;
  /**
   * Kubeconfig for `system:serviceaccount:<namespace>:<serviceAccount>` holding a TokenRequest
   * token. Creates the namespace and the ServiceAccount when they do not exist yet (so it works
   * before and after `helm install` created them); grants nothing.
   */
  agentKubeconfig(
    namespace: string,
    serviceAccount: string,
    options?: ServiceAccountTokenOptions,
  ): Promise<string>;
  /** A TokenRequest token for the ServiceAccount (created, with its namespace, when absent). */
  serviceAccountToken(
    namespace: string,
    serviceAccount: string,
    options?: ServiceAccountTokenOptions,
  ): Promise<string>;
  /** A client certificate for user `user` in `groups` (CN and O of the subject), valid 2 days. */
  clientCertificate(user: string, groups?: readonly string[]): Promise<ClientCertificate>;
  /** Runs kubectl (admin kubeconfig) and returns its stdout; rejects with {@link ToolCommandError}. */
  kubectl(...args: string[]): Promise<string>;
  /** Runs helm (admin kubeconfig, private helm home) and returns stdout; rejects like {@link kubectl}. */
  helm(...args: string[]): Promise<string>;
  /** Runs kubectl or helm and resolves with the exit code and output whatever the exit code. */
  run(tool: 'kubectl' | 'helm', args: readonly string[], options?: ToolRunOptions): Promise<ToolResult>;
  /** One request to the API server; `path` starts with `/`; the admin token unless one is given. */
  request(path: string, options?: ApiRequestOptions): Promise<ApiResponse>;
  /** Last lines of every server's output, for failure messages. */
  logTail(lines?: number): string;
  /** Stops every process and removes the directory (unless `keepDir`); safe to call twice. */
  stop(): Promise<void>;
}

/** The issuer of service-account tokens, as in a cluster with the default DNS domain. */
const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
const START_ATTEMPTS = 3;

/** Starts etcd and kube-apiserver (and kube-controller-manager if asked) and waits for `/readyz`. */
export async function startKubeApiServer(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  const tools = await findKubeTools(options.binDir);
  const registry = options.registry ?? defaultRegistry();
  const workDir = await makeWorkDir('kube');
  const dir = workDir.path;
  const processes: SupervisedProcess[] = [];
  let stopped = false;
  const stopAll = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // Dependents first: the controller manager and API server would otherwise spend their
    // grace period retrying a vanished etcd.
    for (const process of [...processes].reverse()) await process.stop();
    if (!options.keepDir) await removeWorkDir(workDir);
  };
  try {
    const serverEnv = { PATH: TOOL_PATH, HOME: dir, LC_ALL: 'C' };
    const [pki, adminToken] = await Promise.all([
      mkdir(join(dir, 'pki')).then(() => createKubePki(join(dir, 'pki'), serverEnv)),
      randomToken(),
    ]);
    const tokenFile = join(dir, 'tokens.csv');
    // Static tokens: token,user,uid,"group1,group2"
    await writeFile(tokenFile, `${adminToken},admin,admin-uid,"system:masters"\n`, { mode: 0o600 });
    const caPem = await readFile(pki.caCert);

    const etcd = await startWithFreePorts(async () => {
      const [clientPort, peerPort] = [await pickFreePort(), await pickFreePort()];
      const clientUrl = `http://127.0.0.1:${clientPort}`;
      const peerUrl = `http://127.0.0.1:${peerPort}`;
      const process = new SupervisedProcess(
        {
          name: 'etcd',
          command: tools.etcd,
          args: [
            '--name=sandbox',
            `--data-dir=${join(dir, 'etcd')}`,
            `--listen-client-urls=${clientUrl}`,
            `--advertise-client-urls=${clientUrl}`,
            `--listen-peer-urls=${peerUrl}`,
            `--initial-advertise-peer-urls=${peerUrl}`,
            `--initial-cluster=sandbox=${peerUrl}`,
            '--initial-cluster-state=new',
            // Test data is thrown away: skipping fsync makes every API write much faster.
            '--unsafe-no-fsync',
            '--log-level=warn',
          ],
          dir,
          env: serverEnv,
          ready: async () => (await apiRequest(`${clientUrl}/health`, { timeoutMs: 2_000 })).status === 200,
          readyTimeoutMs: 30_000,
        },
        registry,
      );
      return { process, url: clientUrl };
    }, processes);

    const apiServer = await startWithFreePorts(async () => {
      const port = await pickFreePort();
      const url = `https://127.0.0.1:${port}`;
      const process = new SupervisedProcess(
        {
          name: 'kube-apiserver',
          command: tools['kube-apiserver'],
          args: [
            `--etcd-servers=${etcd.url}`,
            '--bind-address=127.0.0.1',
            '--advertise-address=127.0.0.1',
            `--secure-port=${port}`,
            `--cert-dir=${join(dir, 'apiserver-certs')}`,
            `--tls-cert-file=${pki.servingCert}`,
            `--tls-private-key-file=${pki.servingKey}`,
            `--client-ca-file=${pki.caCert}`,
            `--token-auth-file=${tokenFile}`,
            '--authorization-mode=RBAC',
            `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
            `--service-account-key-file=${pki.serviceAccountPublicKey}`,
            `--service-account-signing-key-file=${pki.serviceAccountKey}`,
            '--service-cluster-ip-range=10.96.0.0/16',
            // The `kubernetes` Service's endpoints would be this loopback address, which
            // Endpoints validation rejects; nothing here routes to it anyway.
            '--endpoint-reconciler-type=none',
            '--profiling=false',
            '--v=1',
          ],
          dir,
          env: serverEnv,
          ready: async () =>
            (await apiRequest(`${url}/readyz`, { ca: caPem, token: adminToken, timeoutMs: 5_000 })).status ===
            200,
          readyTimeoutMs: options.readyTimeoutMs ?? 90_000,
        },
        registry,
      );
      return { process, url };
    }, processes);

    const url = apiServer.url;
    const adminKubeconfig = await writeTokenKubeconfig(join(dir, 'admin.kubeconfig'), {
      server: url,
      caFile: pki.caCert,
      token: adminToken,
      userName: 'admin',
    });

    const controllers = [
      'garbage-collector-controller',
      'namespace-controller',
      ...(options.extraControllers ?? []),
    ];
    if (options.controllerManager === true || controllers.length > 2) {
      await startWithFreePorts(async () => {
        const port = await pickFreePort();
        const process = new SupervisedProcess(
          {
            name: 'kube-controller-manager',
            command: tools['kube-controller-manager'],
            args: [
              `--kubeconfig=${adminKubeconfig}`,
              `--authentication-kubeconfig=${adminKubeconfig}`,
              `--authorization-kubeconfig=${adminKubeconfig}`,
              '--bind-address=127.0.0.1',
              `--secure-port=${port}`,
              // The API server's certificate (for 127.0.0.1) so that readiness checks verify it.
              `--tls-cert-file=${pki.servingCert}`,
              `--tls-private-key-file=${pki.servingKey}`,
              '--leader-elect=false',
              `--controllers=${controllers.join(',')}`,
              '--v=1',
            ],
            dir,
            env: serverEnv,
            ready: async () =>
              (await apiRequest(`https://127.0.0.1:${port}/healthz`, { ca: caPem, timeoutMs: 2_000 }))
                .status === 200,
            readyTimeoutMs: 30_000,
          },
          registry,
        );
        return { process, url: `https://127.0.0.1:${port}` };
      }, processes);
    }

    const kubeHome = join(dir, 'home');
    await mkdir(kubeHome);
    const toolEnv = (kubeconfig: string): Record<string, string> => ({
      PATH: TOOL_PATH,
      LC_ALL: 'C',
      HOME: kubeHome,
      KUBECONFIG: kubeconfig,
      KUBECACHEDIR: join(kubeHome, 'kube-cache'),
      HELM_CACHE_HOME: join(kubeHome, 'helm-cache'),
      HELM_CONFIG_HOME: join(kubeHome, 'helm-config'),
      HELM_DATA_HOME: join(kubeHome, 'helm-data'),
    });
    const run = (
      tool: 'kubectl' | 'helm',
      args: readonly string[],
      runOptions: ToolRunOptions = {},
    ): Promise<ToolResult> =>
      runTool(tools[tool], args, toolEnv(runOptions.kubeconfig ?? adminKubeconfig), runOptions);
    const runOrThrow = async (tool: 'kubectl' | 'helm', args: readonly string[]): Promise<string> => {
      const result = await run(tool, args);
      if (result.exitCode !== 0) throw new ToolCommandError([tool, ...args], result);
      return result.stdout;
    };
    const request = (path: string, requestOptions: ApiRequestOptions = {}): Promise<ApiResponse> =>
      apiRequest(`${url}${path}`, { ca: caPem, token: adminToken, ...requestOptions });

    const serviceAccountToken = async (
      namespace: string,
      serviceAccount: string,
      tokenOptions: ServiceAccountTokenOptions = {},
    ): Promise<string> => {
      await ensureCreated(request, '/api/v1/namespaces', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: namespace },
      });
      await ensureCreated(request, `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts`, {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: serviceAccount, namespace },
      });
      let boundObjectRef: { apiVersion: 'v1'; kind: string; name: string; uid: string } | undefined;
      if (tokenOptions.boundObject !== undefined) {
        const { kind, name } = tokenOptions.boundObject;
        const plural = kind === 'Pod' ? 'pods' : 'secrets';
        const found = await request(
          `/api/v1/namespaces/${encodeURIComponent(namespace)}/${plural}/${encodeURIComponent(name)}`,
        );
        const uid = (found.json() as { metadata?: { uid?: string } }).metadata?.uid;
        if (found.status !== 200 || uid === undefined) {
          throw new Error(
            `the ${kind} ${namespace}/${name} to bind a token to answered ${found.status}: ${found.body}`,
          );
        }
        boundObjectRef = { apiVersion: 'v1', kind, name, uid };
      }
      const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(serviceAccount)}/token`;
      const response = await request(path, {
        method: 'POST',
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: {
            expirationSeconds: tokenOptions.expirationSeconds ?? 86_400,
            ...(tokenOptions.audiences ? { audiences: tokenOptions.audiences } : {}),
            ...(boundObjectRef !== undefined && { boundObjectRef }),
          },
        },
      });
      const token = tokenFrom(response);
      if (token === undefined) {
        throw new Error(
          `TokenRequest for ${namespace}/${serviceAccount} answered ${response.status}: ${response.body}`,
        );
      }
      return token;
    };

    const handle: KubeApiServer = {
      url,
      caFile: pki.caCert,
      adminToken,
      adminKubeconfig,
      etcdUrl: etcd.url,
      dir,
      tools,
      serviceAccountToken,
      async agentKubeconfig(namespace, serviceAccount, tokenOptions) {
        const token = await serviceAccountToken(namespace, serviceAccount, tokenOptions);
        return writeTokenKubeconfig(join(dir, `${namespace}.${serviceAccount}.kubeconfig`), {
          server: url,
          caFile: pki.caCert,
          token,
          userName: `system:serviceaccount:${namespace}:${serviceAccount}`,
          namespace,
        });
      },
      async clientCertificate(user, groups = []) {
        const base = join(dir, 'pki', `client-${randomBytes(4).toString('hex')}`);
        const subject = [`/CN=${user}`, ...groups.map((group) => `/O=${group}`)].join('');
        await runCommand(
          'openssl',
          [
            'req',
            '-x509',
            '-CA',
            pki.caCert,
            '-CAkey',
            pki.caKey,
            '-newkey',
            'ec',
            '-pkeyopt',
            'ec_paramgen_curve:prime256v1',
            '-nodes',
            '-keyout',
            `${base}.key`,
            '-out',
            `${base}.crt`,
            '-days',
            '2',
            '-subj',
            subject,
            '-addext',
            'extendedKeyUsage=clientAuth',
            '-addext',
            'basicConstraints=critical,CA:FALSE',
          ],
          { env: serverEnv, cwd: dir },
        );
        return { certFile: `${base}.crt`, keyFile: `${base}.key` };
      },
      kubectl: (...args) => runOrThrow('kubectl', args),
      helm: (...args) => runOrThrow('helm', args),
      run,
      request,
      logTail: (lines) => processes.map((p) => p.logTail(lines)).join('\n'),
      async stop() {
        registry.untrack(handle);
        await stopAll();
      },
    };
    registry.track(handle);
    return handle;
  } catch (error) {
    await stopAll().catch(() => undefined);
    throw error;
  }
}

interface Started {
  readonly process: SupervisedProcess;
  readonly url: string;
}

/**
 * Starts a server on ports picked just before; when another process took a port in between
 * (its log says so), tries again with new ports. Successful processes are added to `started`.
 */
async function startWithFreePorts(
  create: () => Promise<Started>,
  started: SupervisedProcess[],
): Promise<Started> {
  for (let attempt = 1; ; attempt++) {
    const candidate = await create();
    try {
      await candidate.process.start();
      started.push(candidate.process);
      return candidate;
    } catch (error) {
      const portTaken = error instanceof ProcessStartError && /address already in use/i.test(error.message);
      if (!portTaken || attempt >= START_ATTEMPTS) throw error;
    }
  }
}

/** POSTs `object` to `collectionPath`; an existing object of that name is fine. */
async function ensureCreated<T extends { readonly metadata: { readonly name: string } }>(
  request: (path: string, options?: ApiRequestOptions) => Promise<ApiResponse>,
  collectionPath: string,
  object: T,
): Promise<void> {
  const response = await request(collectionPath, { method: 'POST', body: object });
  if (response.status !== 201 && response.status !== 409) {
    throw new Error(
      `creating ${object.metadata.name} in ${collectionPath} answered ${response.status}: ${response.body}`,
    );
  }
}

function tokenFrom(response: ApiResponse): string | undefined {
  if (response.status !== 201 && response.status !== 200) return undefined;
  const body = response.json();
  if (typeof body !== 'object' || body === null || !('status' in body)) return undefined;
  const status = body.status;
  if (typeof status !== 'object' || status === null || !('token' in status)) return undefined;
  return typeof status.token === 'string' && status.token !== '' ? status.token : undefined;
}

function randomToken(): Promise<string> {
  return new Promise((resolve, reject) => {
    randomBytes(24, (error, bytes) => (error ? reject(error) : resolve(bytes.toString('hex'))));
  });
}

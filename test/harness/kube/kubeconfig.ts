import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';

export interface TokenKubeconfig {
  /** API server URL, e.g. `https://127.0.0.1:41234`. */
  readonly server: string;
  /** Path of the CA certificate that verifies the server. */
  readonly caFile: string;
  /** Bearer token of the user. */
  readonly token: string;
  /** Names the cluster, user and context entries. */
  readonly userName: string;
  /** Default namespace of the context; `default` when absent. */
  readonly namespace?: string;
}

/** A kubeconfig document with one cluster, one token user and one current context. */
export function tokenKubeconfig(config: TokenKubeconfig): string {
  const context = `${config.userName}@sandbox`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'sandbox', cluster: { server: config.server, 'certificate-authority': config.caFile } },
    ],
    users: [{ name: config.userName, user: { token: config.token } }],
    contexts: [
      {
        name: context,
        context: { cluster: 'sandbox', user: config.userName, namespace: config.namespace ?? 'default' },
      },
    ],
    'current-context': context,
  });
}

/** Writes {@link tokenKubeconfig} to `path`, readable by the owner only (it holds a token). */
export async function writeTokenKubeconfig(path: string, config: TokenKubeconfig): Promise<string> {
  await writeFile(path, tokenKubeconfig(config), { mode: 0o600 });
  return path;
}

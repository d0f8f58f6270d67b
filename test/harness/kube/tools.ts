/**
 * Where the Kubernetes binaries built by `scripts/k8s-tools.sh build` are. The script is the one
 * place that knows the pinned versions and the cache location (it honours OVN_PLUG_AGENT_CACHE),
 * so the harness asks it (`bin-dir`) instead of repeating that logic.
 */
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The binaries the harness runs, by name. */
export const KUBE_TOOL_NAMES = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kubectl',
  'helm',
] as const;
export type KubeToolName = (typeof KUBE_TOOL_NAMES)[number];

export type KubeToolPaths = Readonly<Record<KubeToolName, string>> & { readonly binDir: string };

export const BUILD_COMMAND = 'bash scripts/k8s-tools.sh build';

const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const TOOLS_SCRIPT = join(REPO_ROOT, 'scripts', 'k8s-tools.sh');

/** Thrown when the tools are not built; the message names the command that builds them. */
export class KubeToolsMissingError extends Error {
  constructor(
    readonly missing: readonly string[],
    readonly binDir: string,
  ) {
    super(
      `Kubernetes test tools missing in ${binDir}: ${missing.join(', ')}. ` +
        `Build them once with \`${BUILD_COMMAND}\` (a cold build takes tens of minutes; ` +
        `later runs use the cache). See docs/kubernetes-testing.md.`,
    );
    this.name = 'KubeToolsMissingError';
  }
}

/** The directory `scripts/k8s-tools.sh bin-dir` prints (inherits the caller's environment). */
export function kubeToolsBinDir(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [TOOLS_SCRIPT, 'bin-dir'],
      { encoding: 'utf8', timeout: 10_000 },
      (error, stdout, stderr) => {
        if (error) {
          reject(
            new Error(`\`bash ${TOOLS_SCRIPT} bin-dir\` failed: ${stderr.trim() || error.message}`, {
              cause: error,
            }),
          );
          return;
        }
        const dir = stdout.trim();
        if (!dir) reject(new Error(`\`bash ${TOOLS_SCRIPT} bin-dir\` printed nothing`));
        else resolve(dir);
      },
    );
  });
}

/**
 * Paths of every tool in `binDir` (default: the script's cache directory); throws
 * {@link KubeToolsMissingError} naming each one that is absent or not executable.
 */
export async function findKubeTools(binDir?: string): Promise<KubeToolPaths> {
  const dir = binDir ?? (await kubeToolsBinDir());
  const entries = KUBE_TOOL_NAMES.map((name) => [name, join(dir, name)] as const);
  const missing: string[] = [];
  await Promise.all(
    entries.map(async ([name, path]) => {
      try {
        await access(path, constants.X_OK);
      } catch {
        missing.push(name);
      }
    }),
  );
  if (missing.length > 0) throw new KubeToolsMissingError(missing.sort(), dir);
  const paths = Object.fromEntries(entries) as Record<KubeToolName, string>;
  return { ...paths, binDir: dir };
}

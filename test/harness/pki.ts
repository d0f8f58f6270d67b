/**
 * Certificates for `ssl:` remotes, made with Open vSwitch's own `ovs-pki`: the same kind of
 * self-signed CA and hostname-less certificates an OVN deployment uses. Server and client
 * certificates are both signed by the `switchca`, so one CA file verifies either side.
 */
import { join } from 'node:path';
import { mkdir, readFile } from 'node:fs/promises';
import { toolEnv } from './env.js';
import { runCommand } from './exec.js';

/** Paths of PEM files. */
export interface Pki {
  readonly dir: string;
  /** CA certificate both sides verify the peer against. */
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

/** Creates a CA and a server and a client certificate under `dir` (which the caller owns). */
export async function createPki(dir: string): Promise<Pki> {
  await mkdir(dir, { recursive: true });
  const env = toolEnv(dir);
  const pkiDir = join(dir, 'ca');
  const logPath = join(dir, 'ovs-pki.log');
  const base = [`--dir=${pkiDir}`, `--log=${logPath}`];
  const ovsPki = async (...args: string[]): Promise<void> => {
    try {
      await runCommand('ovs-pki', [...base, ...args], { env, cwd: dir });
    } catch (error) {
      const log = await readFile(logPath, 'utf8').catch(() => '(no log)');
      throw new Error(`ovs-pki ${args.join(' ')} failed; ${logPath} ends with:\n${log.slice(-2000)}`, {
        cause: error,
      });
    }
  };
  await ovsPki('init');
  // Relative prefixes (cwd is `dir`): ovs-pki puts the prefix into the certificate's CN, which
  // is limited to 64 characters, so an absolute temp path would make it fail.
  await ovsPki('req+sign', 'server', 'switch');
  await ovsPki('req+sign', 'client', 'switch');
  return {
    dir,
    caCert: join(pkiDir, 'switchca', 'cacert.pem'),
    serverCert: join(dir, 'server-cert.pem'),
    serverKey: join(dir, 'server-privkey.pem'),
    clientCert: join(dir, 'client-cert.pem'),
    clientKey: join(dir, 'client-privkey.pem'),
  };
}

/**
 * Certificates for `ssl:` remotes, made with Open vSwitch's own `ovs-pki`: the same kind of
 * self-signed CA and hostname-less certificates an OVN deployment uses. Server and client
 * certificates are both signed by the `switchca`, so one CA file verifies either side.
 */
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
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
  const base = [`--dir=${pkiDir}`, `--log=${join(dir, 'ovs-pki.log')}`];
  await runCommand('ovs-pki', [...base, 'init'], { env, cwd: dir });
  await runCommand('ovs-pki', [...base, 'req+sign', join(dir, 'server'), 'switch'], { env, cwd: dir });
  await runCommand('ovs-pki', [...base, 'req+sign', join(dir, 'client'), 'switch'], { env, cwd: dir });
  return {
    dir,
    caCert: join(pkiDir, 'switchca', 'cacert.pem'),
    serverCert: join(dir, 'server-cert.pem'),
    serverKey: join(dir, 'server-privkey.pem'),
    clientCert: join(dir, 'client-cert.pem'),
    clientKey: join(dir, 'client-privkey.pem'),
  };
}

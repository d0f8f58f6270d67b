/**
 * OvsdbClient over ssl: to a real ovsdb-server with OVS-PKI certificates (checklist H1-H3).
 */
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPki,
  makeWorkDir,
  removeWorkDir,
  startOvsdbServer,
  VSWITCH_SCHEMA,
  waitUntil,
} from '../harness/index.js';
import type { OvsdbServer, Pki, WorkDir } from '../harness/index.js';
import { ConnectionClosedError, OvsdbClient, RpcConnection, parseRemote } from '../../src/ovsdb/index.js';
import type { ClientState, OvsdbClientOptions } from '../../src/ovsdb/index.js';

let dir: WorkDir;
let pki: Pki;
let server: OvsdbServer;
const clients: OvsdbClient[] = [];

beforeAll(async () => {
  // Short path: ovs-pki puts the path into the certificate CN, which is limited to 64 bytes.
  dir = await makeWorkDir('s');
  pki = await createPki(dir.path);
  server = await startOvsdbServer({ schema: VSWITCH_SCHEMA, name: 'ssl', remotes: ['punix', 'pssl'], pki });
  await server.transact([
    { op: 'insert', table: 'Open_vSwitch', row: { bridges: ['named-uuid', 'b'] } },
    { op: 'insert', table: 'Bridge', row: { name: 'br-ssl' }, 'uuid-name': 'b' },
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server.stop();
  await removeWorkDir(dir);
});

function client(extra: Partial<OvsdbClientOptions>): OvsdbClient {
  const c = new OvsdbClient({
    remotes: server.sslRemote as string,
    database: 'Open_vSwitch',
    tables: { Bridge: {} },
    backoff: { minMs: 100, maxMs: 300 },
    ...extra,
  });
  clients.push(c);
  c.start();
  return c;
}

describe('OvsdbClient over ssl', () => {
  it('verifies the CA but not the host name of OVS-PKI certificates (H1)', async () => {
    const c = client({
      tls: { caCertFile: pki.caCert, certFile: pki.clientCert, privateKeyFile: pki.clientKey },
    });
    await c.ready();
    expect(
      c
        .table('Bridge')
        .all()
        .map((r) => r['name']),
    ).toEqual(['br-ssl']);
    // With host name verification (Node's default) the same certificates are refused.
    const material = {
      ca: await readFile(pki.caCert),
      cert: await readFile(pki.clientCert),
      key: await readFile(pki.clientKey),
    };
    const strict = await RpcConnection.open(parseRemote(server.sslRemote as string), {
      tls: { ...material, verifyHostname: true },
    }).catch((e: unknown) => e);
    expect(strict).toBeInstanceOf(ConnectionClosedError);
    expect((strict as Error).message).toMatch(/altnames|Hostname|IP/i);
    // A CA that did not sign the server certificate is refused.
    const wrongCa = await RpcConnection.open(parseRemote(server.sslRemote as string), {
      tls: { ...material, ca: material.cert },
    }).catch((e: unknown) => e);
    expect(wrongCa).toBeInstanceOf(ConnectionClosedError);
  });

  it('reports a close right after the handshake as a probable certificate rejection and keeps retrying (H2)', async () => {
    const warnings: string[] = [];
    const states: ClientState[] = [];
    const c = new OvsdbClient({
      remotes: server.sslRemote as string,
      database: 'Open_vSwitch',
      tables: { Bridge: {} },
      backoff: { minMs: 100, maxMs: 300 },
      tls: async () => ({ ca: await readFile(pki.caCert) }),
    });
    clients.push(c);
    c.on('warning', (w) => warnings.push(w));
    c.on('state', (s) => states.push(s));
    c.start();
    await waitUntil(() => warnings.filter((w) => /certificate/.test(w)).length >= 2, {
      timeoutMs: 10_000,
      description: 'two rejections',
    });
    expect(states).toContain('backoff');
    expect(c.state).not.toBe('monitoring');
    await c.close();
  });

  it('re-reads the certificate files on every connect (H3)', async () => {
    const keyFile = join(dir.path, 'rotating-key.pem');
    const certFile = join(dir.path, 'rotating-cert.pem');
    await writeFile(keyFile, 'not a key');
    await writeFile(certFile, 'not a certificate');
    const c = client({ tls: { caCertFile: pki.caCert, certFile, privateKeyFile: keyFile } });
    const warnings: string[] = [];
    c.on('warning', (w) => warnings.push(w));
    await waitUntil(() => warnings.length >= 1, {
      timeoutMs: 10_000,
      description: 'a failed attempt with the bad files',
    });
    expect(c.state).not.toBe('monitoring');
    await copyFile(pki.clientKey, keyFile);
    await copyFile(pki.clientCert, certFile);
    await c.ready();
    expect(c.table('Bridge').size).toBe(1);
  });
});

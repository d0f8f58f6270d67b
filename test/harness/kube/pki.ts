/**
 * Key material for a test API server, made with openssl: a throw-away CA, a serving certificate
 * for 127.0.0.1 signed by it, and the service-account token signing key pair. EC P-256 keys
 * throughout, because generating them takes milliseconds (an RSA key can take a second).
 */
import { join } from 'node:path';
import { runCommand } from '../exec.js';

export interface KubePki {
  /** CA certificate (PEM) that clients use to verify the API server. */
  readonly caCert: string;
  readonly caKey: string;
  /** Serving certificate with subjectAltNames 127.0.0.1, ::1, localhost and kubernetes.default.svc. */
  readonly servingCert: string;
  readonly servingKey: string;
  /** Private key signing service-account tokens, and its public half that verifies them. */
  readonly serviceAccountKey: string;
  readonly serviceAccountPublicKey: string;
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Subject alternative names the serving certificate carries. */
export const SERVING_CERT_NAMES = [
  'IP:127.0.0.1',
  'IP:::1',
  'DNS:localhost',
  'DNS:kubernetes',
  'DNS:kubernetes.default',
  'DNS:kubernetes.default.svc',
] as const;

/** Writes the files into `dir` (which must exist and belong to the caller). */
export async function createKubePki(dir: string, env: Readonly<Record<string, string>>): Promise<KubePki> {
  const pki: KubePki = {
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    servingCert: join(dir, 'apiserver.crt'),
    servingKey: join(dir, 'apiserver.key'),
    serviceAccountKey: join(dir, 'service-account.key'),
    serviceAccountPublicKey: join(dir, 'service-account.pub'),
  };
  const options = { env, cwd: dir };
  // Two days: long enough for any test run, short enough that a leaked key is worthless.
  const days = ['-days', '2'];
  await Promise.all([
    runCommand(
      'openssl',
      [
        'req',
        '-x509',
        ...EC_KEY,
        '-keyout',
        pki.caKey,
        '-out',
        pki.caCert,
        ...days,
        '-subj',
        '/CN=ovn-plug-agent test CA',
      ],
      options,
    ),
    runCommand(
      'openssl',
      ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', pki.serviceAccountKey],
      options,
    ),
  ]);
  await Promise.all([
    runCommand(
      'openssl',
      [
        'req',
        '-x509',
        '-CA',
        pki.caCert,
        '-CAkey',
        pki.caKey,
        ...EC_KEY,
        '-keyout',
        pki.servingKey,
        '-out',
        pki.servingCert,
        ...days,
        '-subj',
        '/CN=kube-apiserver',
        '-addext',
        `subjectAltName=${SERVING_CERT_NAMES.join(',')}`,
        '-addext',
        'extendedKeyUsage=serverAuth',
        '-addext',
        'basicConstraints=critical,CA:FALSE',
      ],
      options,
    ),
    runCommand(
      'openssl',
      ['pkey', '-in', pki.serviceAccountKey, '-pubout', '-out', pki.serviceAccountPublicKey],
      options,
    ),
  ]);
  return pki;
}

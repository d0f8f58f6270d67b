/**
 * One Node release for the image and for the second test pass (ADR 0095): the Dockerfile's
 * NODE_IMAGE and scripts/node-lts.sh name the same version, and what the project claims about
 * Node (package.json `engines`, install-deps' minimum, the docs) agrees with it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (path: string): string => readFileSync(path, 'utf8');

function match(text: string, pattern: RegExp, what: string): string {
  const m = pattern.exec(text);
  if (m?.[1] === undefined) throw new Error(`${what} not found (pattern ${String(pattern)})`);
  return m[1];
}

const imageVersion = match(
  read('Dockerfile'),
  /^ARG NODE_IMAGE=node:(\d+\.\d+\.\d+)-bookworm-slim$/m,
  'Dockerfile ARG NODE_IMAGE=node:<x.y.z>-bookworm-slim',
);
const testedVersion = match(
  read('scripts/node-lts.sh'),
  /^readonly NODE_LTS_VERSION=(\d+\.\d+\.\d+)$/m,
  'scripts/node-lts.sh NODE_LTS_VERSION',
);
const imageMajor = Number(imageVersion.split('.')[0]);

describe('the Node release of the image', () => {
  it('is the one the test command runs the tests on', () => {
    expect(testedVersion).toBe(imageVersion);
  });

  it('is an even (LTS) major at least 26, on Debian 12 like the supported machines', () => {
    expect(imageMajor % 2).toBe(0);
    expect(imageMajor).toBeGreaterThanOrEqual(26);
  });

  it('is admitted by package.json engines, whose minimum is the one install-deps enforces', () => {
    const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
    const minimum = Number(match(engines, /^>=(\d+)$/, 'engines.node ">=N"'));
    expect(minimum).toBeLessThanOrEqual(imageMajor);
    expect(
      Number(match(read('scripts/install-deps.sh'), /^need_node_major=(\d+)$/m, 'need_node_major')),
    ).toBe(minimum);
  });

  it('is the one the chart and docs name', () => {
    expect(read('docs/kubernetes.md')).toContain(`node:${imageVersion}-bookworm-slim`);
    expect(read('deploy/helm/ovn-plug-agent/values.yaml')).toContain(`Node.js ${imageMajor} LTS`);
  });
});

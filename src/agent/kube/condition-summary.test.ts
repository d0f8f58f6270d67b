import { describe, expect, it } from 'vitest';
import { summarizeConditions } from './condition-summary.js';
import { port, snapshot } from './testing/status-builders.js';

describe('summarizeConditions', () => {
  it.each([
    {
      name: 'southbound down wins over everything',
      status: snapshot({
        sb: { state: 'backoff', synced: false, reconnects: 3 },
        ports: [port('a', { state: 'Failed' })],
      }),
      ready: {
        status: 'False',
        reason: 'SouthboundDisconnected',
        message: 'Southbound database tcp:127.0.0.1:6642 is backoff (3 reconnects so far)',
      },
    },
    {
      name: 'SB connected but not synced names the chassis it waits for (e.g. a new system-id)',
      status: { ...snapshot({ sb: { synced: false } }), chassis: 'dpu-7' },
      ready: {
        status: 'False',
        reason: 'SouthboundNotSynced',
        message:
          'Southbound database tcp:127.0.0.1:6642 is connected but the port bindings of chassis dpu-7 have not arrived yet (is there a Chassis row named dpu-7? ovn-controller creates it)',
      },
    },
    {
      name: 'OVS connected but not synced',
      status: snapshot({ ovs: { synced: false } }),
      ready: { status: 'False', reason: 'OvsDbNotSynced' },
    },
    {
      name: 'no ports',
      status: snapshot(),
      ready: {
        status: 'True',
        reason: 'AllPortsBound',
        message: 'connected to both databases; no port is requested on this node',
      },
    },
    {
      name: 'unbound ports counted by state, Unplugging not wanted',
      status: snapshot({
        ports: [
          port('b', { state: 'Plugging' }),
          port('a', { state: 'Pending' }),
          port('c'),
          port('d', { state: 'Unplugging' }),
        ],
      }),
      ready: {
        status: 'False',
        reason: 'PortsNotBound',
        message: '2 of 3 requested ports are not Bound: 1 Plugging (b); 1 Pending (a)',
      },
    },
  ])('Ready: $name', ({ status, ready }) => {
    expect(summarizeConditions(status)[0]).toMatchObject({ type: 'OvnPlugReady', ...ready });
  });

  it('names the first few ports per state and counts the rest', () => {
    const ports = Array.from({ length: 8 }, (_, i) => port(`lp${i}`, { state: 'Failed' }));
    const [, degraded] = summarizeConditions(snapshot({ ports }), { maxNames: 3 });
    expect(degraded).toEqual({
      type: 'OvnPlugDegraded',
      status: 'True',
      reason: 'PortsFailed',
      message: '8 Failed (lp0, lp1, lp2 and 5 more)',
    });
  });

  it('takes the most severe reason and lists every problem in the message', () => {
    const status = snapshot({
      ports: [
        port('p', { state: 'Pending' }),
        port('f', { state: 'Failed' }),
        port('c', { state: 'Conflict' }),
      ],
      providers: [{ type: 'representor', available: false, reason: 'devlink not found' }],
      heldRemovals: { count: 40, untilMs: Date.parse('2026-11-25T10:01:00Z') },
    });
    const [, degraded] = summarizeConditions(status);
    expect(degraded).toMatchObject({ status: 'True', reason: 'PortConflict' });
    expect(degraded?.message).toBe(
      '1 Conflict (c); 1 Failed (f); 1 Pending (p); provider representor unavailable: devlink not found; removal of 40 ports held until 2026-11-25T10:01:00.000Z',
    );
  });

  it('reports an unavailable provider even with no ports', () => {
    const [, degraded] = summarizeConditions(
      snapshot({ providers: [{ type: 'representor', available: false }] }),
    );
    expect(degraded).toMatchObject({
      status: 'True',
      reason: 'ProviderUnavailable',
      message: 'provider representor unavailable',
    });
  });
});

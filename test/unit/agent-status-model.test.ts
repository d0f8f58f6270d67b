import { describe, expect, it } from 'vitest';
import { derivePortState, PortStatusModel, type PortFacts } from '../../src/agent/status/model.js';

const iface = (over: Partial<NonNullable<PortFacts['iface']>> = {}): NonNullable<PortFacts['iface']> => ({
  name: 'lsp1',
  ovnInstalled: false,
  ...over,
});

describe('derivePortState', () => {
  it.each<[string, PortFacts, string, string]>([
    [
      'blocked keeps the planner state and reason',
      {
        logicalPort: 'lsp1',
        provider: 'dummy',
        phase: {
          kind: 'blocked',
          state: 'Pending',
          reason: 'ProviderUnavailable',
          message: 'provider "x" is not registered',
        },
      },
      'Pending',
      'ProviderUnavailable',
    ],
    [
      'plug in flight is Plugging',
      { logicalPort: 'lsp1', provider: 'dummy', phase: { kind: 'inTransaction', operation: 'plug' } },
      'Plugging',
      'TransactionInFlight',
    ],
    [
      'unplug in flight is Unplugging',
      {
        logicalPort: 'lsp1',
        provider: 'dummy',
        phase: { kind: 'inTransaction', operation: 'unplug' },
        iface: iface({ ofport: 3 }),
      },
      'Unplugging',
      'TransactionInFlight',
    ],
    [
      'transaction error is Failed',
      {
        logicalPort: 'lsp1',
        provider: 'dummy',
        phase: { kind: 'transactionFailed', message: 'constraint violation' },
      },
      'Failed',
      'TransactionFailed',
    ],
    [
      'no interface yet is Pending',
      { logicalPort: 'lsp1', provider: 'dummy', phase: { kind: 'steady' } },
      'Pending',
      'Queued',
    ],
    [
      'no ofport yet is Plugged',
      { logicalPort: 'lsp1', provider: 'dummy', phase: { kind: 'steady' }, iface: iface() },
      'Plugged',
      'WaitingForOfport',
    ],
    [
      'ofport without ovn-installed is Plugged',
      { logicalPort: 'lsp1', provider: 'dummy', phase: { kind: 'steady' }, iface: iface({ ofport: 5 }) },
      'Plugged',
      'WaitingForOvnController',
    ],
    [
      'ofport and ovn-installed is Bound',
      {
        logicalPort: 'lsp1',
        provider: 'dummy',
        phase: { kind: 'steady' },
        iface: iface({ ofport: 5, ovnInstalled: true }),
      },
      'Bound',
      'Bound',
    ],
    [
      'ofport and Port_Binding.up is Bound',
      {
        logicalPort: 'lsp1',
        provider: 'dummy',
        phase: { kind: 'steady' },
        iface: iface({ ofport: 5 }),
        portBindingUp: true,
      },
      'Bound',
      'Bound',
    ],
    [
      'ofport -1 is Failed',
      { logicalPort: 'lsp1', provider: 'dummy', phase: { kind: 'steady' }, iface: iface({ ofport: -1 }) },
      'Failed',
      'NoOfport',
    ],
    [
      'Interface.error is Failed',
      {
        logicalPort: 'lsp1',
        provider: 'dummy',
        phase: { kind: 'steady' },
        iface: iface({ ofport: -1, error: 'could not open network device lsp1 (No such device)' }),
      },
      'Failed',
      'InterfaceError',
    ],
    [
      'held removal keeps the interface state',
      {
        logicalPort: 'lsp1',
        provider: 'dummy',
        phase: { kind: 'removalHeld', untilMs: 0, cause: 'resync' },
        iface: iface({ ofport: 5, ovnInstalled: true }),
      },
      'Bound',
      'RemovalHeld',
    ],
    [
      'admin_state down on a bound interface is Down (admin first)',
      {
        logicalPort: 'lsp1',
        provider: 'dummy',
        phase: { kind: 'steady' },
        iface: iface({ ofport: 5, ovnInstalled: true, adminState: 'down', linkState: 'down' }),
      },
      'Down',
      'AdminDown',
    ],
    [
      'link_state down alone (carrier lost, admin up) is Down',
      {
        logicalPort: 'lsp1',
        provider: 'dummy',
        phase: { kind: 'steady' },
        iface: iface({ ofport: 5, ovnInstalled: true, adminState: 'up', linkState: 'down' }),
      },
      'Down',
      'LinkDown',
    ],
    [
      'the provider seeing the device down (representor operstate) is Down',
      {
        logicalPort: 'lsp1',
        provider: 'representor',
        phase: { kind: 'steady' },
        iface: iface({
          ofport: 5,
          ovnInstalled: true,
          linkState: 'up',
          providerLink: { up: false, reason: 'representor netdev "pf0vf1" has operstate down' },
        }),
      },
      'Down',
      'DeviceLinkDown',
    ],
    [
      'both up and bound is Bound',
      {
        logicalPort: 'lsp1',
        provider: 'dummy',
        phase: { kind: 'steady' },
        iface: iface({ ofport: 5, ovnInstalled: true, adminState: 'up', linkState: 'up' }),
      },
      'Bound',
      'Bound',
    ],
    [
      'Interface.error wins over a down link',
      {
        logicalPort: 'lsp1',
        provider: 'dummy',
        phase: { kind: 'steady' },
        iface: iface({ ofport: -1, error: 'no such device', linkState: 'down' }),
      },
      'Failed',
      'InterfaceError',
    ],
  ])('%s', (_name, facts, state, reason) => {
    const observed = derivePortState(facts);
    expect(observed.state).toBe(state);
    expect(observed.reason).toBe(reason);
  });

  it('quotes the interface error verbatim', () => {
    const error = 'could not open network device lsp1 (No such device)';
    expect(
      derivePortState({
        logicalPort: 'lsp1',
        provider: 'dummy',
        phase: { kind: 'steady' },
        iface: iface({ error }),
      }).message,
    ).toBe(error);
  });
});

describe('PortStatusModel', () => {
  it('measures plug and bind latency from first sighting and keeps sinceMs while the state holds', () => {
    let now = 1000;
    const model = new PortStatusModel({ now: () => now });
    const obs = (state: 'Pending' | 'Plugging' | 'Plugged' | 'Bound', reason: string = state) => ({
      logicalPort: 'lsp1',
      provider: 'dummy',
      state,
      reason,
      message: reason,
    });

    expect(model.update([obs('Pending')])).toMatchObject([{ logicalPort: 'lsp1', to: 'Pending' }]);
    now = 1100;
    model.update([obs('Plugging')]);
    now = 1250;
    const plugged = model.update([obs('Plugged')]);
    expect(plugged).toMatchObject([{ from: 'Plugging', to: 'Plugged', plugLatencyMs: 250 }]);
    now = 1300;
    const reasonOnly = model.update([obs('Plugged', 'WaitingForOvnController')]);
    expect(reasonOnly).toHaveLength(1);
    expect(model.get('lsp1')?.sinceMs).toBe(1250);
    now = 1400;
    const bound = model.update([obs('Bound')]);
    expect(bound).toMatchObject([{ to: 'Bound', bindLatencyMs: 400 }]);
    expect(bound[0]?.plugLatencyMs).toBeUndefined();
    expect(model.get('lsp1')).toMatchObject({
      firstSeenMs: 1000,
      sinceMs: 1400,
      plugLatencyMs: 250,
      bindLatencyMs: 400,
    });
    expect(model.update([obs('Bound')])).toEqual([]);
  });

  it('counts a port that jumps straight to Bound for both latencies', () => {
    let now = 0;
    const model = new PortStatusModel({ now: () => now });
    model.update([{ logicalPort: 'a', provider: 'dummy', state: 'Plugging', reason: 'x', message: 'x' }]);
    now = 70;
    expect(
      model.update([{ logicalPort: 'a', provider: 'dummy', state: 'Bound', reason: 'Bound', message: 'm' }]),
    ).toMatchObject([{ plugLatencyMs: 70, bindLatencyMs: 70 }]);
  });

  it('does not measure latency for ports already bound when first seen (agent restart)', () => {
    let now = 0;
    const model = new PortStatusModel({ now: () => now });
    model.update([{ logicalPort: 'a', provider: 'dummy', state: 'Plugged', reason: 'x', message: 'x' }]);
    now = 50;
    const t = model.update([
      { logicalPort: 'a', provider: 'dummy', state: 'Bound', reason: 'Bound', message: 'm' },
    ]);
    expect(t[0]?.bindLatencyMs).toBeUndefined();
    expect(model.get('a')?.bindLatencyMs).toBeUndefined();
  });

  it('reports ports that leave the set and sorts the snapshot', () => {
    const model = new PortStatusModel({ now: () => 0 });
    model.update([
      { logicalPort: 'b', provider: 'dummy', state: 'Bound', reason: 'Bound', message: '' },
      { logicalPort: 'a', provider: 'dummy', state: 'Bound', reason: 'Bound', message: '' },
    ]);
    expect(model.ports().map((p) => p.logicalPort)).toEqual(['a', 'b']);
    const t = model.update([
      { logicalPort: 'a', provider: 'dummy', state: 'Bound', reason: 'Bound', message: '' },
    ]);
    expect(t).toMatchObject([{ logicalPort: 'b', from: 'Bound' }]);
    expect(t[0]?.to).toBeUndefined();
    expect(model.get('b')).toBeUndefined();
  });
});

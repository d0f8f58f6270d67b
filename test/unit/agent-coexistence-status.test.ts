/**
 * Coexistence with ovn-controller's built-in plugging (DESIGN §3.5, §3.5a) in the status vocabulary:
 * the flag, the observed state of an observe-mode port, the node conditions (never degraded by
 * ovn-controller's ports) and the `pluggedByOvnController` mark the alerts' degrading rule reads.
 */
import { describe, expect, it } from 'vitest';
import {
  derivePortState,
  PortStatusModel,
  isPluggedByOvnController,
  parseCommandLine,
  PLUGGED_BY_OVN_CONTROLLER,
  type InterfaceFacts,
} from '../../src/agent/index.js';
import { summarizeConditions } from '../../src/agent/kube/index.js';
import { port, snapshot } from '../../src/agent/kube/testing/status-builders.js';
import { planPorts, type PlugProvider } from '../../src/plug/index.js';
import { DummyProvider } from '../../src/providers/dummy/index.js';
import { BR_INT, binding, emptyWorld, planInputOf, withInterface } from './plug-test-world.js';

describe('--observe-plug-types', () => {
  it('takes a comma-separated list of plug types, from the flag or its environment twin', () => {
    const flag = parseCommandLine(['--observe-plug-types=representor, dummy'], {});
    expect(flag.ok && flag.config.observePlugTypes).toEqual(['representor', 'dummy']);
    const env = parseCommandLine([], { OVN_PLUG_AGENT_OBSERVE_PLUG_TYPES: 'representor' });
    expect(env.ok && env.config.observePlugTypes).toEqual(['representor']);
    const none = parseCommandLine([], {});
    expect(none.ok && none.config.observePlugTypes).toEqual([]);
  });

  it.each([
    [['--observe-plug-types=representor,,dummy'], 'empty plug type in "representor,,dummy"'],
    [['--observe-plug-types=dummy,dummy'], 'plug type listed twice in "dummy,dummy"'],
    [
      ['--observe-plug-types=representor', '--ownership-marker=ovn-plugged'],
      '--observe-plug-types: "representor" cannot be combined with --ownership-marker=ovn-plugged',
    ],
  ])('rejects %j naming the bad value', (argv, message) => {
    const parsed = parseCommandLine(argv, {});
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.errors.join('\n')).toContain(message);
  });
});

describe('the observed state of a port ovn-controller plugged (observe mode)', () => {
  const iface = (fields: Partial<InterfaceFacts>): InterfaceFacts => ({
    name: 'vm1',
    ovnInstalled: false,
    ...fields,
  });
  const observed = (facts: InterfaceFacts, portBindingUp = false) =>
    derivePortState({
      logicalPort: 'vm1',
      provider: 'representor',
      phase: { kind: 'pluggedByOvnController' },
      iface: facts,
      ...(portBindingUp ? { portBindingUp } : {}),
    });

  it.each([
    ['Bound', iface({ ofport: 4, ovnInstalled: true }), false],
    ['Bound', iface({ ofport: 4 }), true],
    ['Plugged', iface({}), false],
    ['Plugged', iface({ ofport: 4 }), false],
    ['Failed', iface({ ofport: -1 }), false],
  ])('is %s from its interface, with the reason naming ovn-controller', (state, facts, up) => {
    const obs = observed(facts, up);
    expect(obs).toMatchObject({ state, reason: PLUGGED_BY_OVN_CONTROLLER, interfaceName: 'vm1' });
    expect(obs.message).toMatch(/^plugged by ovn-controller's built-in plugging \(observe mode\): /);
  });

  it('an interface error is Failed with the error verbatim in the message', () => {
    const obs = observed(iface({ ofport: -1, error: 'could not open network device vm1 (No such device)' }));
    expect(obs.state).toBe('Failed');
    expect(obs.message).toContain('could not open network device vm1 (No such device)');
  });

  it('the planner’s plug-mode reason is the same word as the status vocabulary’s', () => {
    const { world } = withInterface(emptyWorld(), BR_INT, 'vm1', {
      externalIds: { 'iface-id': 'vm1', 'ovn-plugged': 'dummy' },
    });
    const provider: PlugProvider = new DummyProvider();
    const plan = planPorts(
      planInputOf(world, [binding('vm1', { 'requested-chassis': 'hv1', 'vif-plug-type': 'dummy' })], {
        providers: () => ({ kind: 'available', provider }),
        config: { ownershipKey: 'ovn-plug-agent', canRemove: true },
      }),
    );
    expect(plan.blocked[0]?.reason).toBe(PLUGGED_BY_OVN_CONTROLLER);
  });
});

describe('node conditions (DESIGN §3.5): ports plugged by ovn-controller never degrade', () => {
  const byOvnController = (name: string, state: 'Conflict' | 'Bound' | 'Failed' | 'Plugged') => ({
    ...port(name, { state, reason: PLUGGED_BY_OVN_CONTROLLER }),
    pluggedByOvnController: true,
  });

  it('plug mode: a Conflict naming ovn-controller is not a problem; a foreign interface still is', () => {
    const status = snapshot({ ports: [port('a'), byOvnController('b', 'Conflict')] });
    const [ready, degraded] = summarizeConditions(status);
    expect(degraded).toMatchObject({
      status: 'False',
      reason: 'NoPortProblems',
      message:
        "no port is Pending, Failed or in Conflict and every provider is available (1 port plugged by ovn-controller's built-in plugging not counted)",
    });
    // Ready still tells the truth: the agent did not plug b.
    expect(ready).toMatchObject({ status: 'False', reason: 'PortsNotBound' });
    expect(ready?.message).toContain('1 Conflict (b)');
    const foreign = snapshot({
      ports: [port('a'), port('c', { state: 'Conflict', reason: 'ForeignInterface' })],
    });
    expect(summarizeConditions(foreign)[1]).toMatchObject({ status: 'True', reason: 'PortConflict' });
  });

  it('observe mode: observed ports count as Bound for Ready and never degrade, whatever their state', () => {
    const bound = snapshot({ ports: [byOvnController('a', 'Bound'), byOvnController('b', 'Bound')] });
    expect(summarizeConditions(bound)[0]).toMatchObject({ status: 'True', reason: 'AllPortsBound' });
    const failed = snapshot({ ports: [byOvnController('a', 'Bound'), byOvnController('b', 'Failed')] });
    const [ready, degraded] = summarizeConditions(failed);
    expect(ready).toMatchObject({ status: 'False' });
    expect(ready?.message).toContain('1 Failed (b)');
    expect(degraded).toMatchObject({ status: 'False' });
    // The agent's own failed port beside them still degrades.
    const own = snapshot({ ports: [byOvnController('b', 'Failed'), port('c', { state: 'Failed' })] });
    expect(summarizeConditions(own)[1]).toMatchObject({ status: 'True', reason: 'PortsFailed' });
    expect(summarizeConditions(own)[1]?.message).toBe('1 Failed (c)');
  });

  it('isPluggedByOvnController reads PortStatus.pluggedByOvnController', () => {
    expect(isPluggedByOvnController(byOvnController('a', 'Bound'))).toBe(true);
    expect(isPluggedByOvnController(port('a', { reason: PLUGGED_BY_OVN_CONTROLLER }))).toBe(false);
  });
});

describe('PortStatus.pluggedByOvnController (what the degrading rule and the alerts read)', () => {
  it('is set for both modes and only for them, and kept by the status model', () => {
    const model = new PortStatusModel({ now: () => 1 });
    const iface: InterfaceFacts = { name: 'p', ofport: 3, ovnInstalled: true };
    model.update([
      derivePortState({
        logicalPort: 'observed',
        provider: 'dummy',
        phase: { kind: 'pluggedByOvnController' },
        iface,
      }),
      derivePortState({
        logicalPort: 'taken',
        provider: 'dummy',
        phase: { kind: 'blocked', state: 'Conflict', reason: PLUGGED_BY_OVN_CONTROLLER, message: 'm' },
        iface,
      }),
      derivePortState({
        logicalPort: 'foreign',
        provider: 'dummy',
        phase: { kind: 'blocked', state: 'Conflict', reason: 'ForeignInterface', message: 'm' },
        iface,
      }),
      derivePortState({ logicalPort: 'own', provider: 'dummy', phase: { kind: 'steady' }, iface }),
    ]);
    expect(model.ports().map((p) => [p.logicalPort, p.state, p.pluggedByOvnController])).toEqual([
      ['foreign', 'Conflict', undefined],
      ['observed', 'Bound', true],
      ['own', 'Bound', undefined],
      ['taken', 'Conflict', true],
    ]);
  });
});

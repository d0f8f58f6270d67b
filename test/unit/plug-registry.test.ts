/**
 * Provider registry: the error cases of upstream's registry (duplicate → EEXIST, unknown →
 * EINVAL), init failure → registered as unavailable, and per-provider isolation of run()
 * failures (throw, rejection, hang, non-boolean) with backoff. Time is injected, so hangs and
 * backoff are exercised without waiting.
 */
import { describe, expect, it } from 'vitest';
import {
  DuplicateProviderError,
  InvalidProviderError,
  ProviderRegistry,
  UnknownProviderError,
  type Clock,
  type PlugAnswer,
  type PlugProvider,
  type Timers,
} from '../../src/plug/index.js';
import { DummyProvider } from '../../src/providers/dummy/index.js';

/** Injected time for the registry: `advance()` moves the clock and fires due timers. */
function fakeTime(startMs = 1_000_000): Clock & Timers & { advance(ms: number): Promise<void> } {
  let now = startMs;
  let timers: Array<{ due: number; callback: () => void; cancelled: boolean }> = [];
  return {
    now: () => now,
    setTimer(callback, delayMs) {
      const timer = { due: now + delayMs, callback, cancelled: false };
      timers.push(timer);
      return {
        cancel: () => {
          timer.cancelled = true;
        },
      };
    },
    async advance(ms) {
      // Like real timers, never fire before pending promise callbacks have run.
      await flush();
      now += ms;
      const due = timers.filter((t) => !t.cancelled && t.due <= now);
      timers = timers.filter((t) => !due.includes(t));
      for (const timer of due) timer.callback();
      await flush();
    },
  };
}

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: Error) => void } {
  let resolve: (value: T) => void = () => undefined;
  let reject: (error: Error) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function provider(type: string, overrides: Partial<PlugProvider> = {}): PlugProvider {
  return {
    type,
    maintainedIfaceOptions: () => [],
    prepare: (): PlugAnswer => ({ kind: 'ready', name: type, options: {} }),
    ...overrides,
  };
}

function registry(time = fakeTime()): { registry: ProviderRegistry; time: ReturnType<typeof fakeTime> } {
  return {
    registry: new ProviderRegistry({
      clock: time,
      timers: time,
      runTimeoutMs: 100,
      lifecycleTimeoutMs: 500,
      backoffInitialMs: 1_000,
      backoffMaxMs: 4_000,
    }),
    time,
  };
}

describe('register / unregister / get / list', () => {
  it('registers a provider as available and looks it up by type', async () => {
    const { registry: r } = registry();
    const dummy = new DummyProvider();
    await expect(r.register(dummy)).resolves.toMatchObject({ type: 'dummy', available: true });
    expect(r.lookup('dummy')).toEqual({ kind: 'available', provider: dummy });
    expect(r.provider('dummy')).toBe(dummy);
    expect(r.lookup('nosuch')).toBeUndefined();
    expect(r.list()).toEqual([{ type: 'dummy', available: true, consecutiveFailures: 0, running: false }]);
  });

  it('a duplicate type is rejected with DuplicateProviderError naming the type, the first stays', async () => {
    const { registry: r } = registry();
    const first = provider('dup');
    await r.register(first);
    const error = await r.register(provider('dup')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DuplicateProviderError);
    expect((error as DuplicateProviderError).message).toContain('"dup"');
    expect(r.provider('dup')).toBe(first);
  });

  it('a duplicate registered while the first is still initializing is rejected too', async () => {
    const { registry: r } = registry();
    const init = deferred<void>();
    const pending = r.register(provider('slow', { init: () => init.promise }));
    expect(r.get('slow')).toMatchObject({ available: false, reason: 'initializing' });
    await expect(r.register(provider('slow'))).rejects.toBeInstanceOf(DuplicateProviderError);
    init.resolve();
    await expect(pending).resolves.toMatchObject({ available: true });
  });

  it.each<[string, unknown, string]>([
    [
      'no type',
      { prepare: () => undefined, maintainedIfaceOptions: () => [] },
      'non-empty string "type", got undefined',
    ],
    ['an empty type', { type: '', prepare: () => undefined, maintainedIfaceOptions: () => [] }, 'got ""'],
    ['no prepare()', { type: 'x', maintainedIfaceOptions: () => [] }, 'provider "x" has no prepare() method'],
    [
      'a run that is not a function',
      { type: 'x', prepare: () => undefined, maintainedIfaceOptions: () => [], run: 5 },
      '"run" that is not a function',
    ],
    ['null', null, 'must be an object, got null'],
  ])(
    'registering a value with %s is rejected with InvalidProviderError naming it',
    async (_label, value, message) => {
      const { registry: r } = registry();
      // Plain-JS modules can hand us anything; the cast models exactly that.
      const error = await r.register(value as PlugProvider).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidProviderError);
      expect((error as Error).message).toContain(message);
      expect(r.list()).toEqual([]);
    },
  );

  it('unregistering an unknown type is rejected with UnknownProviderError naming the type', async () => {
    const { registry: r } = registry();
    const error = await r.unregister('dummy').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownProviderError);
    expect((error as Error).message).toContain('"dummy"');
  });

  it('unregister calls destroy() once and forgets the provider', async () => {
    const { registry: r } = registry();
    let destroyed = 0;
    await r.register(provider('p', { destroy: () => void (destroyed += 1) }));
    await r.unregister('p');
    expect(destroyed).toBe(1);
    expect(r.get('p')).toBeUndefined();
    expect(r.lookup('p')).toBeUndefined();
    await expect(r.unregister('p')).rejects.toBeInstanceOf(UnknownProviderError);
  });
  it('a provider unregistered while its init() runs is destroyed once init() finishes, and not registered', async () => {
    const { registry: r } = registry();
    const init = deferred<void>();
    let destroyed = 0;
    const pending = r.register(
      provider('late', { init: () => init.promise, destroy: () => void (destroyed += 1) }),
    );
    await r.unregister('late');
    expect(destroyed).toBe(0);
    init.resolve();
    await pending;
    expect(destroyed).toBe(1);
    expect(r.get('late')).toBeUndefined();
  });
});

describe('init failure -> registered as unavailable with the reason', () => {
  it.each<[string, Partial<PlugProvider>, string]>([
    [
      'throws',
      {
        init: () => {
          throw new Error('devlink: No such file or directory');
        },
      },
      'init failed: init() threw: devlink: No such file or directory',
    ],
    [
      'rejects',
      { init: () => Promise.reject(new Error('no switchdev')) },
      'init failed: init() rejected: no switchdev',
    ],
  ])('init() that %s', async (_label, overrides, reason) => {
    const { registry: r } = registry();
    await expect(r.register(provider('representor', overrides))).resolves.toMatchObject({
      available: false,
      reason,
    });
    expect(r.lookup('representor')).toEqual({ kind: 'unavailable', reason });
    expect(r.provider('representor')).toBeUndefined();
  });

  it('init() that hangs is unavailable after the lifecycle time limit', async () => {
    const { registry: r, time } = registry();
    const pending = r.register(provider('hang', { init: () => new Promise<void>(() => undefined) }));
    await time.advance(499);
    expect(r.get('hang')).toMatchObject({ available: false, reason: 'initializing' });
    await time.advance(1);
    await expect(pending).resolves.toMatchObject({
      available: false,
      reason: 'init failed: init() did not finish within 500 ms',
    });
  });

  it('an unavailable provider is never run and not destroyed', async () => {
    const { registry: r } = registry();
    let runs = 0;
    let destroyed = 0;
    await r.register(
      provider('bad', {
        init: () => {
          throw new Error('x');
        },
        run: () => (runs += 1) > 0,
        destroy: () => void (destroyed += 1),
      }),
    );
    await expect(r.runAll()).resolves.toEqual({ changed: [], failed: [], skipped: [] });
    await r.unregister('bad');
    expect([runs, destroyed]).toEqual([0, 0]);
  });
});

describe('runAll', () => {
  it('reports providers whose run() returned true; a throwing one fails alone', async () => {
    const { registry: r } = registry();
    await r.register(provider('changed', { run: () => true }));
    await r.register(provider('quiet', { run: () => Promise.resolve(false) }));
    await r.register(
      provider('throws', {
        run: () => {
          throw new Error('netlink ENOBUFS');
        },
      }),
    );
    await r.register(provider('norun'));
    const result = await r.runAll();
    expect(result).toEqual({
      changed: ['changed'],
      failed: [{ type: 'throws', message: 'run() threw: netlink ENOBUFS' }],
      skipped: [],
    });
    expect(r.get('throws')).toMatchObject({
      available: false,
      reason: 'run() threw: netlink ENOBUFS',
      consecutiveFailures: 1,
    });
    expect(r.lookup('throws')).toEqual({ kind: 'unavailable', reason: 'run() threw: netlink ENOBUFS' });
    expect(r.lookup('changed')).toMatchObject({ kind: 'available' });
  });

  it.each<[string, () => boolean | Promise<boolean>, string]>([
    ['rejects', () => Promise.reject(new Error('devlink gone')), 'run() rejected: devlink gone'],
    ['returns a non-boolean', () => 'yes' as unknown as boolean, 'run() returned "yes", not a boolean'],
  ])("a run() that %s is recorded as that provider's error", async (_label, run, message) => {
    const { registry: r } = registry();
    await r.register(provider('p', { run }));
    await r.register(provider('ok', { run: () => true }));
    await expect(r.runAll()).resolves.toEqual({
      changed: ['ok'],
      failed: [{ type: 'p', message }],
      skipped: [],
    });
  });

  it('a hanging run() times out without delaying others, and is not called again until it settles', async () => {
    const { registry: r, time } = registry();
    const hang = deferred<boolean>();
    let calls = 0;
    await r.register(provider('hang', { run: () => ((calls += 1), hang.promise) }));
    await r.register(provider('ok', { run: () => true }));
    const first = r.runAll();
    await time.advance(100);
    await expect(first).resolves.toEqual({
      changed: ['ok'],
      failed: [{ type: 'hang', message: 'run() did not finish within 100 ms' }],
      skipped: [],
    });
    expect(r.get('hang')).toMatchObject({ running: true, consecutiveFailures: 1 });
    await time.advance(5_000);
    await expect(r.runAll()).resolves.toMatchObject({ skipped: ['hang'] });
    expect(calls).toBe(1);
    hang.resolve(false);
    await flush();
    expect(r.get('hang')).toMatchObject({ running: false });
    await expect(r.runAll()).resolves.toEqual({ changed: ['ok'], failed: [], skipped: [] });
    expect(calls).toBe(2);
  });

  it('backs off exponentially after failures (1 s, 2 s, 4 s, capped) and resets after a success', async () => {
    const { registry: r, time } = registry();
    let fail = true;
    let calls = 0;
    await r.register(
      provider('flaky', {
        run: () => {
          calls += 1;
          if (fail) throw new Error('busy');
          return false;
        },
      }),
    );
    const expectedDelays = [1_000, 2_000, 4_000, 4_000];
    for (const delay of expectedDelays) {
      const start = time.now();
      await r.runAll();
      expect(r.get('flaky')?.nextRunAtMs).toBe(start + delay);
      await time.advance(delay - 1);
      await expect(r.runAll()).resolves.toMatchObject({ skipped: ['flaky'] });
      await time.advance(1);
    }
    expect(calls).toBe(4);
    fail = false;
    await expect(r.runAll()).resolves.toEqual({ changed: [], failed: [], skipped: [] });
    expect(r.get('flaky')).toEqual({
      type: 'flaky',
      available: true,
      consecutiveFailures: 0,
      running: false,
    });
  });

  it('answers lookup() as unavailable while run() fails, and tells onRunHealthChange on each flip only', async () => {
    const time = fakeTime();
    const flips: string[] = [];
    const r = new ProviderRegistry({
      clock: time,
      timers: time,
      runTimeoutMs: 100,
      backoffInitialMs: 1_000,
      backoffMaxMs: 4_000,
      onRunHealthChange: (type) => flips.push(type),
    });
    let fail = true;
    await r.register(
      provider('flaky', {
        run: () => {
          if (fail) throw new Error('devlink monitor died');
          return false;
        },
      }),
    );
    expect(r.lookup('flaky')).toMatchObject({ kind: 'available' });
    await r.runAll();
    expect(r.lookup('flaky')).toEqual({ kind: 'unavailable', reason: 'run() threw: devlink monitor died' });
    expect(flips).toEqual(['flaky']);
    await time.advance(1_000);
    await r.runAll();
    expect(flips).toEqual(['flaky']);
    fail = false;
    await time.advance(2_000);
    await r.runAll();
    expect(r.lookup('flaky')).toMatchObject({ kind: 'available' });
    expect(r.get('flaky')).toMatchObject({ available: true, consecutiveFailures: 0 });
    expect(flips).toEqual(['flaky', 'flaky']);
  });
});

describe('destroyAll', () => {
  it('destroys every provider even when one destroy() throws or hangs, and empties the registry', async () => {
    const { registry: r, time } = registry();
    const destroyed: string[] = [];
    await r.register(provider('a', { destroy: () => void destroyed.push('a') }));
    await r.register(
      provider('b', {
        destroy: () => {
          throw new Error('b broke');
        },
      }),
    );
    await r.register(provider('c', { destroy: () => new Promise<void>(() => undefined) }));
    await r.register(
      provider('d', { destroy: () => Promise.resolve().then(() => void destroyed.push('d')) }),
    );
    const done = r.destroyAll();
    await flush();
    expect(r.list()).toEqual([]);
    await time.advance(500);
    await done;
    expect(destroyed.sort()).toEqual(['a', 'd']);
  });
});

describe('options', () => {
  it('rejects a non-positive time limit naming the option and value', () => {
    expect(() => new ProviderRegistry({ runTimeoutMs: 0 })).toThrow(
      'runTimeoutMs must be a positive number of milliseconds, got 0',
    );
  });
});

/**
 * Test-framework glue without importing a framework: pass vitest's (or node:test's) `beforeAll`
 * and `afterAll`, get a getter for the started component. Teardown also stops everything else
 * started through the registry during the suite, so a test that failed before its own `stop()`
 * leaks nothing into the next suite; servers of enclosing suites are left alone.
 */
import { defaultRegistry, type ProcessRegistry, type Stoppable } from './process.js';
import { startSandbox, type Sandbox, type SandboxOptions } from './sandbox.js';

/** The two suite hooks the harness needs; vitest's `beforeAll`/`afterAll` fit. */
export interface SuiteHooks {
  beforeAll(fn: () => Promise<void>, timeoutMs?: number): void;
  afterAll(fn: () => Promise<void>, timeoutMs?: number): void;
}

/**
 * Starts a component in `beforeAll` and stops it (and whatever else the suite started through
 * `registry`) in `afterAll`. The returned getter throws if called before the component has started.
 */
export function useHarness<T extends Stoppable>(
  hooks: SuiteHooks,
  start: () => Promise<T>,
  registry: ProcessRegistry = defaultRegistry(),
): () => T {
  let component: T | undefined;
  let mark = 0;
  hooks.beforeAll(async () => {
    mark = registry.mark();
    component = await start();
  }, 60_000);
  hooks.afterAll(async () => {
    try {
      await component?.stop();
    } finally {
      // Whatever the suite started and did not stop (a test that failed midway, say).
      await registry.stopAll(mark);
    }
  }, 60_000);
  return () => {
    if (component === undefined) throw new Error('harness component used before beforeAll started it');
    return component;
  };
}

/** {@link useHarness} for a {@link startSandbox} sandbox. */
export function useSandbox(hooks: SuiteHooks, options: SandboxOptions = {}): () => Sandbox {
  return useHarness(hooks, () => startSandbox(options), options.registry);
}

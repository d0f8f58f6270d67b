import { defineConfig } from 'vitest/config';

// Integration tests start real servers (ovsdb-server, ovn-northd, ovs-vswitchd, ovn-controller,
// kube-apiserver): long timeouts, and files run one at a time because the machine has 2 cores.
export default defineConfig({
  test: {
    include: ['test/integration/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    teardownTimeout: 30_000,
  },
});

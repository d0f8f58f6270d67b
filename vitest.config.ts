import { defineConfig } from 'vitest/config';

// Unit tests: pure modules, next to the code (src/**/*.test.ts) or under test/unit.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/unit/**/*.test.ts', 'examples/**/*.test.ts'],
    testTimeout: 20_000,
  },
});

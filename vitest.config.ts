import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // End-to-end suites start real processes and ports; two workers fit the 2-core CI machine.
    maxWorkers: 2,
    reporters: ['default'],
  },
});

import { defineConfig } from 'vitest/config';

// Two groups: everything else in parallel first, then the few tests that take a
// shared service away from everyone (a broker restart), one file at a time.
export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 20_000,
    projects: [
      {
        extends: true,
        test: { name: 'parallel', include: ['test/**/*.test.ts'], exclude: ['test/**/*.exclusive.test.ts'], sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'exclusive', include: ['test/**/*.exclusive.test.ts'], fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});

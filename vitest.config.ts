import { defineConfig } from 'vitest/config';

// One test runner for the whole repo. Unit tests sit next to the code (`*.test.ts`);
// integration tests against real servers are `*.int.test.ts` and run in the same pass.
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', '**/.ssdk/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});

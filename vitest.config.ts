import { defineConfig } from 'vitest/config';

// One test runner for the whole repo. Unit tests sit next to the code (`*.test.ts`);
// integration tests against real servers are `*.int.test.ts` and run in the same pass.
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    // `*.acceptance.test.ts`: full-size or not-yet-stable cases, run by `npm run test:acceptance:distributed`.
    exclude: ['**/node_modules/**', '**/dist/**', '**/.ssdk/**', '**/*.acceptance.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});

import { defineConfig } from 'vitest/config';

// `npm run test:acceptance:distributed`: the distributed runtime's acceptance tests at full size
// (SSDK_CRASH_SENTENCES=100000) plus the `*.acceptance.test.ts` cases kept out of CI's gate.
// Same settings as vitest.config.ts; only the files differ.
export default defineConfig({
  test: {
    include: ['apps/operator/src/*.int.test.ts', '**/*.acceptance.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', '**/.ssdk/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});

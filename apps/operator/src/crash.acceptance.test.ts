/**
 * Crash test of the distributed runtime (issue 5's acceptance): as crash.int.test.ts, with a
 * random operator process killed three times, each during a different window, at the acceptance
 * size. Same harness and verdict (word-count.testkit.ts: `distributedCrash`, `expectGolden`).
 *
 * Size: SSDK_CRASH_SENTENCES (default 100 000, what `npm run test:acceptance:distributed` sets).
 */
import { describe, it } from 'vitest';
import { distributedCrash } from './word-count.testkit.ts';

const SENTENCES = Number(process.env['SSDK_CRASH_SENTENCES'] ?? 100_000);

describe('operator crash (kill -9 and restart), three kills', () => {
  it(`operator - a random operator process killed three times mid-stream (${SENTENCES} sentences): sinks and state equal golden`, async () => {
    const r = await distributedCrash({ sentences: SENTENCES, kills: 3 });
    console.log(`crash test (three kills): ${SENTENCES} sentences in ${r.ms} ms; killed ${r.kills.join('; ')}`);
  }, 900_000);
});

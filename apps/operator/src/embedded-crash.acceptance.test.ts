/**
 * Crash test of the embedded runtime (issue 14's acceptance), on the distributed crash test's
 * input and verdict: `ssdk run --until-idle` of the word-count example is killed with SIGKILL three
 * times at random moments, each time run again with `--resume` on the same input file; the last
 * run ends. Its sinks and committed state must equal the reference exactly. Same harness as the
 * one-kill case in CI (embedded-crash.int.test.ts) and the distributed crash tests
 * (word-count.testkit.ts: `embeddedCrash`, `expectGolden`).
 *
 * Size: SSDK_CRASH_SENTENCES (default 20 000). Each kill falls within 400 ms of records flowing;
 * a run that ends before its kill starts the scenario again from nothing with kills twice as early
 * (`embeddedCrash`), so all three land while there is work left however quick the run is.
 */
import { describe, it } from 'vitest';
import { embeddedCrash } from './word-count.testkit.ts';

const SENTENCES = Number(process.env['SSDK_CRASH_SENTENCES'] ?? 20_000);

describe('embedded crash (kill -9 and --resume), three kills', () => {
  it(`run - killed three times mid-run (${SENTENCES} sentences) and resumed on the same input: sinks and state equal golden`, async () => {
    const r = await embeddedCrash({ sentences: SENTENCES, kills: 3, maxKillMs: 400 });
    console.log(`embedded crash test (three kills): ${SENTENCES} sentences in ${r.ms} ms; ${r.kills.join('; ')}`);
  }, 600_000);
});

/**
 * Crash test of the embedded runtime, one kill (CI's gate), on the distributed crash test's input
 * and verdict: `ssdk run --until-idle` of the word-count example is killed with SIGKILL once at a
 * random moment of its processing, then run again with `--resume` on the same input file to the
 * end. Its sinks (top words per window, late events) and committed state must equal the reference
 * exactly (`expectGolden`): the embedded runtime commits at consistent cuts through the
 * partitioned checkpoint store, with what its sinks got up to the cut; a resumed run publishes
 * that again and skips what was committed. Three kills: embedded-crash.acceptance.test.ts.
 *
 * Size: SSDK_CRASH_SENTENCES (default 20 000).
 */
import { describe, it } from 'vitest';
import { embeddedCrash } from './word-count.testkit.ts';

const SENTENCES = Number(process.env['SSDK_CRASH_SENTENCES'] ?? 20_000);

describe('embedded crash (kill -9 and --resume)', () => {
  it(`run - killed once mid-run (${SENTENCES} sentences) and resumed on the same input: sinks and state equal golden`, async () => {
    // Early in the processing, so the kill lands before a small input is done.
    const r = await embeddedCrash({ sentences: SENTENCES, kills: 1, maxKillMs: 300 });
    console.log(`embedded crash test (one kill): ${SENTENCES} sentences in ${r.ms} ms; ${r.kills.join('; ')}`);
  }, 300_000);
});

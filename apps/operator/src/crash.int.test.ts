/**
 * Crash test of the distributed runtime, one kill (CI's gate): every operator unit of the
 * word-count example runs as its own `ssdk operator` process over 4 partitions; while the
 * sentences stream in, a random process is killed with SIGKILL once, at a random moment, and
 * restarted. Committed offsets (in the same transaction as the state), fenced leases and
 * deterministic message ids must make the sinks and the state tables equal the reference
 * exactly: nothing lost, nothing duplicated. The three-kill case at full size is
 * crash.acceptance.test.ts; both share the harness and the verdict of the embedded crash tests
 * (word-count.testkit.ts: `distributedCrash`, `expectGolden`).
 *
 * Size: SSDK_CRASH_SENTENCES (default 4 000 over 4 windows here: most of the time is the processes'
 * starts, so CI stays quick).
 */
import { describe, it } from 'vitest';
import { distributedCrash } from './word-count.testkit.ts';

const SENTENCES = Number(process.env['SSDK_CRASH_SENTENCES'] ?? 4_000);

describe('operator crash (kill -9 and restart)', () => {
  it(`operator - a random operator process killed once mid-stream (${SENTENCES} sentences): sinks and state equal golden`, async () => {
    const r = await distributedCrash({ sentences: SENTENCES, kills: 1, windows: 4 });
    console.log(`crash test (one kill): ${SENTENCES} sentences in ${r.ms} ms; killed ${r.kills.join('; ')}`);
  }, 300_000);
});

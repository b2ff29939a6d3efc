/**
 * Native functions keep their limits in both runtimes: a function that never returns is stopped at
 * `function-timeout` and a promise a function leaves behind that rejects (a fire-and-forget
 * `fetch()`) fails its record; either record is dead-lettered with the reason and its own offset,
 * its state change is not kept, and the partition goes on. The host loop runs on the two data
 * paths, records carried in process (the embedded runtime) and frames on NATS JetStream
 * (operator services), as in bad-records.int.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { cleanupsAfterAll, runOnBothPaths } from './dataflow.testkit.ts';

// Nothing listens on 40201 (h2's range): the request fails after the function returned.
const SERVICES = `apiVersion: 0.5.0
meta: {name: native-limits, namespace: test, version: 0.1.0}
config:
  isolation: native
types:
  word: {type: string}
topics:
  words: {schema: {value: {type: word}}}
  kept: {schema: {value: {type: word}}}
services:
  count:
    sources: [{type: topic, id: words}]
    states:
      per-word:
        type: keyed-state
        properties: {key: {type: string}, value: {type: u32}}
    transforms:
      - operator: map
        function-timeout: 10s
        run: |
          function send(w: string): string {
            if (w === 'reject') void Promise.reject(new Error('boom'));
            if (w === 'fetch') void fetch('http://127.0.0.1:40201/');
            return w;
          }
    partition:
      assign-key:
        run: |
          function byWord(w: string): string {
            return w;
          }
      update-state:
        function-timeout: 200ms
        run: |
          function addUp(w: string, ctx: Ctx): void {
            ctx.state('per-word').increment(1);
            if (w === 'spin') {
              while (true) {}
            }
          }
    sinks: [{type: topic, id: kept}]
`;

const INPUT = ['a', 'spin', 'reject', 'b', 'fetch', 'a'];

const cleanups = cleanupsAfterAll();

describe('runtime - native function limits', () => {
  it('runtime - a runaway function and a rejected fire-and-forget promise dead-letter their records, in process and on NATS alike', async () => {
    const records = INPUT.map((w) => ({ key: null, value: JSON.stringify(w), timestamp: 1_000 }));
    const [inProcess, onNats] = await runOnBothPaths(SERVICES, records, cleanups);

    for (const r of [inProcess, onNats]) {
      // records in = out + dead letters
      expect(r.recordsIn).toBe(INPUT.length);
      expect(r.topics.kept!.length + r.dead.length).toBe(INPUT.length);
      expect(r.topics.kept).toEqual(['a', 'b', 'a']);
      expect(r.dead.map((d) => d.reason)).toEqual([
        'unhandled rejection: boom',
        'unhandled rejection: TypeError: fetch failed',
        'timed out after 200 ms (function-timeout)',
      ]);
      // Each names its own record: 'reject' and 'fetch' in the source's message, 'spin' second of what the unit before the state (send and its key step) passed on.
      expect(r.dead.map((d) => [d.input.topic, d.input.seq, d.input.index])).toEqual([
        ['words', 1, 2],
        ['words', 1, 4],
        ['count.send.out', 1, 1],
      ]);
      // 'spin' counted itself before it looped: not kept.
      expect(r.state).toEqual({ a: 2, b: 1 });
    }
  });

  it('runtime - records read as messages of their own, run together under one limit, get the same verdicts, each naming its own message', async () => {
    const records = INPUT.map((w) => ({ key: null, value: JSON.stringify(w), timestamp: 1_000 }));
    const [inProcess, onNats] = await runOnBothPaths(SERVICES, records, cleanups, {}, { oneRecordPerMessage: true });
    for (const r of [inProcess, onNats]) {
      expect(r.recordsIn).toBe(INPUT.length);
      expect(r.topics.kept).toEqual(['a', 'b', 'a']);
      // The messages that made a promise, or held the runaway, were run again one by one: each
      // verdict names its record's own message.
      expect(r.dead.map((d) => [d.reason, d.input.topic, d.input.seq, d.input.index])).toEqual([
        ['unhandled rejection: boom', 'words', 3, 0],
        ['unhandled rejection: TypeError: fetch failed', 'words', 5, 0],
        ['timed out after 200 ms (function-timeout)', 'count.send.out', 2, 0],
      ]);
      expect(r.state).toEqual({ a: 2, b: 1 });
    }
  });
});

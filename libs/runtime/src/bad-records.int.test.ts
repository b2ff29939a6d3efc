/**
 * Records that fail after their function — a key the state cannot store, an output no frame can
 * hold — go to the dead-letter topic with the reason and their own offset, and the partition goes
 * on; a record whose output is refused leaves no state change behind. The same harness runs the host loop on the two data paths: records carried in process (the
 * embedded runtime) and frames on NATS JetStream (operator services); both give the same verdict.
 */
import { describe, expect, it } from 'vitest';
import { UNREADABLE_HEADER, type OutRecord } from '@ssdk/records';
import { cleanupsAfterAll, runOnBothPaths } from './dataflow.testkit.ts';

const SERVICES = `apiVersion: 0.5.0
meta: {name: bad-records, namespace: test, version: 0.1.0}
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
        run: |
          function grow(w: string): string {
            return w === 'big' ? 'x'.repeat(2_000_000) : w;
          }
    partition:
      assign-key:
        run: |
          function byWord(w: string): string {
            return (w === 'seven' ? 7 : w.slice(0, 10)) as unknown as string;
          }
      transforms:
        - operator: map
          run: |
            function shout(w: string): string {
              return (w === 'odd' ? 42 : w) as unknown as string;
            }
      update-state:
        run: |
          function addUp(w: string, ctx: Ctx): void {
            ctx.state('per-word').increment(1);
          }
    sinks: [{type: topic, id: kept}]
`;

const INPUT = ['a', 'seven', 'big', 'odd', 'b', 'a'];

const cleanups = cleanupsAfterAll();

const words = (list: string[]): OutRecord[] => list.map((w) => ({ key: null, value: JSON.stringify(w), timestamp: 1_000 }));

// One unit after the shuffle (fused): split a line into words and count each. 'boom' throws in
// the count after the line's first word was counted and after its own increment: the whole line
// is one dead letter and neither increment stays.
const ROLLBACK_SERVICES = `apiVersion: 0.5.0
meta: {name: rollback, namespace: test, version: 0.1.0}
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
    partition:
      assign-key:
        run: |
          function all(l: string): string {
            return 'k';
          }
      transforms:
        - operator: flat-map
          run: |
            function words(l: string): string[] {
              return l.split(' ');
            }
      update-state:
        run: |
          function addUp(w: string, ctx: Ctx): void {
            ctx.state('per-word').increment(1);
            if (w === 'boom') throw new Error('boom is not a word');
          }
    sinks: [{type: topic, id: kept}]
`;

describe('runtime - bad records after the function', () => {
  it('runtime - a key the state cannot store and an output no frame holds are dead-lettered with their offsets, in process and on NATS alike', async () => {
    const [inProcess, onNats] = await runOnBothPaths(SERVICES, words(INPUT), cleanups);

    for (const r of [inProcess, onNats]) {
      // records in = out + dead letters (nothing is late here)
      expect(r.recordsIn).toBe(INPUT.length);
      expect(r.topics.kept!.length + r.dead.length).toBe(INPUT.length);
      expect(r.topics.kept).toEqual(['a', 'b', 'a']);
      // The output is refused where it is made (the map's unit), the key where it is stored.
      expect(r.dead.map((d) => d.reason)).toEqual([
        expect.stringMatching(/^count\.grow produced a record of \d+ bytes for topic `count\.grow\.out`, over the frame limit of 900000 bytes/),
        // Settled first: a refused output sends its message through the chain again without it.
        expect.stringMatching(/^count\.add-up returned a value that does not fit topic `kept`: expected string, got the number 42/),
        expect.stringMatching(/has string keys, got the number 7/),
      ]);
      // Each dead letter names its own record: the message and the record's place in it ('big'
      // is third of the source's message; 'seven' second of what the map before the state passed on).
      expect(r.dead.map((d) => [d.input.topic, d.input.seq, d.input.index])).toEqual([
        ['words', 1, 2],
        ['count.shout.out', 1, 2],
        ['count.shout.out', 1, 1],
      ]);
      // Neither the refused key nor the record whose output was refused changed state (its
      // update ran before its output was refused); the cut dead letter says how large the value was.
      expect(r.state).toEqual({ a: 2, b: 1 });
      expect(r.dead[0]!.truncated!.bytes).toBe(2_000_002);
    }
    expect(onNats.dead.map((d) => d.input)).toEqual(inProcess.dead.map((d) => d.input));
  });

  it('runtime - a record made of a bad input line is dead-lettered with its file and line by its first reader, in process and on NATS alike', async () => {
    // What `ssdk produce` and `ssdk run --input` make of a line that is not a record: its bytes, marked.
    const line = (value: string, bad?: string): OutRecord => ({ key: null, value, timestamp: 1_000, ...(bad ? { headers: { [UNREADABLE_HEADER]: bad } } : {}) });
    const input = [line('"a"'), line('{"oops', 'in.jsonl:2: not valid JSON'), line('"b"'), line('"c"', 'in.jsonl:4: not UTF-8 text')];
    const [inProcess, onNats] = await runOnBothPaths(SERVICES, input, cleanups);
    for (const r of [inProcess, onNats]) {
      expect(r.recordsIn).toBe(input.length);
      expect(r.topics.kept).toEqual(['a', 'b']);
      expect(r.dead.map((d) => [d.reason, d.input.seq, d.input.index])).toEqual([
        ['in.jsonl:2: not valid JSON', 1, 1],
        ['in.jsonl:4: not UTF-8 text', 1, 3],
      ]);
      expect(r.state).toEqual({ a: 1, b: 1 });
    }
  });

  it('runtime - a step that throws after earlier steps of its chain wrote state takes those writes (and its other outputs) back, in process and on NATS alike', async () => {
    const lines = ['a b', 'a boom', 'b', 'a'];
    const [inProcess, onNats] = await runOnBothPaths(ROLLBACK_SERVICES, words(lines), cleanups, { fuse: true });
    for (const r of [inProcess, onNats]) {
      // 'a boom' leaves nothing: not the count of its first word, not its own, not the output 'a'.
      expect(r.state).toEqual({ k: 4 });
      expect(r.topics.kept).toEqual(['a', 'b', 'b', 'a']);
      expect(r.dead.map((d) => [d.reason, d.input.topic, d.input.index])).toEqual([[expect.stringContaining('boom is not a word'), 'words', 1]]);
      // records in = out + dead letters, counted in lines at the unit that splits them
      expect(r.recordsIn).toBe(lines.length);
    }
  });

  it('runtime - records read as messages of their own get the verdicts they get in one message: a refused one takes back what it and the messages run with it wrote, in process and on NATS alike', async () => {
    const [inProcess, onNats] = await runOnBothPaths(SERVICES, words(INPUT), cleanups, {}, { oneRecordPerMessage: true });
    for (const r of [inProcess, onNats]) {
      expect(r.recordsIn).toBe(INPUT.length);
      expect(r.topics.kept).toEqual(['a', 'b', 'a']);
      // Each dead letter names its own message ('big' the third of the source's; 'seven' and
      // 'odd' the second and third the map before the state passed on), in the order read.
      expect(r.dead.map((d) => [d.reason, d.input.topic, d.input.seq, d.input.index])).toEqual([
        [expect.stringMatching(/^count\.grow produced a record of \d+ bytes/), 'words', 3, 0],
        [expect.stringMatching(/has string keys, got the number 7/), 'count.shout.out', 2, 0],
        [expect.stringMatching(/^count\.add-up returned a value that does not fit topic `kept`/), 'count.shout.out', 3, 0],
      ]);
      expect(r.state).toEqual({ a: 2, b: 1 });
    }
    // Fewer guarded calls than messages: one by one, the first unit alone made one per message.
    expect(inProcess.guardedCalls).toBeLessThan(INPUT.length);

    // 'a boom', the second of four messages run together, is taken back with what the two after
    // it wrote: they run again after it, from the state it found.
    const lines = ['a b', 'a boom', 'b', 'a'];
    const rolledBack = await runOnBothPaths(ROLLBACK_SERVICES, words(lines), cleanups, { fuse: true }, { oneRecordPerMessage: true });
    for (const r of rolledBack) {
      expect(r.state).toEqual({ k: 4 });
      expect(r.topics.kept).toEqual(['a', 'b', 'b', 'a']);
      expect(r.dead.map((d) => [d.reason, d.input.topic, d.input.seq, d.input.index])).toEqual([[expect.stringContaining('boom is not a word'), 'words', 2, 0]]);
    }
  });
});

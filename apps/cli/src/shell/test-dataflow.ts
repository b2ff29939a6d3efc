/**
 * A tiny dataflow for the shell's tests: a keyed word counter (string topic in, keyed state)
 * and a 10-second tumbling window of sensor readings (u8 values, so 300 is dead-lettered).
 */
import { memoryCheckpointStore } from '@ssdk/runtime';
import { writeServicesFile } from '@ssdk/testing';
import { openSession, type Session } from '../embedded-session.ts';
import { bufferIo } from '../io.ts';
import { Shell } from './shell.ts';

export const SERVICES = `apiVersion: 0.5.0
meta: {name: shell-test, namespace: test, version: 0.1.0}
types:
  reading:
    type: object
    properties:
      sensor: {type: string}
      value: {type: u8}
  total:
    type: object
    properties:
      sensor: {type: string}
      sum: {type: u32}
topics:
  words: {schema: {value: {type: string}}}
  counted: {schema: {key: {type: string}, value: {type: string}}}
  readings: {schema: {value: {type: reading}}}
  totals: {schema: {value: {type: list, items: {type: total}}}}
services:
  count-words:
    sources: [{type: topic, id: words}]
    states:
      word-counts:
        type: keyed-state
        properties: {key: {type: string}, value: {type: u32}}
    partition:
      assign-key:
        run: |
          function byWord(word: string): string {
            return word;
          }
      update-state:
        run: |
          function countWord(word: string, ctx: Ctx): void {
            ctx.state('word-counts').increment();
          }
    sinks: [{type: topic, id: counted}]
  window-totals:
    sources: [{type: topic, id: readings}]
    states:
      in-window:
        type: keyed-state
        properties: {key: {type: string}, value: {type: u32}}
    window:
      tumbling: {duration: 10s}
      watermark: {grace-period: 1s}
      assign-timestamp:
        run: |
          function eventTime(r: Reading, t: number): number {
            return t;
          }
      partition:
        assign-key:
          run: |
            function bySensor(r: Reading): string {
              return r.sensor;
            }
        update-state:
          run: |
            function sumInWindow(r: Reading, ctx: Ctx): void {
              ctx.state('in-window').increment(r.value);
            }
      flush:
        run: |
          function totals(ctx: Ctx): Total[] {
            const out: Total[] = [];
            for (const [sensor, sum] of ctx.state('in-window').entries()) out.push({ sensor: String(sensor), sum: sum as number });
            return out.sort((a, b) => a.sensor.localeCompare(b.sensor));
          }
    sinks: [{type: topic, id: totals}]
`;

/** 2025-01-06T09:00:00Z */
export const T0 = 1_736_154_000_000;

/** The services file in a fresh temp dir. */
export function servicesDir(): Promise<{ dir: string; file: string }> {
  return writeServicesFile(SERVICES);
}

export interface TestShell {
  shell: Shell;
  session: Session;
  dir: string;
  /** Runs one line, returns everything it printed. */
  run(line: string): Promise<string>;
  close(): Promise<void>;
}

/** A shell on the test dataflow, state in memory (or PGlite under `stateDir`). */
export async function openTestShell(o: { stateDir?: string } = {}): Promise<TestShell> {
  const { dir, file } = await servicesDir();
  const session = await openSession({
    file,
    checkpoints: o.stateDir ? { kind: 'pglite', stateDir: o.stateDir, fresh: true } : { kind: 'memory', store: memoryCheckpointStore() },
    // The shell's behaviour does not depend on where functions run: no component to build here
    // (shell-main.test.ts runs the same dataflow sandboxed, as `ssdk run` does by default).
    isolation: 'native',
  });
  const shell = new Shell({ session, io: bufferIo(dir) });
  return {
    shell,
    session,
    dir,
    run: (line) => shell.runShellCommand(line),
    async close() {
      await session.close();
    },
  };
}

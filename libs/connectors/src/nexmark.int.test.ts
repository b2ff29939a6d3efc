/**
 * nexmark-source against the real NATS server: `ssdk connector run` publishes the events of
 * `@ssdk/nexmark` (what `ssdk nexmark` writes), each once, and ends its topic's input; killed
 * -9 mid-stream and started again it resumes at its saved position; started with no position
 * it publishes the same batches under the same ids, and the bus stores none of them twice.
 */
import { describe, expect, it } from 'vitest';
import { compileNexmarkOptions, nexmarkEvent, nexmarkEventTime } from '@ssdk/nexmark';
import { parseConnectorFile } from '@ssdk/spec';
import { uniqueName, until } from '@ssdk/testing';
import { ConnectorProcess, natsSuite, readTopicWhole } from './connectors.testkit.ts';
import { runConnector } from './run.ts';
import type { ConnectorStats } from './runtime.ts';

const suite = natsSuite('nexmark-source-test');
const repo = new URL('../../../', import.meta.url).pathname;

/** The events `ssdk nexmark` writes for these settings, as the source publishes them. */
function expectedEvents(count: number, settings: { seed: number; rate?: number; baseTime?: number }): Array<{ value: string; timestamp: number }> {
  const options = compileNexmarkOptions({ seed: settings.seed, ...(settings.rate !== undefined ? { eventsPerSecond: settings.rate } : {}), ...(settings.baseTime !== undefined ? { baseTime: settings.baseTime } : {}) });
  return Array.from({ length: count }, (_, n) => {
    const event = nexmarkEvent(n, options);
    return { value: JSON.stringify(event), timestamp: nexmarkEventTime(event) };
  });
}

const byTime = (a: { value: string; timestamp: number }, b: { value: string; timestamp: number }) => a.timestamp - b.timestamp || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0);

describe('nexmark-source', () => {
  it('nexmark-source - `ssdk connector run` of the example\'s inline connector publishes its 2,000 events once each, then ends the input and exits 0', async () => {
    const source = new ConnectorProcess(`${repo}examples/nexmark/q1/services.generated.yaml`, suite.nats, {}, ['--connector', 'events-in', '--partitions', '2']);
    source.start();
    expect(await source.exited()).toBe(0);
    expect(source.output).toContain('the input of `events` ends here');
    const { records, ended } = await readTopicWhole(suite.bus, 'events');
    expect(ended).toEqual([true, true]);
    expect(records.length).toBe(2000);
    expect([...records].sort(byTime)).toEqual(expectedEvents(2000, { seed: 1, rate: 50, baseTime: 1735718380000 }).sort(byTime));
  }, 120_000);

  it('nexmark-source - killed -9 mid-stream and started again, every event is on the topic once', async () => {
    const name = uniqueName('nexmark').replace(/_/g, '-');
    // Small batches, so the stream takes seconds and a kill lands in the middle of it.
    const events = 100_000;
    const file = suite.box.write(`${name}.yaml`, `meta: {version: latest, name: ${name}, type: nexmark-source, topic: ${name}}\nnexmark: {events: ${events}, seed: 3, batch: 20}\n`);
    const first = new ConnectorProcess(file, suite.nats, {}, ['--partitions', '3']);
    first.start();
    await until('the first batches', async () => (await suite.bus.topic(name)) !== undefined && (await suite.bus.lastSeq(name, 2)) > 0, 60_000, () => first.output);
    await first.kill9();
    // Killed before the end: else this test would prove nothing about a restart.
    expect(first.output).not.toContain('ends here');
    const second = new ConnectorProcess(file, suite.nats, {}, ['--partitions', '3']);
    second.start();
    expect(await second.exited(120_000)).toBe(0);
    expect(second.output).toMatch(/resuming at event [1-9]/);
    const { records, ended } = await readTopicWhole(suite.bus, name);
    expect(ended).toEqual([true, true, true]);
    expect(records.length).toBe(events);
    const expected = expectedEvents(events, { seed: 3 });
    const seen = new Set(records.map((r) => r.value));
    expect(seen.size).toBe(events);
    expect(expected.every((e) => seen.has(e.value))).toBe(true);
  }, 240_000);

  it('nexmark-source - a stop resumes at the saved position; a start with no position repeats the batches under the same ids, stored once', async () => {
    const name = uniqueName('nexmark').replace(/_/g, '-');
    const text = (consumer: string) => `meta: {version: latest, name: ${name}, type: nexmark-source, topic: ${name}, consumer: {id: ${consumer}}}\nnexmark: {events: 5000, seed: 9, batch: 100}\n`;
    const { connector, diagnostics } = parseConnectorFile(text(`${name}-a`), 'c.yaml');
    expect(diagnostics).toEqual([]);
    const stats: ConnectorStats = { records: 0, deadLetters: 0, retries: 0 };
    const stop = new AbortController();
    const running = runConnector(connector!, { bus: suite.bus, signal: stop.signal, stats, partitions: 2 });
    await until('some batches', () => stats.records >= 1000);
    stop.abort();
    await running;
    const stoppedAt = stats.records;
    expect(stoppedAt).toBeLessThan(5000);
    const lines: string[] = [];
    const again: ConnectorStats = { records: 0, deadLetters: 0, retries: 0 };
    await runConnector(connector!, { bus: suite.bus, stats: again, log: (l) => lines.push(l) });
    expect(lines.join('\n')).toContain(`resuming at event ${stoppedAt}`);
    expect(again.records).toBe(5000 - stoppedAt);
    // Another consumer id: no saved position, every batch again, under the ids it had.
    const other = parseConnectorFile(text(`${name}-b`), 'c.yaml').connector!;
    await runConnector(other, { bus: suite.bus });
    const { records, ended } = await readTopicWhole(suite.bus, name);
    expect(ended).toEqual([true, true]);
    expect(records.length).toBe(5000);
    expect([...records].sort(byTime)).toEqual(expectedEvents(5000, { seed: 9 }).sort(byTime));
  }, 120_000);
});

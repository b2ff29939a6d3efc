// A NATS server restart in the middle of a stream, on a private nats-server this test starts
// (its own port and store directory under the OS temp dir), so the machine's shared server and
// the other tests never see the outage. Fails with a hint where no nats-server binary is installed.
import { PrivateNatsServer } from '@ssdk/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusMessage } from './bus.ts';
import { BusUnavailableError } from './errors.ts';
import { createNatsBus, type NatsBus } from './nats.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('bus - nats adapter across a server restart', () => {
  const server = new PrivateNatsServer('ssdk-bus-nats');

  beforeAll(async () => {
    await server.start();
  });

  afterAll(async () => {
    await server.dispose();
  });

  it('bus - publishing and reading survive a restart mid-stream: nothing lost, nothing twice', async () => {
    const options = { servers: server.url, subjectPrefix: 'ssdk_restart', retryTimeoutMs: 30_000, retryMaxDelayMs: 300, reconnectMaxDelayMs: 300, publishTimeoutMs: 1_000 };
    const bus = await createNatsBus(options);
    try {
      await bus.ensureTopic({ name: 'events', partitions: 2 });
      const calls = 60;
      const perCall = 10;
      const expected: string[][] = [[], []];
      for (let c = 0; c < calls; c++) for (let i = 0; i < perCall; i++) expected[c % 2]!.push(String(c * perCall + i));

      let published = 0;
      const producer = (async () => {
        for (let c = 0; c < calls; c++, published++) {
          const messages = Array.from({ length: perCall }, (_, i) => ({ data: new TextEncoder().encode(String(c * perCall + i)), msgId: `m-${c}-${i}` }));
          await bus.publish('events', c % 2, messages);
          await sleep(20);
        }
      })();
      const consume = async (partition: number): Promise<BusMessage[]> => {
        const r = bus.read('events', partition);
        const got: BusMessage[] = [];
        const deadline = Date.now() + 60_000;
        try {
          while (got.length < expected[partition]!.length && Date.now() < deadline) {
            const batch = await r.fetch(50, 200);
            got.push(...batch);
            if (batch.length) await r.ack(batch.at(-1)!.seq);
          }
        } finally {
          await r.close();
        }
        return got;
      };
      const consumers = [consume(0), consume(1)];

      await sleep(500);
      await server.stop();
      const atStop = published;
      await sleep(1_500);
      // The producer was mid-stream and has been waiting on the outage since.
      expect(atStop).toBeGreaterThan(0);
      expect(published - atStop).toBeLessThanOrEqual(1);
      await server.start();

      await producer;
      const [p0, p1] = await Promise.all(consumers);
      for (const [p, got] of [p0!, p1!].entries()) {
        expect(got.map((m) => text(m.data))).toHaveLength(expected[p]!.length);
        expect(new Set(got.map((m) => text(m.data)))).toEqual(new Set(expected[p]));
        for (let i = 1; i < got.length; i++) expect(got[i]!.seq).toBeGreaterThan(got[i - 1]!.seq);
        expect(await bus.lastSeq('events', p)).toBe(got.at(-1)!.seq);
      }
    } finally {
      await bus.destroy();
    }
  }, 90_000);

  it('bus - gives up with a retryable BusUnavailableError when the server stays away', async () => {
    const bus: NatsBus = await createNatsBus({ servers: server.url, subjectPrefix: 'ssdk_gone', retryTimeoutMs: 1_500, retryMaxDelayMs: 200, reconnectMaxDelayMs: 200 });
    try {
      await bus.ensureTopic({ name: 't', partitions: 1 });
      await bus.publish('t', 0, [{ data: new Uint8Array([1]) }]);
      const r = bus.read('t', 0);
      expect(await r.fetch(10, 2_000)).toHaveLength(1);
      await server.stop();
      const t0 = Date.now();
      const error = await bus.publish('t', 0, [{ data: new Uint8Array([2]), msgId: 'two' }]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BusUnavailableError);
      expect(error).toMatchObject({ code: 'bus-unavailable', retryable: true, topic: 't', partition: 0 });
      expect(Date.now() - t0).toBeLessThan(10_000);
      await expect(bus.lastSeq('t', 0)).rejects.toThrow(BusUnavailableError);
      // The reader returns nothing while it waits, then reports the outage.
      let failure: unknown;
      const deadline = Date.now() + 10_000;
      while (!failure && Date.now() < deadline) {
        try {
          expect(await r.fetch(10, 200)).toEqual([]);
        } catch (e) {
          failure = e;
        }
      }
      expect(failure).toBeInstanceOf(BusUnavailableError);
      await r.close();
    } finally {
      await server.start();
      await bus.destroy();
    }
  }, 60_000);
});

// Closing NATS connections (real server: `NATS_URL`, or the local one at 127.0.0.1:4222).
import { testNats } from '@ssdk/testing';
import { describe, expect, it } from 'vitest';
import { connectControl } from './nats-control.ts';
import { createNatsBus } from './nats.ts';

/** The number of stack frames each `close trace` error nats.js makes while `close` runs was formatted with. */
async function closeTraceFrames(close: () => Promise<void>): Promise<number[]> {
  const seen: number[] = [];
  const before = Error.prepareStackTrace;
  Error.prepareStackTrace = (error, frames) => {
    if (error.message === 'close trace') seen.push(frames.length);
    return before ? before(error, frames) : String(error);
  };
  try {
    await close();
  } finally {
    Error.prepareStackTrace = before;
  }
  return seen;
}

describe('bus - closing a NATS connection', () => {
  it('bus - a bus and a control connection close without a stack for nats.js close trace (formatting it parsed the source maps of every file on it)', async () => {
    const nats = await testNats();
    const bus = await createNatsBus({ servers: nats.url, subjectPrefix: nats.prefix, storage: 'memory' });
    const control = await connectControl({ servers: nats.url });
    control.subscribe(`${nats.prefix}.heard`, () => {});
    expect(await closeTraceFrames(() => bus.close())).toEqual([0]);
    expect(await closeTraceFrames(() => control.close())).toEqual([0]);
  });

  it('bus - a control connection closed right after it sent a message still sends it (as nats.js drain did)', async () => {
    const nats = await testNats();
    const server = await connectControl({ servers: nats.url });
    const client = await connectControl({ servers: nats.url });
    const heard: unknown[] = [];
    client.subscribe(`${nats.prefix}.beat`, (body) => heard.push(body));
    // Answered once the client's subscription is known to the server (subscriptions go in order).
    client.serve(`${nats.prefix}.ping`, async () => 'pong');
    try {
      await expect.poll(() => server.request(`${nats.prefix}.ping`, null, { timeoutMs: 1_000 }).catch(() => 'not yet'), { timeout: 10_000 }).toBe('pong');
      server.publish(`${nats.prefix}.beat`, 'last');
      await server.close();
      await expect.poll(() => heard).toEqual(['last']);
    } finally {
      await server.close();
      await client.close();
    }
  });
});

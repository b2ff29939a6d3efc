import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ctxHttpServices, freePort, startCalloutServer, type CalloutServer } from '@ssdk/testing';
import type { Session } from './embedded-session.ts';
import { openTestSession } from './session.testkit.ts';

// A real HTTP server the functions call, on a port the OS finds free (a fixed one in the
// ephemeral range can be taken by an outgoing connection).
let PORT = 0;
let server: CalloutServer;

beforeEach(async () => {
  PORT = await freePort();
  server = await startCalloutServer(PORT);
});
afterEach(async () => {
  await server.close();
});

async function session(isolation: 'plan' | 'native'): Promise<Session> {
  return openTestSession(ctxHttpServices(server.url), { isolation, state: 'memory' });
}

async function probe(isolation: 'plan' | 'native') {
  const s = await session(isolation);
  const base = server.url;
  try {
    await s.df.produce('calls', [
      `${base}/echo`,
      `${base}/echo|post`,
      `${base}/flaky?fail=2&id=a`,
      `${base}/moved`,
      `${base}/slow?ms=3000|slow`,
      `${base}/big?bytes=5000|small`,
      `http://localhost:${PORT}/refused`,
      `file:///etc/passwd`,
    ].map((value, i) => ({ value, timestamp: 1000 + i })));
    await s.df.produce('strays', [{ value: `${base}/echo`, timestamp: 0 }]);
    await s.df.endInput();
    await s.df.ended();
    const answers = (await s.df.read('answers')).map((r) => r.value as string);
    const dead = (await s.df.read('caller.dead-letter')).map((r) => r.value as { operator: string; reason: string; offset?: number });
    const stray = (await s.df.read('stray.dead-letter')).map((r) => r.value as { reason: string });
    return { answers, dead, stray, hits: await server.hits() };
  } finally {
    await s.close();
  }
}

function expectProbe({ answers, dead, stray, hits }: Awaited<ReturnType<typeof probe>>): void {
  expect(answers, JSON.stringify(dead)).toEqual([
    `200 ${JSON.stringify({ method: 'GET', path: '/echo', body: '', header: 'yes' })}`,
    `200 ${JSON.stringify({ method: 'POST', path: '/echo', body: '{"n":1}', header: 'yes' })}`,
    // Two 503s, retried (GET retries twice by default).
    '200 ok after 2',
    // A redirect is not followed: its target could be outside the grant.
    '302 ',
  ]);
  expect(dead.map((d) => d.operator)).toEqual(['caller.call', 'caller.call', 'caller.call', 'caller.call']);
  const reasons = dead.map((d) => d.reason.replace(/ \(at .*\)$/, ''));
  expect(reasons[0]).toMatch(new RegExp(`^HttpTimeoutError: ctx\\.http: GET http://127\\.0\\.0\\.1:${PORT}/slow\\?ms=3000 timed out after 300 ms \\(3 attempts\\)`));
  expect(reasons[1]).toMatch(/^HttpTooLargeError: ctx\.http: GET .*\/big\?bytes=5000: the response \(5000 bytes\) is larger than 1000 bytes \(maxBytes\)/);
  expect(reasons[2]).toMatch(new RegExp(`^HttpRefusedError: ctx\\.http: host localhost:${PORT} is not in step \`caller\\.call\`'s http grant \\(127\\.0\\.0\\.1:${PORT}\\): add it with \`grants: \\[\\{http: \\[localhost:${PORT}\\]\\}\\]\``));
  expect(reasons[3]).toMatch(/^HttpRequestError: ctx\.http: only http and https URLs, not file:/);
  expect(stray.map((d) => d.reason)).toEqual([expect.stringMatching(/^GrantDeniedError: ctx\.http\(\) needs the `http` grant, which step `stray\.ungranted` does not have/)]);
  // The refused host (the same server by another name) saw no request; the ungranted step's /echo
  // neither (a sandboxed batch retried after a failed call may repeat a granted one: at least once).
  expect(hits['/refused']).toBeUndefined();
  expect(hits['/echo']).toBe(2);
  expect(hits['/slow']).toBeGreaterThanOrEqual(3);
  expect(hits['/flaky']).toBeGreaterThanOrEqual(3);
}

describe('ctx.http', () => {
  it('ctx.http - a sandboxed function calls its granted host: retries, timeout, size limit, refused host, each with its own dead-letter reason', async () => {
    expectProbe(await probe('plan'));
  }, 300_000);

  it('ctx.http - a native function gets the same blocking calls, limits and reasons', async () => {
    expectProbe(await probe('native'));
  }, 120_000);
});

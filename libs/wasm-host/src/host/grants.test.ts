import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryState, type ChainInput, type StepGrants } from '@ssdk/engine';
import { openKindsHost } from '../testing/fixture.ts';
import type { WasmBuild, WasmHost } from './host.ts';

// Grants: the clock, randomness and environment variables reach a sandboxed function only when
// its step is granted them; otherwise its record fails with a reason naming the missing grant.
let host: WasmHost;
let build: WasmBuild;

beforeAll(async () => {
  ({ host, build } = await openKindsHost());
}, 180_000);

afterAll(async () => {
  await host?.close();
});

const environment = { SSDK_GRANT_TEST: 'granted value', SSDK_OTHER: 'secret' };
const rec = (op: string): ChainInput => ({ key: null, value: { id: 1, amount: 900, note: 'n', op }, timestamp: 0 });

/** Runs `ops` through `kinds.risky` (or `kinds.reach-host`) with `grants`: each op's note, or its failure reason. */
async function run(ops: string[], grants?: StepGrants, id = 'kinds.risky'): Promise<string[]> {
  const c = (await build.componentFor([id]))!.chain({ steps: [{ id, operator: 'map', ...(grants ? { grants } : {}) }], timeoutMs: 5000, environment });
  try {
    const r = await c.run(ops.map(rec), new MemoryState());
    return ops.map((_, i) => {
      const out = r.outputs.find((o) => o.input === i);
      if (out) return (out.value as { note: string }).note;
      return `failed: ${r.failures.find((f) => f.input === i)?.reason ?? '?'}`;
    });
  } finally {
    c.close();
  }
}

describe('wasm-host - grants', () => {
  it('wasm-host - without grants, the clock, randomness and environment are refused with the missing grant named', async () => {
    const out = await run(['clock', 'new-date', 'ctx-now', 'random', 'ctx-random', 'random-bytes', 'env', 'plain']);
    const reasons = out.map((o) => o.replace(/ \(at .*\)$/, ''));
    const denied = (what: string, grant: string, example: string) =>
      `failed: GrantDeniedError: ${what} needs the \`${grant}\` grant, which this step does not have: add \`grants: [${example}]\` to the step (or to \`config\`)`;
    expect(reasons).toEqual([
      denied('Date.now()', 'clock', 'clock'),
      denied('new Date()', 'clock', 'clock'),
      denied('ctx.now()', 'clock', 'clock').replace('this step', 'step `kinds.risky`'),
      denied('Math.random()', 'random', 'random'),
      denied('ctx.random()', 'random', 'random').replace('this step', 'step `kinds.risky`'),
      denied('crypto.getRandomValues()', 'random', 'random'),
      denied('ctx.env("SSDK_GRANT_TEST")', 'env', 'env', ).replace('this step', 'step `kinds.risky`').replace('[env]', '[{env: [SSDK_GRANT_TEST]}]'),
      'n',
    ]);
    // The denial points at the user's line.
    expect(out[0]).toMatch(/\(at .*services\.yaml:\d+:\d+\)$/);
  });

  it('wasm-host - `clock` gives the wall clock to Date.now(), new Date() and ctx.now()', async () => {
    const before = Date.now();
    const out = (await run(['clock', 'new-date', 'ctx-now'], { clock: true })).map(Number);
    const after = Date.now();
    for (const t of out) {
      expect(t).toBeGreaterThanOrEqual(before);
      expect(t).toBeLessThanOrEqual(after);
    }
  });

  it('wasm-host - `random` gives fresh randomness to Math.random(), ctx.random() and crypto.getRandomValues()', async () => {
    const a = await run(['random', 'ctx-random', 'random-bytes'], { random: true });
    const b = await run(['random', 'ctx-random', 'random-bytes'], { random: true });
    for (const x of [a[0], a[1], b[0], b[1]].map(Number)) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
    expect(a[2]!.split(',')).toHaveLength(8);
    // Not the sandbox's fixed sequence: two runs differ.
    expect(a).not.toEqual(b);
  });

  it('wasm-host - `env` gives ctx.env the named variables only', async () => {
    expect(await run(['env', 'clock'], { env: ['SSDK_GRANT_TEST'] })).toEqual(['granted value', expect.stringMatching(/needs the `clock` grant/)]);
    const other = await run(['env'], { env: ['SSDK_OTHER'] });
    expect(other[0]).toMatch(/^failed: GrantDeniedError: ctx.env\("SSDK_GRANT_TEST"\) needs the `env` grant/);
  });

  it('wasm-host - code that calls the host imports itself is refused by the host unless granted', async () => {
    const [denied] = await run(['raw-env'], undefined, 'kinds.reach-host');
    expect(denied).toMatch(/^failed: trapped: .*environment variable SSDK_GRANT_TEST was refused: this chain's steps have no `env: \[SSDK_GRANT_TEST\]` grant/);
    expect(await run(['raw-env'], { env: ['SSDK_GRANT_TEST'] }, 'kinds.reach-host')).toEqual(['granted value']);
  });

  it('wasm-host - a guest that calls the http import itself reaches only the hosts its chain is granted', async () => {
    const [ungranted] = await run(['raw-http'], undefined, 'kinds.reach-host');
    expect(ungranted).toMatch(/^failed: trapped: .*ctx\.http was refused: this chain's steps have no `http` grant/);
    // Granted another host: the main thread refuses before any request (no connection attempt).
    const [other] = await run(['raw-http'], { http: ['example.com'] }, 'kinds.reach-host');
    expect(JSON.parse(other!)).toEqual({ kind: 'refused', error: "ctx.http: host 127.0.0.1:40899 is not in this chain's http grants" });
    // Granted it: the request is made (and finds nothing listening).
    const [granted] = await run(['raw-http'], { http: ['127.0.0.1:40899'] }, 'kinds.reach-host');
    expect(JSON.parse(granted!)).toMatchObject({ kind: 'failed', error: expect.stringMatching(/ctx\.http: GET http:\/\/127\.0\.0\.1:40899\/ failed: ECONNREFUSED/) });
  });
});

// StarlingMonkey has no Unicode property escapes of its own: the build rewrites them, so a
// faithful port of Rust's `is_alphanumeric` (`/\p{L}\p{N}/u`) builds and matches as in V8.
describe('wasm-host - Unicode property escapes', () => {
  it('wasm-host - `\\p{L}` and `\\p{N}` match letters and digits of any script in a sandboxed function', async () => {
    expect(await run(['letters'])).toEqual(['true false']);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryState } from '@ssdk/engine';
import { openKindsHost } from '../testing/fixture.ts';
import type { WasmBuild, WasmHost } from './host.ts';

// StarlingMonkey has no Unicode property escapes of its own: the build rewrites them, so a
// faithful port of Rust's `is_alphanumeric` (`/\p{L}\p{N}/u`) builds and matches as in V8.
let host: WasmHost;
let build: WasmBuild;

beforeAll(async () => {
  ({ host, build } = await openKindsHost());
}, 180_000);

afterAll(async () => {
  await host?.close();
});

describe('wasm-host - Unicode property escapes', () => {
  it('wasm-host - `\\p{L}` and `\\p{N}` match letters and digits of any script in a sandboxed function', async () => {
    const c = (await build.componentFor(['kinds.risky']))!.chain({ steps: [{ id: 'kinds.risky', operator: 'map' }], timeoutMs: 5000 });
    try {
      const r = await c.run([{ key: null, value: { id: 1, amount: 1, note: 'n', op: 'letters' }, timestamp: 0 }], new MemoryState());
      expect(r.failures).toEqual([]);
      expect((r.outputs[0]?.value as { note: string }).note).toBe('true false');
    } finally {
      c.close();
    }
  });
});

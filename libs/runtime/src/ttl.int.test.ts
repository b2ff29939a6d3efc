/**
 * `ttl` on keyed state: keys not written for that long are deleted, in the committed state
 * (PostgreSQL), counted from their last write, across a restart (the clock of a loaded key is
 * its row's `updated_at`).
 */
import { describe, expect, it } from 'vitest';
import { openPostgresStore, type StateStore } from '@ssdk/state';
import { testPostgres, until } from '@ssdk/testing';
import { memoryCheckpointStore, type CheckpointStore } from './checkpoint.ts';
import { startEmbedded } from './embedded.ts';
import { cleanupsAfterAll, planNative } from './dataflow.testkit.ts';

/** The dataflow, its `last-page` state expiring after `ttlMs`. */
const services = (ttlMs: number) => `apiVersion: 0.6.0
meta: {name: sessions, namespace: test, version: 0.1.0}
types:
  visit:
    type: object
    properties:
      user: {type: string}
      page: {type: string}
topics:
  visits: {schema: {value: {type: visit}}}
services:
  track:
    sources: [{type: topic, id: visits}]
    states:
      last-page:
        type: keyed-state
        properties:
          key: {type: string}
          value:
            type: arrow-row
            ttl: ${ttlMs}ms
            properties:
              page: {type: string}
      pages-ever:
        type: keyed-state
        properties: {key: {type: string}, value: {type: u32}}
    partition:
      assign-key:
        run: |
          function byUser(v: Visit): string {
            return v.user;
          }
      update-state:
        run: |
          function remember(v: Visit, ctx: Ctx): void {
            ctx.state('last-page').set({ page: v.page });
            ctx.state('pages-ever').increment(1);
          }
`;

const cleanups = cleanupsAfterAll();

/** Starts the dataflow committing to `stored` (a state store, through the embedded runtime's cuts) or to a checkpoint store. */
async function start(stored: () => Promise<CheckpointStore | StateStore>, ttlMs = 1500) {
  const { plan, functions } = await planNative(services(ttlMs));
  expect(plan.states.find((s) => s.name === 'last-page')?.ttlMs).toBe(ttlMs);
  const to = await stored();
  return startEmbedded({
    plan,
    ...('loadState' in to ? { checkpoints: to } : { store: to }),
    isolation: 'native',
    functions,
  });
}

const visit = (user: string, page: string) => ({ value: { user, page } });

describe('runtime - state ttl', () => {
  it('runtime - a key not written for its ttl is deleted; a written one lives on; a state without ttl keeps everything', async () => {
    const checkpoints = memoryCheckpointStore();
    const df = await start(async () => checkpoints);
    await df.produce('visits', [visit('ada', '/home'), visit('bob', '/home')]);
    await df.idle();
    const t0 = Date.now();
    // Ada keeps visiting, Bob does not.
    while (Date.now() - t0 < 2500) {
      await df.produce('visits', [visit('ada', `/p${Date.now() - t0}`)]);
      await new Promise((r) => setTimeout(r, 250));
    }
    await df.idle();
    const keys = async (state: string) => {
      const seen = new Map<unknown, unknown>();
      await checkpoints.loadState('', [{ name: state, table: `track_${state.replace('-', '_')}`, access: 'read' }], { load: (_s: string, k: unknown, v: unknown) => seen.set(k, v) } as never);
      return seen;
    };
    expect([...(await keys('last-page')).keys()]).toEqual(['ada']);
    expect([...(await keys('pages-ever')).keys()].sort()).toEqual(['ada', 'bob']);
    await df.stop();
  });

  it('runtime - in PostgreSQL, the rows expire from their commit time, across a restart', async () => {
    const pg = await testPostgres();
    const stores: StateStore[] = [];
    cleanups.push(() => pg.cleanup());
    const open = async () => {
      const store = await openPostgresStore({ connectionString: pg.connectionString, schema: pg.schema });
      stores.push(store);
      return store;
    };
    // A ttl long enough that a start on a loaded machine (seconds) cannot blur the two clocks.
    const ttlMs = 3000;
    const first = await start(open, ttlMs);
    await first.produce('visits', [visit('ada', '/home'), visit('bob', '/docs')]);
    await first.idle();
    await first.stop();
    const rows = async () => (await stores[0]!.scan('track_last_page')).map((e) => e.key);
    expect((await rows()).sort()).toEqual(['ada', 'bob']);
    // A new process, 2.7 s later, loads both rows with their commit times: Ada's expires 3 s
    // after hers (≈ 0.3 s after the restart), not 3 s after the restart. The bound is taken from
    // the restart, so a late sleep only widens the margin; the start itself and the first sweep
    // have 2.7 s of it (a loaded CI box took 1.9 s where the ttl was 1.5 s and the margin 1.2 s).
    await new Promise((r) => setTimeout(r, ttlMs - 300));
    const restarting = Date.now();
    const second = await start(open, ttlMs);
    await second.produce('visits', [visit('bob', '/again')]);
    await second.idle();
    await until('ada\'s row to expire', async () => (await rows()).length === 1, 10_000);
    expect(Date.now() - restarting).toBeLessThan(ttlMs);
    expect(await rows()).toEqual(['bob']);
    await until('bob\'s row to expire', async () => (await rows()).length === 0, 10_000);
    expect((await stores[0]!.scan('track_pages_ever')).map((e) => e.key).sort()).toEqual(['ada', 'bob']);
    await second.stop();
    for (const s of stores) await s.close();
  });
});

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Diagnostic } from '@ssdk/spec';
import { planServicesFile } from './load.ts';

const repo = new URL('../../../', import.meta.url).pathname;
const Q3 = join(repo, 'examples/nexmark/q3/services.yaml');
const Q9 = join(repo, 'examples/nexmark/q9/services.yaml');

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** The example's text with `edit` applied, as a file of its own. */
async function edited(example: string, edit: (text: string) => string): Promise<string> {
  const text = await readFile(example, 'utf8');
  const changed = edit(text);
  expect(changed).not.toBe(text);
  const dir = await mkdtemp(join(tmpdir(), 'ssdk-plan-join-'));
  dirs.push(dir);
  const file = join(dir, 'services.yaml');
  await writeFile(file, changed);
  return file;
}

/** FILE:LINE:COL code — message, for the errors of a file. */
async function errors(file: string): Promise<string[]> {
  const { diagnostics } = await planServicesFile(file);
  return diagnostics.filter((d: Diagnostic) => d.severity === 'error').map((d) => `${d.pos.file}:${d.pos.line}:${d.pos.col} ${d.code} — ${d.message}`);
}

async function lineOf(file: string, needle: string): Promise<number> {
  const lines = (await readFile(file, 'utf8')).split('\n');
  return lines.findIndex((l) => l.includes(needle)) + 1;
}

describe('joins in the plan', () => {
  it('plan - a stream-table join: a join unit after the key shuffle (the key step at the end of the unit before), its config in the plan, late events typed as what it reads', async () => {
    const { plan, diagnostics } = await planServicesFile(Q3);
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const unit = plan!.operators.find((o) => o.kind === 'join')!;
    expect(unit).toMatchObject({ id: 'q3.local-item', join: { kind: 'table', left: 'person', right: 'auction', ttlMs: 600_000, at: 'q3.local-item' } });
    expect(unit.inputs).toEqual([{ topic: 'q3.local-sellers-and-category10.out', edge: 'shuffle' }]);
    // The join's key-by is the routing of the shuffle: it runs where the records are sent from.
    expect(plan!.operators.map((o) => [o.id, o.steps.map((s) => s.id)])).toEqual([
      ['q3.local-sellers-and-category10', ['q3.local-sellers-and-category10', 'q3.by-seller']],
      ['q3.local-item', ['q3.local-item']],
    ]);
    expect(plan!.topics.find((t) => t.id === 'q3.late-events')?.value.type).toBe('event');
    // The joined record's type is what the map after the join takes.
    expect(unit.steps[0]!.input.value).toBe('{person: person, auction: auction}');
  });

  it("plan - a join's key-by ends the unit before the join, which shuffles to the join", async () => {
    const { plan } = await planServicesFile(Q9);
    expect(plan!.operators.map((o) => [o.id, o.kind, o.steps.map((s) => s.id)])).toEqual([
      ['q9.auctions-and-bids', 'fused', ['q9.auctions-and-bids', 'q9.by-auction']],
      ['q9.winning-bid', 'join', ['q9.winning-bid']],
    ]);
    expect(plan!.operators[1]!.inputs).toEqual([{ topic: 'q9.auctions-and-bids.out', edge: 'shuffle' }]);
    expect(plan!.topics.find((t) => t.id === 'q9.auctions-and-bids.out')?.key?.type).toBe('number');
  });

  it('plan - an interval join: the interval in the plan; one partition fuses the key step in before the join', async () => {
    const { plan } = await planServicesFile(Q9, { partitions: 1, fuse: true });
    const unit = plan!.operators.find((o) => o.kind === 'join')!;
    expect(unit.join).toMatchObject({ kind: 'interval', left: 'auction', right: 'bid', lowerMs: 0, upperMs: 600_000, until: 'expires', at: 'q9.winning-bid' });
    expect(unit.steps.map((s) => s.id)).toEqual(['q9.auctions-and-bids', 'q9.by-auction', 'q9.winning-bid']);
  });

  const cases: Array<{ name: string; example: string; edit: (t: string) => string; at: string; want: string }> = [
    {
      name: 'a side that is not a variant of the enum',
      example: Q9,
      edit: (t) => t.replace('right: bid,', 'right: bids,'),
      at: 'interval: {',
      want: 'join-invalid-side — the interval join of service `q9` names side `bids`, which is not a variant of `event`',
    },
    {
      name: 'both sides the same',
      example: Q3,
      edit: (t) => t.replace('stream: auction', 'stream: person'),
      at: 'table: {',
      want: 'join-invalid-side — the table join of service `q3` joins `person` with itself',
    },
    {
      name: '`until` that is not a number field of the left side',
      example: Q9,
      edit: (t) => t.replace('until: expires', 'until: itemName'),
      at: 'interval: {',
      want: 'join-invalid-until — the interval join of service `q9` ends intervals at `itemName`, which is not a number field of `auction` (`auction`)',
    },
    {
      name: 'lower above upper',
      example: Q9,
      edit: (t) => t.replace('lower: 0s', 'lower: 20m'),
      at: 'interval: {',
      want: 'join-invalid-interval — the interval join of service `q9` has `lower` 20m above `upper` 10m',
    },
    {
      name: 'no step after the join',
      example: Q3,
      edit: (t) => t.replace(/ {6}transforms:\n {8}- operator: map\n(.*\n)*? {12}}\n/, ''),
      at: 'table: {',
      want: 'join-missing-transforms — the table join of service `q3` has no `transforms`',
    },
    {
      name: 'a step after the join that takes something else',
      example: Q3,
      edit: (t) => t.replace('function localItem(joined: PersonAuction)', 'function localItem(joined: Person)'),
      at: '- operator: map',
      want: 'type-mismatch — `map` step `localItem` in service `q3` takes `person`, but receives `{person: person, auction: auction}` from the table join',
    },
  ];
  for (const c of cases) {
    it(`plan - a join with ${c.name} is an error at its line`, async () => {
      const file = await edited(c.example, c.edit);
      const line = await lineOf(file, c.at);
      const got = await errors(file);
      expect(got, got.join("\n")).toHaveLength(1);
      expect(got[0]).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${line}:\\d+ `));
      expect(got[0]).toContain(c.want);
    });
  }
});

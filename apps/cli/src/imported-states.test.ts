import { describe, expect, it } from 'vitest';
import { openTestSession } from './session.testkit.ts';

/** A package with a state and the update-state function that writes it; the dataflow imports both and declares no state. */
const PACKAGE = `apiVersion: 0.6.0
meta: {name: counter, version: 0.1.0, namespace: h8}
states:
  tally:
    type: keyed-state
    properties:
      key: {type: string}
      value: {type: u32}
functions:
  bump:
    operator: update-state
    states:
      - name: tally
    inputs:
      - name: word
        type: string
`;

const DATAFLOW = `apiVersion: 0.6.0
meta: {name: use-counter, version: 0.1.0, namespace: h8}
imports:
  - pkg: h8/counter@0.1.0
    path: ./counter
    states:
      - name: tally
    functions:
      - name: bump
topics:
  words: {schema: {value: {type: string}}}
services:
  count:
    sources: [{type: topic, id: words}]
    partition:
      assign-key:
        run: |
          function byWord(w: string): string {
            return w;
          }
      update-state:
        uses: bump
`;

async function countWith(isolation: 'plan' | 'native'): Promise<void> {
  const s = await openTestSession(DATAFLOW, {
    isolation,
    files: {
      'counter/sdf-package.yaml': PACKAGE,
      'counter/functions/bump.ts': "export function bump(word: string, ctx: any): void {\n  ctx.state('tally').increment();\n}\n",
    },
  });
  try {
    await s.df.produce('words', ['pear', 'apple', 'pear'].map((value, i) => ({ value, timestamp: 1000 + i })));
    await s.df.endInput();
    await s.df.ended();
    expect(await s.store!.query('SELECT key, value::int AS n FROM count_tally ORDER BY key')).toEqual([
      { key: 'apple', n: 1 },
      { key: 'pear', n: 2 },
    ]);
  } finally {
    await s.close();
  }
}

describe('imported states', () => {
  it('imported states - a package state the service does not declare is kept by the service that runs the package function (native)', async () => {
    await countWith('native');
  }, 120_000);

  it('imported states - the same, sandboxed', async () => {
    await countWith('plan');
  }, 300_000);
});

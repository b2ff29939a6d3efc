/**
 * Every Stateful DataFlow file InfinyOn published (fixtures/fluvio-corpus: each version of each
 * dataflow.yaml, data-pipeline.yaml and sdf-package.yaml in their example repositories) reads as
 * Fluvio reads it: it validates, or its only errors are function bodies written in Rust, each with
 * the TypeScript signature to port to. The few that fail otherwise are listed with why; the list
 * is exact, so a file that starts (or stops) failing shows here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPackageFile, looksLikePackageFile, type Diagnostic } from '@ssdk/spec';
import { checkServicesFile } from './load.ts';

const corpus = new URL('../../../fixtures/fluvio-corpus/', import.meta.url).pathname;
const files = readFileSync(join(corpus, 'ORIGINS.tsv'), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => line.split('\t')[0]!);

/** Files that fail for a reason of their own (broken upstream, or a gap ssdk has), and the reason. */
const KNOWN: Readonly<Record<string, string>> = {
  // Broken upstream: the version was committed with a YAML or schema mistake, fixed in a later commit.
  'infinyon/stateful-dataflows-examples/dataflows/helsinki-transit/dataflow@1655885.yaml': 'YAML syntax error (implicit key over two lines)',
  'infinyon/stateful-services-examples/use-cases/car-processing/data-pipeline@365f6d1.yaml': 'typo `Begining` in default_starting_offset',
  'infinyon/stateful-dataflows-examples/dataflows/ny-transit/dataflow@87f172a.yaml': 'a tumbling window without flush (work in progress)',
  'infinyon/stateful-services-examples/use-cases/car-processing/data-pipeline@8e989fe.yaml': 'a tumbling window without assign-timestamp (work in progress)',
  'infinyon/stateful-services-examples/functions/ref-state/dataflow@ddd4a2d.yaml': 'keyed steps in `transforms` of a 0.4 file (work in progress)',
  'infinyon/stateful-services-examples/functions/update-state/dataflow@ddd4a2d.yaml': 'keyed steps in `transforms` of a 0.4 file (work in progress)',
  'infinyon/stateful-dataflows-examples/dataflow/split-sentence/package-variant/dataflow@da8707e.yaml': 'imports ./packages/sentence, which no commit has',
  'infinyon/stateful-dataflows-examples/dataflows-inline/hackernews-openai/dataflow@049626f.yaml': '`summary: string` inside a property definition',
  'infinyon/stateful-dataflows-examples/dataflows/ny-transit/dataflow@c40a9c3.yaml': 'type `trip` without `type: object`',
  'infinyon/stateful-services-examples/use-cases/car-processing/data-pipeline@8101708.yaml': 'object type `license` with `items` for `properties`',
  'infinyon/stateful-services-examples/use-cases/car-processing/data-pipeline@39393fa.yaml': 'object type `license` with `items` for `properties`',
  'infinyon/stateful-services-examples/use-cases/car-processing/data-pipeline@b6e4456.yaml': 'object type `license` with `items` for `properties`',
  'infinyon/stateful-dataflow-demos/stripe-to-slack/stripe-reduce/dataflow@080fc25.yaml': 'package function `jaq-transform` (filter-map) used as `map`',
};

interface Outcome {
  file: string;
  errors: Diagnostic[];
}

async function check(file: string): Promise<Outcome> {
  const path = join(corpus, file);
  const diagnostics = looksLikePackageFile(readFileSync(path, 'utf8'))
    ? (await loadPackageFile(path)).diagnostics
    : (await checkServicesFile(path)).diagnostics;
  return { file, errors: diagnostics.filter((d) => d.severity === 'error') };
}

describe('the Fluvio corpus', () => {
  it('fluvio corpus - every file validates, or fails only on Rust bodies flagged with their TypeScript port', { timeout: 120_000 }, async () => {
    const outcomes: Outcome[] = [];
    for (const file of files) outcomes.push(await check(file));
    const valid = outcomes.filter((o) => o.errors.length === 0);
    const rustOnly = outcomes.filter((o) => o.errors.length > 0 && o.errors.every((d) => d.code === 'rust-function'));
    const failing = outcomes.filter((o) => o.errors.some((d) => d.code !== 'rust-function'));
    const report = failing.map((o) => `${o.file}: ${o.errors.filter((d) => d.code !== 'rust-function').map((d) => `${d.pos.line}:${d.pos.col} ${d.message}`)[0]}`);
    expect(report.filter((line) => !Object.hasOwn(KNOWN, line.split(':')[0]!))).toEqual([]);
    expect(failing.map((o) => o.file).sort()).toEqual(Object.keys(KNOWN).sort());
    // Each Rust body names the TypeScript function to write.
    for (const o of rustOnly) for (const d of o.errors) expect(d.hint, `${o.file}:${d.pos.line}`).toMatch(/port it to TypeScript.*function \w+\(.*\): /);
    expect(files.length).toBe(377);
    expect(valid.length + rustOnly.length).toBe(files.length - Object.keys(KNOWN).length);
    console.log(`fluvio corpus: ${files.length} files — ${valid.length} valid, ${rustOnly.length} failing only on Rust bodies, ${failing.length} broken (listed)`);
  });
});

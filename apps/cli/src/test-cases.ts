/**
 * `ssdk test` case files: input records per topic, expected records per output topic and
 * expected state, run on the embedded runtime — like Kafka Streams' TopologyTestDriver, as a
 * file. The format (docs/cli.md):
 *
 *   tests:
 *     - name: golden run
 *       inputs:                       # produced in order; each drains before the next (none: an inline nexmark-source feeds it)
 *         - topic: sentences
 *           file: input/sentences.jsonl       # JSON lines, records form {"key"?, "value", "timestamp"?}
 *         - topic: probes
 *           records: [{value: river, timestamp: 1736154000000}]
 *       end: true                     # mark the end of input so windows flush (default)
 *       expect:                       # per output topic: bare values
 *         top-words: {file: expected/top-words.jsonl, ordered: true}
 *         top-words.late-events: {values: [delayed]}
 *       state:                        # per keyed state: {key: value}
 *         word-totals: {file: expected/state/word-totals.json}
 *
 * Dead-letter topics a case does not mention must stay empty: a record failing silently is a
 * failed test.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isCollection, isMap, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { z } from 'zod';
import type { PhysicalPlan } from '@ssdk/plan';
import { parseJsonLines, type JsonRecord } from '@ssdk/records';
import { closest } from './shell/words.ts';

const recordSchema = z
  .object({ key: z.union([z.string(), z.number(), z.boolean()]).optional(), value: z.unknown(), timestamp: z.number().optional(), headers: z.record(z.string(), z.string()).optional() })
  .strict();

const inputSchema = z
  .object({ topic: z.string().min(1), file: z.string().optional(), records: z.array(recordSchema).optional() })
  .strict()
  .refine((i) => (i.file === undefined) !== (i.records === undefined), { message: 'give either `file` or `records`' });

const expectSchema = z
  .object({ file: z.string().optional(), values: z.array(z.unknown()).optional(), ordered: z.boolean().optional() })
  .strict()
  .refine((e) => (e.file === undefined) !== (e.values === undefined), { message: 'give either `file` or `values`' });

const stateSchema = z
  .object({ file: z.string().optional(), entries: z.record(z.string(), z.unknown()).optional() })
  .strict()
  .refine((e) => (e.file === undefined) !== (e.entries === undefined), { message: 'give either `file` or `entries`' });

const caseSchema = z
  .object({
    name: z.string().min(1),
    // None: the dataflow's own inline sources that end by themselves (a nexmark-source) feed it.
    inputs: z.array(inputSchema).default([]),
    end: z.boolean().optional(),
    expect: z.record(z.string(), expectSchema).default({}),
    state: z.record(z.string(), stateSchema).default({}),
  })
  .strict();

const fileSchema = z.object({ tests: z.array(caseSchema).min(1) }).strict();

export interface TestCase {
  name: string;
  inputs: Array<{ topic: string; records: JsonRecord[] }>;
  end: boolean;
  expect: Map<string, { values: unknown[]; ordered: boolean }>;
  state: Map<string, Record<string, unknown>>;
  /** Where each name the case uses is written (`FILE:LINE:COL`), for `checkCaseNames`. */
  at: { inputs: string[]; expect: Map<string, string>; state: Map<string, string> };
}

export class TestFileError extends Error {
  override name = 'TestFileError';
  readonly domain = 'user';
}

export async function loadTestFile(path: string): Promise<TestCase[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new TestFileError(`test file not found: ${path} (write one beside the services file, see \`ssdk test --help\`)`);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  // Each problem at its FILE:LINE:COL, as a services file's are: the editor jumps there.
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return `${path}:${line}:${col}`;
  };
  if (doc.errors.length > 0) {
    throw new TestFileError(doc.errors.map((e) => `${at(e.pos[0])}: not valid YAML: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`).join('\n'));
  }
  const raw: unknown = doc.toJS();
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => `${at(deepestNode(doc, i.path)?.range?.[0] ?? 0)}: ${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') || '(top)'}: ${i.message}`,
    );
    throw new TestFileError(problems.join('\n'));
  }
  const dir = dirname(resolve(path));
  const read = async (file: string) => {
    try {
      return await readFile(resolve(dir, file), 'utf8');
    } catch {
      throw new TestFileError(`${path}: file not found: ${file}`);
    }
  };
  const cases: TestCase[] = [];
  // Where a name is written: a topic's `topic:` value, an `expect:` or `state:` key.
  const keyAt = (path: readonly (string | number)[], key: string) => {
    const map = doc.getIn(path, true);
    const pair = isMap(map) ? map.items.find((p) => isScalar(p.key) && p.key.value === key) : undefined;
    return at((isScalar(pair?.key) ? pair.key.range?.[0] : undefined) ?? 0);
  };
  const valueAt = (path: readonly (string | number)[]) => {
    const node = doc.getIn(path, true);
    return at((isScalar(node) ? node.range?.[0] : undefined) ?? 0);
  };
  for (const [n, c] of parsed.data.tests.entries()) {
    const inputs = [];
    for (const i of c.inputs) inputs.push({ topic: i.topic, records: i.file !== undefined ? parseJsonLines(await read(i.file), true) : (i.records as JsonRecord[]) });
    const expect = new Map<string, { values: unknown[]; ordered: boolean }>();
    for (const [topic, e] of Object.entries(c.expect)) {
      const values = e.file !== undefined ? parseJsonLines(await read(e.file), false).map((r) => r.value) : (e.values ?? []);
      expect.set(topic, { values, ordered: e.ordered ?? false });
    }
    const state = new Map<string, Record<string, unknown>>();
    for (const [name, s] of Object.entries(c.state)) state.set(name, s.file !== undefined ? (JSON.parse(await read(s.file)) as Record<string, unknown>) : (s.entries ?? {}));
    const where = {
      inputs: c.inputs.map((_, i) => valueAt(['tests', n, 'inputs', i, 'topic'])),
      expect: new Map(Object.keys(c.expect).map((topic) => [topic, keyAt(['tests', n, 'expect'], topic)])),
      state: new Map(Object.keys(c.state).map((name) => [name, keyAt(['tests', n, 'state'], name)])),
    };
    cases.push({ name: c.name, inputs, end: c.end ?? true, expect, state, at: where });
  }
  return cases;
}

/**
 * The topics and states the cases name, against the plan they run: a misspelt one is the test
 * file's mistake (each at its FILE:LINE:COL, the closest name offered), found before any case
 * runs — not a failing case after the others ran. `states`: the keyed states a case can check.
 */
export function checkCaseNames(cases: readonly TestCase[], plan: PhysicalPlan, states: readonly string[]): void {
  const topics = plan.topics.map((t) => t.id);
  const readable = plan.topics.filter((t) => t.kind !== 'internal').map((t) => t.id);
  const problems: string[] = [];
  const unknown = (where: string, c: TestCase, what: string, name: string, known: readonly string[], shown: readonly string[]) => {
    const close = closest(name, known);
    problems.push(`${where}: case \`${c.name}\`: no ${what} \`${name}\` in this dataflow${close ? ` (did you mean \`${close}\`?)` : ''}; its ${what}s: ${shown.map((t) => `\`${t}\``).join(', ') || 'none'}`);
  };
  for (const c of cases) {
    // An input may name a topic by its id or its bus name, as `--input` does.
    c.inputs.forEach((input, i) => {
      if (!plan.topics.some((t) => t.id === input.topic || t.name === input.topic)) unknown(c.at.inputs[i]!, c, 'topic', input.topic, topics, readable);
    });
    for (const topic of c.expect.keys()) if (!topics.includes(topic)) unknown(c.at.expect.get(topic)!, c, 'topic', topic, topics, readable);
    for (const name of c.state.keys()) if (!states.includes(name)) unknown(c.at.state.get(name)!, c, 'state', name, states, states);
  }
  if (problems.length > 0) throw new TestFileError(problems.join('\n'));
}

export interface Mismatch {
  what: string;
  lines: string[];
}

/** Compares values as canonical JSON lines: in order, or as multisets. */
export function compareValues(what: string, expected: unknown[], actual: unknown[], ordered: boolean): Mismatch | undefined {
  const e = expected.map(canonical);
  const a = actual.map(canonical);
  if (ordered) {
    const n = Math.max(e.length, a.length);
    for (let i = 0; i < n; i++) {
      if (e[i] !== a[i]) {
        return {
          what,
          lines: [`first difference at record ${i + 1} of ${e.length} expected / ${a.length} actual:`, `  - expected: ${e[i] ?? '(none)'}`, `  + actual:   ${a[i] ?? '(none)'}`],
        };
      }
    }
    return undefined;
  }
  const counts = new Map<string, number>();
  for (const x of e) counts.set(x, (counts.get(x) ?? 0) + 1);
  const unexpected: string[] = [];
  for (const x of a) {
    const c = counts.get(x) ?? 0;
    if (c > 0) counts.set(x, c - 1);
    else unexpected.push(x);
  }
  const missing = [...counts].flatMap(([x, c]) => Array<string>(c).fill(x));
  if (missing.length === 0 && unexpected.length === 0) return undefined;
  const show = (xs: string[], sign: string) => [...xs.slice(0, 10).map((x) => `  ${sign} ${x}`), ...(xs.length > 10 ? [`  ${sign} … ${xs.length - 10} more`] : [])];
  return {
    what,
    lines: [`${missing.length} missing, ${unexpected.length} unexpected (of ${e.length} expected, ${a.length} actual):`, ...show(missing, '-'), ...show(unexpected, '+')],
  };
}

/** JSON with object keys sorted, so field order never fails a comparison. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === 'object' && !Array.isArray(x) && !(x instanceof Uint8Array)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}

/** The node at `path`, or the deepest one on the way there (a missing key is reported at its mapping). */
function deepestNode(doc: Document, path: readonly PropertyKey[]): Node | undefined {
  let node: unknown = doc.contents;
  for (const key of path) {
    if (!isCollection(node)) break;
    const next: unknown = node.get(typeof key === 'symbol' ? String(key) : key, true);
    if (next === undefined || next === null) break;
    node = next;
  }
  return node as Node | undefined;
}

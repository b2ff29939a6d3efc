/**
 * Top-level sections every dialect shares (`meta`, `config`, `types`, `topics`, `imports`, `dev`,
 * `schedule`), and the skeleton a dialect fills.
 */
import { z } from 'zod';
import type { Node } from 'yaml';
import { parseConfig } from './config.ts';
import { parseCron } from './cron.ts';
import type { ParseContext, ScheduleDecl } from './context.ts';
import type { Dataflow, Dialect, Import, SourcePos } from './model.ts';
import { fail, node, optionalNode, readEntries, readList, readMap, requireOneOf, type MapView, type Values } from './reader.ts';
import { converter, duration, semver, text } from './schemas.ts';
import { parseTopics } from './topics.ts';
import { parseTypes } from './types.ts';

/** A model with nothing in it yet: what a file too broken to read at all yields. */
export function emptyDataflow(file: string, dialect: Dialect = 'dataflow', apiVersion = ''): Dataflow {
  const start: SourcePos = { file, line: 1, col: 1 };
  return {
    file,
    dialect,
    apiVersion,
    meta: { name: '', namespace: '', version: '', pos: start },
    config: { converter: 'json', settings: {} },
    types: {},
    topics: {},
    functions: {},
    services: {},
    imports: [],
    dev: { imports: [], topics: {} },
  };
}

/** Keys of the top level that every dialect has. */
export const COMMON_ROOT_SHAPE = {
  apiVersion: z.unknown(),
  meta: node,
  config: optionalNode,
  types: optionalNode,
  topics: optionalNode,
};

/**
 * Reads `meta`, `config`, `types`, `topics` (and, where the dialect has them, `imports`, `dev`,
 * `schedule`) into `dataflow`, in the order later sections depend on them.
 */
export function parseCommonSections(ctx: ParseContext, root: MapView<typeof COMMON_ROOT_SHAPE>, dataflow: Dataflow): void {
  const metaNode = root.values.meta;
  if (metaNode !== undefined) dataflow.meta = parseMeta(ctx, metaNode, dataflow.meta);
  const config = parseConfig(ctx, root.values.config);
  dataflow.config = config;
  dataflow.types = parseTypes(ctx, root.values.types);
  ctx.types = dataflow.types;
  dataflow.topics = parseTopics(ctx, root.values.topics, 'declared', config.converter);
}

const META_SHAPE = { name: text, namespace: text, version: semver };

export function parseMeta(ctx: ParseContext, input: Node, fallback: Dataflow['meta']): Dataflow['meta'] {
  const view = readMap(ctx, input, META_SHAPE, '`meta`');
  if (view === undefined) return fallback;
  return {
    name: view.values.name ?? '',
    namespace: view.values.namespace ?? '',
    version: view.values.version ?? '',
    pos: view.pos,
  };
}

const PACKAGE_ID = /^[\w.-]+\/[\w.-]+@[\w.+-]+$/;
const IMPORT_SHAPE = {
  pkg: text.regex(PACKAGE_ID, { error: 'write the package as `<namespace>/<name>@<version>`' }),
  path: text.optional(),
  functions: optionalNode,
  types: optionalNode,
  states: optionalNode,
};

/** `imports:` (function, type and state packages) or `dev.imports:` (their local paths). */
export function parseImports(ctx: ParseContext, input: Node | undefined, section: string): Import[] {
  const imports: Import[] = [];
  for (const item of readList(ctx, input, `\`${section}\``)) {
    const where = `import ${item.number} of \`${section}\``;
    const view = readMap(ctx, item.node, IMPORT_SHAPE, where);
    if (view?.values.pkg === undefined) continue;
    const names = (key: 'types' | 'states') => readNamed(ctx, view.values[key], key, where, NAME_SHAPE).map(({ name, pos }) => ({ name, pos }));
    const functions = readNamed(ctx, view.values.functions, 'functions', where, FUNCTION_IMPORT_SHAPE).map(({ name, pos, alias }) =>
      alias === undefined ? { name, pos } : { name, alias, pos },
    );
    const entry: Import = { pkg: view.values.pkg, functions, types: names('types'), states: names('states'), pos: view.pos };
    if (view.values.path !== undefined) entry.path = view.values.path;
    imports.push(entry);
  }
  return imports;
}

const NAME_SHAPE = { name: text };
const FUNCTION_IMPORT_SHAPE = { name: text, alias: text.optional() };

/** A list of `{name, ...}` entries (an import's `functions`, `types`, `states`). */
function readNamed<S extends typeof NAME_SHAPE>(
  ctx: ParseContext,
  input: Node | undefined,
  key: string,
  where: string,
  shape: S,
): Array<Values<S> & { name: string; pos: SourcePos }> {
  const found: Array<Values<S> & { name: string; pos: SourcePos }> = [];
  for (const item of readList(ctx, input, `\`${key}\` of ${where}`)) {
    const view = readMap(ctx, item.node, shape, `item ${item.number} of \`${key}\` of ${where}`);
    const name = view?.values.name;
    if (view !== undefined && name !== undefined) found.push({ ...view.values, name, pos: view.pos });
  }
  return found;
}

/** `dev: {imports, topics}`: what `--dev` runs use instead of published packages and real topics. */
export function parseDev(ctx: ParseContext, input: Node | undefined, dataflow: Dataflow): void {
  if (input === undefined) return;
  // `converter` is the record format of `sdf run --dev`; ssdk's test cases say theirs per case.
  const view = readMap(ctx, input, { imports: optionalNode, topics: optionalNode, converter: converter.optional() }, '`dev`');
  if (view === undefined) return;
  dataflow.dev = {
    imports: parseImports(ctx, view.values.imports, 'dev.imports'),
    topics: parseTopics(ctx, view.values.topics, 'dev', dataflow.config.converter),
  };
}

/** A cron expression that `parseCron` reads; its complaint is the hint. */
const cron = text.superRefine((value, issue) => {
  const parsed = parseCron(value);
  if ('error' in parsed) fail(issue, { code: 'invalid-value', hint: parsed.error });
});

/** 0.6 `schedule: {<name>: {cron}}` (ssdk also takes `interval: <duration>`). */
export function parseSchedules(ctx: ParseContext, input: Node | undefined): void {
  const shape = {
    cron: cron.optional(),
    interval: duration.optional(),
  };
  for (const entry of readEntries(ctx, input, '`schedule`')) {
    const where = `schedule \`${entry.name}\``;
    const view = readMap(ctx, entry.node, shape, where);
    if (view === undefined) continue;
    requireOneOf(ctx, view, ['cron', 'interval'], where);
    // Registered even when broken, so sources naming it are not reported a second time.
    const schedule: ScheduleDecl = { name: entry.name, pos: entry.keyPos };
    if (view.values.cron !== undefined) schedule.cron = view.values.cron.trim();
    if (view.values.interval !== undefined) schedule.intervalMs = view.values.interval;
    ctx.schedules.set(entry.name, schedule);
  }
}

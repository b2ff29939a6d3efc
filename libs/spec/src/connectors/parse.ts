/**
 * Reads a connector file in Fluvio's format (`apiVersion` 0.1.0 / 0.2.0, or none: Fluvio's
 * first version; `meta`; a section named after the type; `transforms`) into a `Connector`,
 * with every problem at once at its file:line:col, as services files are read. Pure: no I/O.
 *
 * Fluvio's tools read these files with serde, which ignores unknown keys; ssdk reports them
 * (a misspelt `endpont` would otherwise be a connector that polls nothing), except the keys
 * Fluvio itself wrote into its examples and ignores (`create-topic`, `direction`).
 */
import { isMap, isScalar, type Node } from 'yaml';
import { z } from 'zod';
import type { ParseContext } from '../context.ts';
import { Diagnostics } from '../diagnostics.ts';
import type { Diagnostic, SourcePos } from '../model.ts';
import { readYaml } from '../parse.ts';
import { fail, node, optionalNode, readEntries, readList, readMap, type MapView, type Shape } from '../reader.ts';
import { duration, flag, positiveDuration, text, textLike } from '../schemas.ts';
import { listNames, suggestionHint } from '../suggest.ts';
import { describeNode, toPlain } from '../yaml-nodes.ts';
import {
  CONNECTOR_TYPES,
  NEXMARK_SOURCE_BATCH,
  type Connector,
  type ConnectorSettings,
  type ConnectorTransform,
  type ConnectorType,
  type ConsumerSettings,
  type JsonSqlColumn,
  type JsonSqlMapping,
  type ProducerSettings,
  type SecretText,
} from './model.ts';
import { SECRET_NAME, parseSecretTemplate } from './secret-text.ts';

export const CONNECTOR_API_VERSIONS = ['0.1.0', '0.2.0'] as const;

/** Types Fluvio ships that ssdk does not run, with why (named in the error). */
const NOT_HERE: Readonly<Record<string, string>> = {
  'kafka-source': 'no Kafka broker can be tested here; it is planned',
  'kafka-sink': 'no Kafka broker can be tested here; it is planned',
  'websocket-source': 'not implemented yet',
};

/** The section that holds a type's settings. */
const SECTION_OF: Readonly<Record<ConnectorType, string>> = {
  'http-source': 'http',
  'http-sink': 'http',
  'mqtt-source': 'mqtt',
  'mqtt-sink': 'mqtt',
  'sql-sink': 'sql',
  'postgres-source': 'postgres',
  'nexmark-source': 'nexmark',
};

export interface ConnectorParseResult {
  /** Undefined when the file is too broken to say what it connects. */
  connector: Connector | undefined;
  diagnostics: Diagnostic[];
}

/** Reads a connector file. Never throws: problems are diagnostics, all of them. */
export function parseConnectorFile(text: string, file: string): ConnectorParseResult {
  const diagnostics = new Diagnostics();
  const done = (connector: Connector | undefined): ConnectorParseResult => ({ connector, diagnostics: diagnostics.sorted() });
  const { doc, positions, readable } = readYaml(text, file, diagnostics);
  if (!readable) return done(undefined);
  const root = doc.contents;
  if (!isMap(root)) {
    diagnostics.error('invalid-type', `a connector file must be a mapping, found ${describeNode(root ?? undefined)}`, positions.of(root));
    return done(undefined);
  }
  const versionNode = root.get('apiVersion', true) as Node | undefined;
  const apiVersion = versionNode === undefined ? '0.0.0' : isScalar(versionNode) ? String(versionNode.value) : '';
  const ctx: ParseContext = { file, source: text, doc, positions, diagnostics, dialect: 'dataflow', apiVersion, types: {}, functions: {}, schedules: new Map() };
  if (!root.has('meta') && (root.has('parameters') || root.has('type'))) {
    diagnostics.error(
      'legacy-connector-format',
      'this is Fluvio\'s first connector format (`type`, `topic` and `parameters` at the top), which Fluvio itself no longer reads',
      positions.of(root),
      'move `name`, `type`, `topic` and `version` under `meta:`, and the `parameters` into a section named after the type (`http:`, `mqtt:`, `sql:`)',
    );
    return done(undefined);
  }
  if (versionNode !== undefined && !(CONNECTOR_API_VERSIONS as readonly string[]).includes(apiVersion)) {
    diagnostics.error('unsupported-api-version', `unsupported connector apiVersion \`${apiVersion}\``, positions.of(versionNode), `supported versions: ${listNames(CONNECTOR_API_VERSIONS)} (or none, Fluvio's first)`);
    return done(undefined);
  }
  return done(readConnectorBody(ctx, root, { allowApiVersion: true }));
}

/**
 * `meta`, the type's section and `transforms` of a mapping: a whole connector file, or a
 * connector written inline in a services file's sources or sinks (`allowApiVersion` false).
 */
export function readConnectorBody(ctx: ParseContext, input: Node, options: { allowApiVersion: boolean; inline?: { topic: string; direction: 'source' | 'sink' } }): Connector | undefined {
  const v2 = ctx.apiVersion === '0.2.0';
  const sectionKeys = Object.fromEntries([...new Set(Object.values(SECTION_OF))].map((key) => [key, optionalNode]));
  // The section of a type ssdk does not run (`kafka:` of kafka-source) is that one mistake, not a second.
  const typeNode = isMap(input) ? (input.getIn(['meta', 'type'], true) as Node | undefined) : undefined;
  const typeWritten = isScalar(typeNode) ? String(typeNode.value) : '';
  const foreign = (CONNECTOR_TYPES as readonly string[]).includes(typeWritten) ? {} : { [typeWritten.replace(/-(source|sink)$/, '')]: z.unknown().optional() };
  const shape: Shape = { ...foreign, meta: node, transforms: optionalNode, ...sectionKeys, ...(options.allowApiVersion ? { apiVersion: z.unknown().optional() } : {}) };
  const top = readMap(ctx, input, shape, 'the connector');
  if (top === undefined) return undefined;
  const meta = readMap(ctx, top.values['meta'] as Node | undefined, META_SHAPE, '`meta`');
  if (meta === undefined) return undefined;
  const { name } = meta.values;
  // Inline, the endpoint names the topic, and there is no package version to name.
  const version = meta.values.version ?? (options.inline ? 'inline' : undefined);
  for (const key of options.inline ? [] : (['topic', 'version'] as const)) {
    if (!meta.has(key) && !meta.misspelt.has(key)) ctx.diagnostics.error('missing-key', `missing key \`${key}\` in \`meta\``, meta.pos);
  }
  const typeText = meta.values.type;
  let type: ConnectorType | undefined;
  if (typeText !== undefined) {
    if ((CONNECTOR_TYPES as readonly string[]).includes(typeText)) type = typeText as ConnectorType;
    else {
      const why = NOT_HERE[typeText];
      ctx.diagnostics.error(
        'unsupported-connector-type',
        why ? `connector type \`${typeText}\` is not supported by ssdk: ${why}` : `unknown connector type \`${typeText}\``,
        meta.valuePos('type'),
        why ? `ssdk runs ${listNames(CONNECTOR_TYPES)}` : suggestionHint(typeText, CONNECTOR_TYPES, 'ssdk runs'),
      );
    }
  }
  if (meta.values.name !== undefined && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(meta.values.name)) {
    ctx.diagnostics.error('invalid-name', `invalid connector name \`${meta.values.name}\``, meta.valuePos('name'), 'use lowercase letters, digits and `-` (it names the connector\'s process, positions and dead-letter topic)');
  }
  const topic = options.inline && !meta.has('topic') ? { name: options.inline.topic } : readTopic(ctx, meta, v2);
  if (options.inline && topic !== undefined && topic.name !== options.inline.topic) {
    ctx.diagnostics.error('conflicting-topic', `the connector's topic \`${topic.name}\` is not the ${options.inline.direction}'s \`${options.inline.topic}\``, meta.valuePos('topic'), 'an inline connector feeds (or drains) the topic of its source (or sink): leave `topic` out');
  }
  if (options.inline && type !== undefined && !type.endsWith(`-${options.inline.direction}`)) {
    ctx.diagnostics.error('connector-direction', `a ${type} connector cannot be a ${options.inline.direction}'s connector`, meta.valuePos('type'), `a source takes a \`-source\` connector, a sink a \`-sink\` one`);
    return undefined;
  }
  const producer = readProducer(ctx, meta.values.producer as Node | undefined, type);
  const consumer = readConsumer(ctx, meta.values.consumer as Node | undefined);
  const secrets = readSecrets(ctx, meta.values.secrets as Node | undefined);
  const transforms = readTransforms(ctx, top.values['transforms'] as Node | undefined, type);

  // Sections: the type's own is required, others are mistakes.
  const wanted = type === undefined ? undefined : SECTION_OF[type];
  for (const key of Object.keys(sectionKeys)) {
    if (key !== wanted && top.has(key) && type !== undefined) {
      ctx.diagnostics.error('unexpected-section', `section \`${key}\` does not configure a ${type} connector`, top.keyPos(key), `a ${type} connector is configured in \`${wanted}:\``);
    }
  }
  let settings: ConnectorSettings | undefined;
  if (type !== undefined && wanted !== undefined) {
    const section = top.valueNode(wanted);
    if (section === undefined) {
      ctx.diagnostics.error('missing-key', `missing section \`${wanted}\` for the ${type} connector`, top.pos, `add \`${wanted}:\` with the connector's settings`);
    } else {
      settings = readSettings(ctx, type, section, transforms);
    }
  }
  if (type === undefined || settings === undefined || name === undefined || topic === undefined || version === undefined) return undefined;
  return {
    file: ctx.file,
    apiVersion: ctx.apiVersion,
    name,
    type,
    topic: topic.name,
    version,
    ...(topic.partitions !== undefined ? { partitions: topic.partitions } : {}),
    producer,
    consumer,
    secrets,
    transforms,
    settings,
    pos: top.pos,
  };
}

// ---------------------------------------------------------------------------------------------
// meta

/** Byte sizes: a number of bytes, or text such as `44.0 MB`, `16 KiB`. */
const byteSize = z.unknown().transform((value, ctx) => {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  const match = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b)?\s*$/i.exec(value) : null;
  if (match === null) return fail(ctx, { code: 'invalid-size', what: 'size', hint: 'write bytes as a number or with a unit: `16384`, `16 KB`, `1 MiB`' });
  const unit = (match[2] ?? 'b').toLowerCase();
  const power = 'bkmgt'.indexOf(unit[0] ?? 'b');
  const base = unit.includes('i') ? 1024 : 1000;
  return Math.round(Number(match[1]) * base ** power);
});

const META_SHAPE = {
  name: text,
  type: text,
  topic: z.unknown().optional(),
  version: textLike.optional(),
  producer: optionalNode,
  consumer: optionalNode,
  secrets: optionalNode,
  // Written in Fluvio's own examples and ignored by its tools; ssdk creates the topic anyway.
  'create-topic': flag.optional(),
  create_topic: flag.optional(),
  direction: z.enum(['source', 'sink']).optional(),
};

function readTopic(ctx: ParseContext, meta: MapView<typeof META_SHAPE>, v2: boolean): { name: string; partitions?: number } | undefined {
  const topicNode = meta.valueNode('topic');
  if (topicNode === undefined) return undefined;
  if (isScalar(topicNode) && typeof topicNode.value === 'string') {
    if (v2) {
      ctx.diagnostics.error('invalid-type', '`topic` in `meta` must be a mapping in apiVersion 0.2.0, found text', ctx.positions.of(topicNode), `write \`topic: {meta: {name: ${topicNode.value}}}\`, or use apiVersion 0.1.0`);
    }
    return { name: topicNode.value };
  }
  if (!v2) {
    ctx.diagnostics.error('invalid-type', `\`topic\` in \`meta\` must be a topic name, found ${describeNode(topicNode)}`, ctx.positions.of(topicNode), 'a topic with settings (`topic: {meta: {name}, partition: ...}`) needs apiVersion 0.2.0');
    return undefined;
  }
  const config = readMap(ctx, topicNode, { version: textLike.optional(), meta: node, partition: optionalNode, retention: optionalNode, compression: optionalNode }, '`topic` of `meta`');
  if (config === undefined) return undefined;
  const topicMeta = readMap(ctx, config.values.meta as Node | undefined, { name: text }, '`topic.meta`');
  const partition = config.values.partition === undefined ? undefined : readMap(ctx, config.values.partition as Node, { count: z.int().min(1).max(1024).optional(), 'max-size': z.unknown().optional(), replication: z.int().optional(), 'ignore-rack-assignment': flag.optional() }, '`topic.partition`');
  for (const key of ['retention', 'compression'] as const) {
    if (config.has(key)) ctx.diagnostics.warning('ignored-setting', `\`topic.${key}\` is not applied: ssdk's topics are JetStream streams with the stack's settings`, config.keyPos(key));
  }
  for (const key of ['max-size', 'replication', 'ignore-rack-assignment'] as const) {
    if (partition?.has(key)) ctx.diagnostics.warning('ignored-setting', `\`topic.partition.${key}\` is not applied: ssdk's topics are JetStream streams with the stack's settings`, partition.keyPos(key));
  }
  const name = topicMeta?.values.name;
  if (name === undefined) return undefined;
  const count = partition?.values.count;
  return count === undefined ? { name } : { name, partitions: count };
}

/** Why a connector type takes no `linger` / `batch-size` (only http-source groups records itself). */
const PRODUCER_NOT_APPLIED: Partial<Record<ConnectorType, string>> = {
  'mqtt-source': 'an mqtt-source stores each MQTT message alone, under its own id, before it acknowledges it (so a repeat after a crash is dropped)',
  'postgres-source': 'a postgres-source publishes each polled row alone, under its position (so a repeat after a crash is dropped)',
  'nexmark-source': 'a nexmark-source publishes `batch` events a message, under their event numbers (so a repeat after a crash is dropped); `batch` in `nexmark:` sets how many',
  'http-sink': 'a sink reads its topic; it produces nothing',
  'mqtt-sink': 'a sink reads its topic; it produces nothing',
  'sql-sink': 'a sink reads its topic; it produces nothing',
};

function readProducer(ctx: ParseContext, input: Node | undefined, type: ConnectorType | undefined): ProducerSettings {
  if (input === undefined) return {};
  const view = readMap(ctx, input, { linger: duration.optional(), compression: z.enum(['none', 'gzip', 'snappy', 'lz4', 'zstd']).optional(), 'batch-size': byteSize.optional(), batch_size: byteSize.optional() }, '`meta.producer`');
  if (view === undefined) return {};
  const { linger, compression } = view.values;
  if (compression !== undefined && compression !== 'none') {
    ctx.diagnostics.warning('ignored-setting', `\`compression: ${compression}\` is not applied: ssdk's frames travel uncompressed`, view.valuePos('compression'));
  }
  const why = type === undefined ? undefined : PRODUCER_NOT_APPLIED[type];
  for (const key of ['linger', 'batch-size', 'batch_size'] as const) {
    // `linger: 0` asks for nothing, so it is no mistake anywhere.
    if (why === undefined || !view.has(key) || (key === 'linger' && linger === 0)) continue;
    ctx.diagnostics.error('unsupported-setting', `\`${key}\` does not apply to a ${type} connector: ${why}`, view.keyPos(key), 'remove it; `linger` and `batch-size` group the records of an http-source');
  }
  const batchBytes = view.values['batch-size'] ?? view.values.batch_size;
  if (batchBytes !== undefined && batchBytes < 1000 && why === undefined) {
    ctx.diagnostics.error('invalid-value', `\`batch-size\` must be at least 1 KB, found ${batchBytes} bytes`, view.valuePos(view.has('batch-size') ? 'batch-size' : 'batch_size'), 'a message holds at least one record; `16 KB` is Fluvio\'s default');
  }
  return { ...(linger !== undefined && linger > 0 ? { lingerMs: linger } : {}), ...(batchBytes !== undefined ? { batchBytes } : {}) };
}

function readConsumer(ctx: ParseContext, input: Node | undefined): ConsumerSettings {
  const defaults: ConsumerSettings = { start: 'beginning', strategy: 'auto' };
  if (input === undefined) return defaults;
  const view = readMap(ctx, input, { id: text.optional(), partition: z.int().min(0).optional(), max_bytes: byteSize.optional(), 'max-bytes': byteSize.optional(), offset: optionalNode }, '`meta.consumer`');
  if (view === undefined) return defaults;
  const offset = view.values.offset === undefined ? undefined : readMap(ctx, view.values.offset as Node, { strategy: z.enum(['auto', 'manual', 'none']).optional(), start: z.unknown().optional(), 'flush-period': fluvioDuration.optional() }, '`meta.consumer.offset`');
  let start: ConsumerSettings['start'] = 'beginning';
  const startNode = offset?.valueNode('start');
  if (startNode !== undefined) {
    const value = toPlain(ctx.doc, startNode);
    if (value === 'beginning' || value === 'end') start = value;
    else ctx.diagnostics.error('invalid-value', `\`offset.start\` must be \`beginning\` or \`end\`, found ${describeNode(startNode)}`, ctx.positions.of(startNode), 'an absolute or relative start offset is not supported: a sink starts at its committed position, else at `beginning` or `end`');
  }
  const { id, partition } = view.values;
  const maxBytes = view.values.max_bytes ?? view.values['max-bytes'];
  const flushPeriodMs = offset?.values['flush-period'];
  return {
    ...(id !== undefined ? { id } : {}),
    ...(partition !== undefined ? { partition } : {}),
    start,
    strategy: offset?.values.strategy ?? 'auto',
    ...(maxBytes !== undefined ? { maxBytes } : {}),
    ...(flushPeriodMs !== undefined && flushPeriodMs > 0 ? { flushPeriodMs } : {}),
  };
}

function readSecrets(ctx: ParseContext, input: Node | undefined): string[] {
  const names: string[] = [];
  for (const item of readList(ctx, input, '`meta.secrets`', 'write `secrets: [{name: API_TOKEN}]`')) {
    const view = readMap(ctx, item.node, { name: text }, `secret ${item.number} of \`meta.secrets\``);
    const name = view?.values.name;
    if (name === undefined || view === undefined) continue;
    if (!SECRET_NAME.test(name)) {
      ctx.diagnostics.error('invalid-secret-name', `invalid secret name \`${name}\``, view.valuePos('name'), 'a secret name has ASCII letters, digits and `_`, and does not start with a digit');
      continue;
    }
    names.push(name);
  }
  return names;
}

// ---------------------------------------------------------------------------------------------
// transforms

const JSON_SQL = /^infinyon\/json-sql(@.*)?$/;

function readTransforms(ctx: ParseContext, input: Node | undefined, type: ConnectorType | undefined): ConnectorTransform[] {
  const transforms: ConnectorTransform[] = [];
  for (const item of readList(ctx, input, '`transforms`')) {
    const view = readMap(ctx, item.node, { uses: text, with: optionalNode, invoke: text.optional(), lookback: optionalNode }, `transform ${item.number}`);
    const uses = view?.values.uses;
    if (view === undefined || uses === undefined) continue;
    if (!JSON_SQL.test(uses)) {
      ctx.diagnostics.error(
        'unsupported-transform',
        `transform \`${uses}\` is a Fluvio SmartModule, which ssdk does not run`,
        view.valuePos('uses'),
        'ssdk runs `infinyon/json-sql` (with sql-sink); do other record changes in a dataflow service between the connector\'s topic and yours',
      );
      continue;
    }
    if (type !== undefined && type !== 'sql-sink') {
      ctx.diagnostics.error('unsupported-transform', `\`${uses}\` maps records to SQL rows: it works with a sql-sink connector, not a ${type}`, view.valuePos('uses'));
      continue;
    }
    if (view.has('lookback')) ctx.diagnostics.error('unsupported-setting', '`lookback` is not supported', view.keyPos('lookback'), 'json-sql maps each record on its own; remove `lookback`');
    const invoke = view.values.invoke;
    const mapping = readJsonSql(ctx, view.valueNode('with'), view.pos, invoke);
    if (mapping !== undefined) transforms.push({ uses, jsonSql: mapping, pos: view.pos });
  }
  return transforms;
}

const JSON_SQL_TYPES = ['bigint', 'int8', 'integer', 'int4', 'int', 'smallint', 'int2', 'boolean', 'bool', 'bytea', 'bytes', 'text', 'float', 'float4', 'real', 'double precision', 'float8', 'doubleprecision', 'numeric', 'decimal', 'date', 'time', 'timestamp', 'json', 'jsonb', 'uuid'] as const;

/** `with: {mapping: {...}}` (the mapping may also be JSON text), or the mapping itself under `with` (Fluvio's older files). */
function readJsonSql(ctx: ParseContext, input: Node | undefined, pos: SourcePos, invoke: string | undefined): JsonSqlMapping | undefined {
  if (input === undefined) {
    ctx.diagnostics.error('missing-key', 'missing `with: {mapping: ...}` for json-sql', pos, 'json-sql needs a `mapping` with a `table` and `map-columns`');
    return undefined;
  }
  const withView = readMap(ctx, input, { mapping: optionalNode, table: z.unknown().optional(), 'map-columns': z.unknown().optional(), param: z.unknown().optional() }, '`with` of json-sql');
  if (withView === undefined) return undefined;
  const target = withView.has('mapping') ? withView.valueNode('mapping') : input;
  const shape = {
    table: text,
    operation: z.enum(['insert', 'upsert']).optional(),
    'unique-columns': z.array(text).optional(),
    'map-columns': optionalNode,
    columns: optionalNode,
    ...(withView.has('mapping') ? {} : { mapping: optionalNode, param: z.unknown().optional() }),
  };
  const view = readMap(ctx, target, shape, 'the json-sql mapping');
  if (view === undefined || view.values.table === undefined) return undefined;
  const columnsNode = view.valueNode('map-columns') ?? view.valueNode('columns');
  if (columnsNode === undefined) {
    ctx.diagnostics.error('missing-key', 'missing key `map-columns` in the json-sql mapping', view.pos);
    return undefined;
  }
  const columns: JsonSqlColumn[] = [];
  for (const entry of readEntries(ctx, columnsNode, '`map-columns`')) {
    const column = readMap(ctx, entry.node, { 'json-key': text, value: node }, `column \`${entry.name}\``);
    const value = readMap(ctx, column?.valueNode('value'), { type: z.enum(JSON_SQL_TYPES), default: textLike.optional(), required: flag.optional() }, `\`value\` of column \`${entry.name}\``);
    const jsonKey = column?.values['json-key'];
    const type = value?.values.type;
    if (jsonKey === undefined || type === undefined) continue;
    columns.push({ name: entry.name, jsonKey, type: type === 'doubleprecision' ? 'double precision' : type, ...(value?.values.default !== undefined ? { default: value.values.default } : {}), required: value?.values.required ?? false });
  }
  const operation = view.values.operation ?? (invoke === 'upsert' ? 'upsert' : 'insert');
  const uniqueColumns = view.values['unique-columns'] ?? [];
  if (operation === 'upsert' && uniqueColumns.length === 0) {
    ctx.diagnostics.error('missing-key', 'an upsert needs `unique-columns`', view.pos, 'name the columns of the table\'s unique index: `unique-columns: [device_id]`');
  }
  return { table: view.values.table, operation, uniqueColumns, columns, pos: view.pos };
}

// ---------------------------------------------------------------------------------------------
// sections

/** `Authorization: Bearer ${{ secrets.TOKEN }}`, or a whole value `{secret: {name: TOKEN}}`. */
const secretText = z.unknown().transform((value, ctx): SecretText => {
  if (typeof value === 'string') {
    const parsed = parseSecretTemplate(value);
    return parsed ?? fail(ctx, { code: 'invalid-secret-name', hint: 'a secret is written `${{ secrets.NAME }}`; NAME has ASCII letters, digits and `_`' });
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const secret = (value as { secret?: { name?: unknown } }).secret;
    const keys = Object.keys(value);
    if (keys.length === 1 && typeof secret?.name === 'string' && SECRET_NAME.test(secret.name)) return { parts: [{ secret: secret.name }] };
    return fail(ctx, { code: 'invalid-secret', hint: 'write the value, or `{secret: {name: NAME}}` to read it from a secret' });
  }
  return fail(ctx, { code: 'invalid-type', expected: 'text or `{secret: {name: NAME}}`' });
});

/** Fluvio writes some durations as `{secs, nanos}` (serde's Duration). */
const fluvioDuration = z.unknown().transform((value, ctx) => {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const { secs, nanos } = value as { secs?: unknown; nanos?: unknown };
    if (typeof secs === 'number' && (nanos === undefined || typeof nanos === 'number')) return secs * 1000 + Math.round((nanos ?? 0) / 1e6);
    return fail(ctx, { code: 'invalid-duration', hint: 'write `{secs: 30, nanos: 0}` or a duration such as `30s`' });
  }
  const parsed = duration.safeParse(value);
  return parsed.success ? parsed.data : fail(ctx, { code: 'invalid-duration', what: 'duration', hint: 'write a duration such as `30s` or `{secs: 30, nanos: 0}`' });
});

const httpMethod = z.string().transform((m) => m.toUpperCase()).pipe(z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']));

function readSettings(ctx: ParseContext, type: ConnectorType, section: Node, transforms: ConnectorTransform[]): ConnectorSettings | undefined {
  const where = `section \`${SECTION_OF[type]}\` of the ${type} connector`;
  switch (type) {
    case 'http-source': {
      const view = readMap(ctx, section, HTTP_SOURCE_SHAPE, where);
      if (view === undefined) return undefined;
      const v = view.values;
      for (const key of ['stream', 'delimiter', 'websocket_config'] as const) {
        if (view.has(key) && !(key === 'stream' && v.stream === false)) {
          ctx.diagnostics.error('unsupported-setting', `\`${key}\` (streamed and websocket responses) is not supported yet`, view.keyPos(key), 'poll the endpoint at an `interval`, or receive POSTs with `mode: webhook`');
        }
      }
      const mode = v.mode ?? 'poll';
      if (mode === 'poll' && !view.has('endpoint')) ctx.diagnostics.error('missing-key', `missing key \`endpoint\` in ${where}`, view.pos, 'the URL to poll; or `mode: webhook` with `listen: HOST:PORT` to receive POSTs');
      if (mode === 'webhook' && !view.has('listen')) ctx.diagnostics.error('missing-key', `missing key \`listen\` in ${where}`, view.pos, 'a webhook listens on `HOST:PORT`, e.g. `listen: 0.0.0.0:8080`');
      return {
        type,
        mode,
        ...(v.endpoint !== undefined ? { endpoint: v.endpoint } : {}),
        method: v.method ?? 'GET',
        ...(v.body !== undefined ? { body: v.body } : {}),
        userAgent: v['user-agent'] ?? v.user_agent ?? 'ssdk/http-source',
        intervalMs: v.interval ?? 10_000,
        headers: v.headers ?? [],
        outputParts: v['output-parts'] ?? v.output_parts ?? 'body',
        outputType: v['output-type'] ?? v.output_type ?? 'text',
        split: v.split ?? 'none',
        ...(v.listen !== undefined ? { listen: v.listen } : {}),
        path: v.path ?? '/',
        ...(v.token !== undefined ? { token: v.token } : {}),
      };
    }
    case 'http-sink': {
      const view = readMap(ctx, section, HTTP_SINK_SHAPE, where);
      if (view === undefined || view.values.endpoint === undefined) return undefined;
      const v = view.values;
      if (view.has('interval')) ctx.diagnostics.warning('ignored-setting', '`interval` does nothing in an http-sink: it sends as records arrive', view.keyPos('interval'));
      const connectTimeoutMs = v.http_connect_timeout ?? v['connect-timeout'];
      return {
        type,
        endpoint: v.endpoint!,
        method: v.method ?? 'POST',
        userAgent: v['user-agent'] ?? v.user_agent ?? 'ssdk/http-sink',
        headers: v.headers ?? [],
        requestTimeoutMs: v.http_request_timeout ?? v['request-timeout'] ?? 15_000,
        ...(connectTimeoutMs !== undefined ? { connectTimeoutMs } : {}),
        backoffMinMs: v.backoff_min ?? v['backoff-min'] ?? 1_000,
        backoffMaxMs: v.backoff_max ?? v['backoff-max'] ?? 60_000,
        body: v.body ?? 'record',
      };
    }
    case 'mqtt-source': {
      const view = readMap(ctx, section, MQTT_SOURCE_SHAPE, where);
      const v = view?.values;
      if (v === undefined || v.url === undefined || v.topic === undefined) return undefined;
      return {
        type,
        ...mqttEndpoint(v.url, v.topic, v.client_id ?? v['client-id']),
        timeoutMs: v.timeout ?? 60_000,
        payloadOutputType: v.payload_output_type ?? 'binary',
        output: v.output ?? 'envelope',
        key: v.key ?? 'topic',
        qos: (v.qos ?? 1) as 0 | 1,
        ...(v.shared_group !== undefined ? { sharedGroup: v.shared_group } : {}),
      };
    }
    case 'mqtt-sink': {
      const view = readMap(ctx, section, MQTT_SINK_SHAPE, where);
      const v = view?.values;
      if (v === undefined || v.url === undefined || v.topic === undefined) return undefined;
      return {
        type,
        ...mqttEndpoint(v.url, v.topic, v.client_id ?? v['client-id']),
        qos: (v.qos ?? 1) as 0 | 1,
        retain: v.retain ?? false,
        backoffMinMs: v['backoff-min'] ?? 1_000,
        backoffMaxMs: v['backoff-max'] ?? 60_000,
      };
    }
    case 'sql-sink': {
      const view = readMap(ctx, section, SQL_SINK_SHAPE, where);
      if (view === undefined || view.values.url === undefined) return undefined;
      const v = view.values;
      const mapped = transforms.some((t) => t.jsonSql !== undefined);
      if (mapped && v.table !== undefined) ctx.diagnostics.error('conflicting-keys', '`table` and a json-sql transform both say where rows go', view.keyPos('table'), 'keep one: the json-sql mapping names its own table');
      return { type, url: v.url!, ...(v.table !== undefined ? { table: v.table } : {}), uniqueColumns: v['unique-columns'] ?? [], backoffMinMs: v['backoff-min'] ?? 1_000, backoffMaxMs: v['backoff-max'] ?? 60_000 };
    }
    case 'nexmark-source': {
      const view = readMap(ctx, section, NEXMARK_SOURCE_SHAPE, where);
      if (view === undefined || view.values.events === undefined) return undefined;
      const v = view.values;
      return {
        type,
        events: v.events!,
        seed: v.seed ?? 0,
        rate: v.rate ?? 10_000,
        first: v.first ?? 0,
        ...(v['base-time'] !== undefined ? { baseTime: v['base-time'] } : {}),
        batch: v.batch ?? NEXMARK_SOURCE_BATCH,
      };
    }
    case 'postgres-source': {
      const view = readMap(ctx, section, POSTGRES_SOURCE_SHAPE, where);
      if (view === undefined || view.values.url === undefined) return undefined;
      const v = view.values;
      const mode = v.mode ?? (v.slot !== undefined ? 'cdc' : 'poll');
      if (mode === 'poll') {
        for (const key of ['table', 'column'] as const) {
          if (!view.has(key)) ctx.diagnostics.error('missing-key', `missing key \`${key}\` in ${where}`, view.pos, 'polling reads new rows of `table` in the order of `column`, an id or sequence that only grows');
        }
      }
      if (mode === 'cdc' && view.has('publication')) {
        ctx.diagnostics.error('unsupported-setting', '`publication` selects tables for pgoutput; ssdk decodes its slot with test_decoding', view.keyPos('publication'), 'name the table to follow with `table` (else every table\'s changes are published)');
      }
      if (mode === 'poll' && view.has('slot')) {
        ctx.diagnostics.error('unsupported-setting', 'a replication `slot` is read by `mode: cdc`, not by polling', view.keyPos('slot'), 'write `mode: cdc`, or remove `slot`');
      }
      return {
        type,
        url: v.url!,
        mode,
        ...(v.table !== undefined ? { table: v.table } : {}),
        ...(v.column !== undefined ? { column: v.column } : {}),
        intervalMs: v.interval ?? 1_000,
        ...(v.slot !== undefined ? { slot: v.slot } : {}),
        ...(v.publication !== undefined ? { publication: v.publication } : {}),
      };
    }
  }
}

/** What both MQTT connectors share: the broker, the MQTT topic, the client id (Fluvio's `client_id`). */
function mqttEndpoint(url: SecretText, topic: string, clientId: string | undefined): { url: SecretText; topic: string; clientId?: string } {
  return { url, topic, ...(clientId !== undefined ? { clientId } : {}) };
}

const headerList = z.array(secretText);

const HTTP_SOURCE_SHAPE = {
  endpoint: secretText.optional(),
  mode: z.enum(['poll', 'webhook']).optional(),
  method: httpMethod.optional(),
  body: z.string().optional(),
  'user-agent': text.optional(),
  user_agent: text.optional(),
  interval: positiveDuration.optional(),
  headers: headerList.optional(),
  'output-parts': z.enum(['body', 'full']).optional(),
  output_parts: z.enum(['body', 'full']).optional(),
  'output-type': z.enum(['text', 'json', 'record']).optional(),
  output_type: z.enum(['text', 'json', 'record']).optional(),
  split: z.enum(['none', 'lines', 'array']).optional(),
  listen: z.string().regex(/^[^:\s]*:\d+$/, { error: 'write `HOST:PORT`, e.g. `0.0.0.0:8080`' }).optional(),
  path: z.string().startsWith('/', { error: 'a path starts with `/`' }).optional(),
  token: secretText.optional(),
  stream: flag.optional(),
  delimiter: z.unknown().optional(),
  websocket_config: z.unknown().optional(),
};

const HTTP_SINK_SHAPE = {
  endpoint: secretText,
  method: httpMethod.optional(),
  'user-agent': text.optional(),
  user_agent: text.optional(),
  headers: headerList.optional(),
  http_request_timeout: positiveDuration.optional(),
  'request-timeout': positiveDuration.optional(),
  http_connect_timeout: positiveDuration.optional(),
  'connect-timeout': positiveDuration.optional(),
  backoff_min: positiveDuration.optional(),
  backoff_max: positiveDuration.optional(),
  'backoff-min': positiveDuration.optional(),
  'backoff-max': positiveDuration.optional(),
  body: z.enum(['record', 'array', 'lines']).optional(),
  interval: z.unknown().optional(),
};

const qos = z.union([z.literal(0), z.literal(1)], { error: 'ssdk publishes and subscribes with QoS 0 or 1' });

const MQTT_SOURCE_SHAPE = {
  url: secretText,
  topic: text,
  client_id: text.optional(),
  'client-id': text.optional(),
  timeout: fluvioDuration.optional(),
  payload_output_type: z.enum(['binary', 'json']).optional(),
  output: z.enum(['envelope', 'payload']).optional(),
  key: z.enum(['topic', 'last-level', 'none']).optional(),
  qos: qos.optional(),
  shared_group: z.string().regex(/^[^/#+\s]+$/, { error: 'a share name has no `/`, `#`, `+` or spaces' }).optional(),
};

const MQTT_SINK_SHAPE = {
  url: secretText,
  topic: text,
  client_id: text.optional(),
  'client-id': text.optional(),
  qos: qos.optional(),
  retain: flag.optional(),
  'backoff-min': positiveDuration.optional(),
  'backoff-max': positiveDuration.optional(),
};

const SQL_SINK_SHAPE = {
  url: secretText,
  table: text.optional(),
  'unique-columns': z.array(text).optional(),
  'backoff-min': positiveDuration.optional(),
  'backoff-max': positiveDuration.optional(),
};

const POSTGRES_SOURCE_SHAPE = {
  url: secretText,
  mode: z.enum(['poll', 'cdc']).optional(),
  table: text.optional(),
  column: text.optional(),
  interval: positiveDuration.optional(),
  slot: text.optional(),
  publication: text.optional(),
};

/** Whole numbers that stay exact as event numbers, ids and epoch milliseconds. */
const safeInteger = z.int({ error: 'write a whole number' }).min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);

const NEXMARK_SOURCE_SHAPE = {
  events: z.int({ error: 'write how many events, a whole number' }).min(1, { error: 'a nexmark-source generates at least one event' }).max(Number.MAX_SAFE_INTEGER),
  seed: safeInteger.optional(),
  rate: z.number({ error: 'write events per second of event time, a number' }).positive({ error: 'the rate is events per second of event time: more than zero' }).finite().optional(),
  first: z.int({ error: 'write the number of the first event, a whole number' }).min(0, { error: 'events are numbered from 0' }).max(Number.MAX_SAFE_INTEGER).optional(),
  'base-time': safeInteger.optional(),
  // A message holds at most 900 kB; 10 000 auctions (~500 B each) would be split into several.
  batch: z.int({ error: 'write events per publish, a whole number' }).min(1, { error: 'a batch holds at least one event' }).max(10_000, { error: 'at most 10 000 events a publish' }).optional(),
};

/**
 * `config` (every shape may carry one) and the consumer / producer settings that topics may
 * override: Fluvio's keys (`converter`, `consumer`, `producer`) and ssdk's own runtime settings.
 */
import { z } from 'zod';
import type { Node } from 'yaml';
import type { ParseContext } from './context.ts';
import type { ConsumerConfig, Converter, ProducerConfig, RuntimeSettings, Severity } from './model.ts';
import { fail, optionalNode, readMap } from './reader.ts';
import { converter, duration, settingsShape, text } from './schemas.ts';
import { toRuntimeSettings } from './settings.ts';
import { listNames } from './suggest.ts';

export interface ConfigSection {
  converter: Converter;
  consumer?: ConsumerConfig;
  producer?: ProducerConfig;
  settings: RuntimeSettings;
}

const CONFIG_SHAPE = { converter: converter.optional(), consumer: optionalNode, producer: optionalNode, default_starting_offset: optionalNode, ...settingsShape };

export function parseConfig(ctx: ParseContext, input: Node | undefined): ConfigSection {
  const view = input === undefined ? undefined : readMap(ctx, input, CONFIG_SHAPE, '`config`');
  const config: ConfigSection = { converter: view?.values.converter ?? 'json', settings: toRuntimeSettings(view?.values ?? {}) };
  const consumer = parseConsumer(ctx, view?.values.consumer, '`config.consumer`');
  const producer = parseProducer(ctx, view?.values.producer, '`config.producer`');
  if (consumer !== undefined) config.consumer = consumer;
  if (producer !== undefined) config.producer = producer;
  // Fluvio's examples also write it beside `converter` (key-processing, 0.5): the consumer's setting.
  if (view?.values.default_starting_offset !== undefined) {
    const offset = parseStartingOffset(ctx, view.values.default_starting_offset, '`config.default_starting_offset`');
    if (offset !== undefined) config.consumer = { ...config.consumer, defaultStartingOffset: config.consumer?.defaultStartingOffset ?? offset };
  }
  return config;
}

const STARTING_POSITIONS = ['Beginning', 'End', 'Offset'] as const;

/** Fluvio writes `Beginning`, `End`, `Offset`; any case is accepted. */
const startingPosition = z.unknown().transform((value, ctx) => {
  const position = typeof value === 'string' ? value.toLowerCase() : '';
  if (position === 'beginning' || position === 'end' || position === 'offset') return position;
  return fail(ctx, { code: 'invalid-value', hint: `allowed values: ${listNames(STARTING_POSITIONS)}` });
});

type StartingOffset = NonNullable<ConsumerConfig['defaultStartingOffset']>;

/**
 * `default_starting_offset: {position, value}`. `severity` is `warning` where the preview
 * accepted (and ignored) the setting, so files written for it still load.
 */
export function parseStartingOffset(
  ctx: ParseContext,
  input: Node | undefined,
  where: string,
  severity: Severity = 'error',
): StartingOffset | undefined {
  const view = readMap(ctx, input, { position: startingPosition, value: z.unknown().optional() }, where);
  const position = view?.values.position;
  if (view === undefined || position === undefined) return undefined;
  const value = view.values.value;
  if (value === undefined || value === null) return { position };
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return { position, value };
  ctx.diagnostics.add(
    severity,
    'invalid-value',
    `invalid value \`${String(value)}\` for \`value\` in ${where}`,
    view.valuePos('value'),
    'the offset is a whole number, 0 or more',
  );
  return { position };
}

const CONSUMER_SHAPE = {
  default_starting_offset: optionalNode,
  max_bytes: z.int().min(1, { error: 'a size in bytes, 1 or more' }).optional(),
  isolation: text.optional(),
  offset_consumer: text.optional(),
  offset_strategy: text.optional(),
};

export function parseConsumer(ctx: ParseContext, input: Node | undefined, where: string): ConsumerConfig | undefined {
  if (input === undefined) return undefined;
  const view = readMap(ctx, input, CONSUMER_SHAPE, where);
  if (view === undefined) return undefined;
  const { default_starting_offset: startNode, ...rest } = view.values;
  const consumer: ConsumerConfig = {};
  const start = startNode === undefined ? undefined : parseStartingOffset(ctx, startNode, `\`default_starting_offset\` of ${where}`);
  if (start !== undefined) consumer.defaultStartingOffset = start;
  const extra = definedEntries(rest);
  if (extra !== undefined) consumer.extra = extra;
  return consumer;
}

const PRODUCER_SHAPE = {
  batch_size: z.int().min(1, { error: 'a size in bytes, 1 or more' }).optional(),
  linger_ms: z.int().min(0, { error: 'a time in milliseconds, 0 or more' }).optional(),
  linger: duration.optional(),
  compression: z.enum(['none', 'gzip', 'snappy', 'lz4', 'zstd']).optional(),
  max_request_size: z.int().min(1, { error: 'a size in bytes, 1 or more' }).optional(),
  batch_queue_size: z.int().min(1, { error: 'a number of batches, 1 or more' }).optional(),
  timeout: duration.optional(),
  isolation: text.optional(),
  delivery_semantic: text.optional(),
};

export function parseProducer(ctx: ParseContext, input: Node | undefined, where: string): ProducerConfig | undefined {
  if (input === undefined) return undefined;
  const view = readMap(ctx, input, PRODUCER_SHAPE, where);
  if (view === undefined) return undefined;
  const { batch_size, linger_ms, linger, compression, ...rest } = view.values;
  const producer: ProducerConfig = {};
  if (batch_size !== undefined) producer.batchSize = batch_size;
  if (linger_ms !== undefined || linger !== undefined) producer.lingerMs = linger_ms ?? linger;
  if (compression !== undefined) producer.compression = compression;
  const extra = definedEntries(rest);
  if (extra !== undefined) producer.extra = extra;
  return producer;
}

function definedEntries(values: Record<string, unknown>): Record<string, unknown> | undefined {
  const entries = Object.entries(values).filter(([, value]) => value !== undefined);
  return entries.length === 0 ? undefined : Object.fromEntries(entries);
}

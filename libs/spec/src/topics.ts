/**
 * `topics:` (and `dev.topics:`): each topic's bus name, its key and value schema with their
 * converters, and its consumer / producer overrides.
 */
import type { Node } from 'yaml';
import { parseConsumer, parseProducer, parseStartingOffset } from './config.ts';
import type { ParseContext } from './context.ts';
import type { Converter, Topic, TopicSchemaPart } from './model.ts';
import { node, optionalNode, readEntries, readMap } from './reader.ts';
import { converter, text } from './schemas.ts';
import { parseType } from './types.ts';

const TOPIC_SHAPE = {
  name: text.optional(),
  schema: node,
  consumer: optionalNode,
  producer: optionalNode,
  // The preview also accepted these directly on a topic.
  converter: converter.optional(),
  default_starting_offset: optionalNode,
};

const SCHEMA_SHAPE = { key: optionalNode, value: node, converter: converter.optional() };

export function parseTopics(
  ctx: ParseContext,
  input: Node | undefined,
  origin: 'declared' | 'dev',
  defaultConverter: Converter,
): Record<string, Topic> {
  const topics: Record<string, Topic> = {};
  const section = origin === 'dev' ? '`dev.topics`' : '`topics`';
  for (const entry of readEntries(ctx, input, section)) {
    const where = `topic \`${entry.name}\``;
    const view = readMap(ctx, entry.node, TOPIC_SHAPE, where);
    // A topic with a broken definition still exists, so services naming it are not reported again.
    const topic: Topic = {
      id: entry.name,
      name: view?.values.name ?? entry.name,
      value: { type: { kind: 'invalid' }, converter: defaultConverter },
      origin,
      pos: entry.keyPos,
    };
    topics[entry.name] = topic;
    if (view === undefined) continue;

    const topicConverter = view.values.converter ?? defaultConverter;
    const schema = view.values.schema === undefined ? undefined : readMap(ctx, view.values.schema, SCHEMA_SHAPE, `\`schema\` of ${where}`);
    const schemaConverter = schema?.values.converter ?? topicConverter;
    if (schema?.values.value !== undefined) {
      topic.value = parseSchemaPart(ctx, schema.values.value, `\`schema.value\` of ${where}`, schemaConverter);
    }
    if (schema?.values.key !== undefined) {
      topic.key = parseSchemaPart(ctx, schema.values.key, `\`schema.key\` of ${where}`, schemaConverter);
    }

    const consumer = parseConsumer(ctx, view.values.consumer, `\`consumer\` of ${where}`) ?? {};
    if (view.values.default_starting_offset !== undefined) {
      // The preview ignored a starting offset written here, so its problems only warn.
      const start = parseStartingOffset(ctx, view.values.default_starting_offset, `\`default_starting_offset\` of ${where}`, 'warning');
      if (start !== undefined) consumer.defaultStartingOffset ??= start;
    }
    if (Object.keys(consumer).length > 0) topic.consumer = consumer;
    const producer = parseProducer(ctx, view.values.producer, `\`producer\` of ${where}`);
    if (producer !== undefined) topic.producer = producer;
  }
  return topics;
}

function parseSchemaPart(ctx: ParseContext, input: Node, where: string, defaultConverter: Converter): TopicSchemaPart {
  let partConverter: Converter | undefined;
  const type = parseType(ctx, input, where, {
    extra: { converter: converter.optional() },
    onExtra: (view) => {
      partConverter = view.values.converter;
    },
  });
  return { type, converter: partConverter ?? defaultConverter };
}

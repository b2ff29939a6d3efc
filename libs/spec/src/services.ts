/**
 * The parts of a service every dialect shares: sources and sinks, `partition`, `window`, and the
 * placement of a flat list of steps (the preview's and the seed's shape) into the model's
 * stages: stateless transforms → window (assign-timestamp, transforms) → partition
 * (assign-key, transforms, update-state) → flush.
 */
import type { Node } from 'yaml';
import { minorVersion, type ParseContext } from './context.ts';
import type { JoinSpec, OperatorKind, Partition, Sink, Source, SourcePos, Step, Watermark, WindowSpec } from './model.ts';
import { forbidTogether, node, optionalNode, readMap, requireOneOf } from './reader.ts';
import { duration, positiveDuration, text } from './schemas.ts';
import { STATELESS_OPERATORS, parseStep, parseStepList, type StepSlot } from './steps.ts';
import { suggestionHint } from './suggest.ts';
import { valueText } from './yaml-nodes.ts';
import { readConnectorBody } from './connectors/parse.ts';
import type { Connector } from './connectors/model.ts';

/** Steps allowed in `transforms` lists of Stateful DataFlow and of sources and sinks. */
export const STATELESS_SLOT: StepSlot = {
  allowed: STATELESS_OPERATORS,
  hint: 'only `filter`, `map`, `filter-map` and `flat-map` run here; keyed steps go under `partition` (or `window`)',
};

/** Every operator: the preview's and the seed's flat step lists, which `placeSteps` arranges. */
export const ANY_STEP_SLOT: StepSlot = {
  allowed: [...STATELESS_OPERATORS, 'assign-timestamp', 'assign-key', 'update-state', 'flush'],
};

// ---------------------------------------------------------------------------------------------
// Sources and sinks

const ENDPOINT_SHAPE = { type: text, id: text, transforms: optionalNode, connector: optionalNode };
/** The preview and 0.4.0 called an endpoint's transforms `steps`. */
const STEPS_ENDPOINT_SHAPE = { ...ENDPOINT_SHAPE, steps: optionalNode };

interface Endpoint {
  type: string;
  id: string;
  transforms: Step[];
  pos: SourcePos;
  idPos: SourcePos;
  connectorNode?: Node;
}

function readEndpoint(ctx: ParseContext, input: Node | undefined, where: string, types: readonly string[]): Endpoint | undefined {
  // From 0.5.0 `steps` is not a key, so `view.has('steps')` is false there.
  const stepsKey = ctx.dialect === 'preview' || (ctx.dialect === 'dataflow' && minorVersion(ctx) <= 4);
  const shape = (stepsKey ? STEPS_ENDPOINT_SHAPE : ENDPOINT_SHAPE) as typeof STEPS_ENDPOINT_SHAPE;
  const view = readMap(ctx, input, shape, where);
  if (view === undefined) return undefined;
  const { type, id } = view.values;
  if (type !== undefined && !types.includes(type)) {
    const schedule = type === 'schedule' && minorVersion(ctx) < 6 ? ' (`schedule` sources need apiVersion 0.6.0)' : '';
    ctx.diagnostics.error(
      'invalid-value',
      `invalid value \`${type}\` for \`type\` in ${where}`,
      view.valuePos('type'),
      `${suggestionHint(type, types, 'allowed values')}${schedule}`,
    );
    return undefined;
  }
  if (type === undefined || id === undefined) return undefined;
  forbidTogether(ctx, view, ['transforms', 'steps'], where);
  const key = view.has('steps') ? 'steps' : 'transforms';
  const transforms = parseStepList(ctx, view.valueNode(key), key, where, STATELESS_SLOT);
  const connectorNode = view.valueNode('connector');
  return { type, id, transforms, pos: view.pos, idPos: view.valuePos('id'), ...(connectorNode ? { connectorNode } : {}) };
}

export function parseSource(ctx: ParseContext, input: Node | undefined, where: string): Source | undefined {
  const types = minorVersion(ctx) >= 6 && ctx.dialect === 'dataflow' ? ['topic', 'schedule'] : ['topic'];
  const endpoint = readEndpoint(ctx, input, where, types);
  if (endpoint === undefined) return undefined;
  const { id, transforms, pos } = endpoint;
  if (endpoint.type === 'topic') {
    const connector = inlineConnector(ctx, endpoint, 'source');
    return { kind: 'topic', topic: id, transforms, pos, ...(connector ? { connector } : {}) };
  }
  const schedule = ctx.schedules.get(id);
  if (schedule === undefined) {
    ctx.diagnostics.error(
      'unknown-schedule',
      `${where} names schedule \`${id}\`, which \`schedule\` does not declare`,
      endpoint.idPos,
      ctx.schedules.size > 0 ? suggestionHint(id, [...ctx.schedules.keys()], 'declared schedules') : 'declare it under `schedule:` with a `cron` expression',
    );
    return undefined;
  }
  const source: Source = { kind: 'schedule', name: id, transforms, pos };
  if (schedule.cron !== undefined) source.cron = schedule.cron;
  if (schedule.intervalMs !== undefined) source.intervalMs = schedule.intervalMs;
  return source;
}

export function parseSink(ctx: ParseContext, input: Node | undefined, where: string): Sink | undefined {
  const endpoint = readEndpoint(ctx, input, where, ['topic']);
  if (endpoint === undefined) return undefined;
  const connector = inlineConnector(ctx, endpoint, 'sink');
  return { kind: 'topic', topic: endpoint.id, transforms: endpoint.transforms, pos: endpoint.pos, ...(connector ? { connector } : {}) };
}

/** `connector:` on a topic source or sink: what a connector file holds, its topic the endpoint's. */
function inlineConnector(ctx: ParseContext, endpoint: Endpoint, direction: 'source' | 'sink'): Connector | undefined {
  if (endpoint.connectorNode === undefined) return undefined;
  return readConnectorBody(ctx, endpoint.connectorNode, { allowApiVersion: false, inline: { topic: endpoint.id, direction } });
}

// ---------------------------------------------------------------------------------------------
// Partition and window

const PARTITION_SHAPE = { 'assign-key': node, transforms: optionalNode, 'update-state': optionalNode };

/** 0.4.0 wrote a partition's `update-state` as the last of its `transforms`. */
const PARTITION_TRANSFORMS_SLOT: StepSlot = { allowed: [...STATELESS_OPERATORS, 'update-state'] };

/** `partition: {assign-key, transforms, update-state}`; `path` is `partition` or `window.partition`. */
export function parsePartition(ctx: ParseContext, input: Node | undefined, path: string, owner: string): Partition | undefined {
  const view = readMap(ctx, input, PARTITION_SHAPE, `\`${path}\` of ${owner}`);
  if (view === undefined) return undefined;
  const slot = (key: 'assign-key' | 'update-state'): Step | undefined =>
    view.has(key) ? parseStep(ctx, view.valueNode(key), `\`${path}.${key}\` of ${owner}`, { fixed: key }) : undefined;
  const partition: Partition = { transforms: [], pos: view.pos };
  const assignKey = slot('assign-key');
  if (assignKey !== undefined) partition.assignKey = assignKey;
  const steps = parseStepList(ctx, view.valueNode('transforms'), `${path}.transforms`, owner, PARTITION_TRANSFORMS_SLOT);
  const updateState = slot('update-state');
  const where = `\`${path}\` of ${owner}`;
  for (const step of [...steps, ...(updateState === undefined ? [] : [updateState])]) {
    if (partition.updateState !== undefined) {
      const second = step.operator === 'update-state';
      ctx.diagnostics.error(
        'invalid-step-order',
        second ? `second \`update-state\` step in ${where}` : `\`${step.operator}\` step after \`update-state\` in ${where}`,
        step.pos,
        second ? 'a partition updates its state in one step' : '`update-state` ends the keyed part of a service; move this step before it',
      );
    } else if (step.operator === 'update-state') {
      partition.updateState = step;
    } else {
      partition.transforms.push(step);
    }
  }
  return partition;
}

/** The steps of a window, before they are joined with its bounds. */
export interface WindowBody {
  assignTimestamp?: Step;
  transforms: Step[];
  partition?: Partition;
  flush?: Step;
}

type WindowBounds = Pick<WindowSpec, 'kind' | 'durationMs' | 'offsetMs' | 'slideMs' | 'gapMs' | 'watermark'>;

export interface ParsedWindow {
  /** Missing when the bounds are broken (they were reported). */
  bounds?: WindowBounds;
  body: WindowBody;
  pos: SourcePos;
}

const WINDOW_SHAPE = {
  tumbling: optionalNode,
  sliding: optionalNode,
  session: optionalNode,
  watermark: optionalNode,
  'assign-timestamp': optionalNode,
  transforms: optionalNode,
  partition: optionalNode,
  flush: optionalNode,
};

/** `window:` of a service (`path` is `window`, or `transforms.window` in the preview). */
export function parseWindow(ctx: ParseContext, input: Node | undefined, path: string, owner: string): ParsedWindow | undefined {
  const where = `\`${path}\` of ${owner}`;
  const view = readMap(ctx, input, WINDOW_SHAPE, where);
  if (view === undefined) return undefined;
  const body: WindowBody = {
    transforms: parseStepList(ctx, view.valueNode('transforms'), `${path}.transforms`, owner, STATELESS_SLOT),
  };
  const slot = (key: 'assign-timestamp' | 'flush', operator: OperatorKind): Step | undefined =>
    view.has(key) ? parseStep(ctx, view.valueNode(key), `\`${path}.${key}\` of ${owner}`, { fixed: operator }) : undefined;
  const assignTimestamp = slot('assign-timestamp', 'assign-timestamp');
  const flush = slot('flush', 'flush');
  const partition = view.has('partition') ? parsePartition(ctx, view.valueNode('partition'), `${path}.partition`, owner) : undefined;
  if (assignTimestamp !== undefined) body.assignTimestamp = assignTimestamp;
  if (flush !== undefined) body.flush = flush;
  if (partition !== undefined) body.partition = partition;

  const window: ParsedWindow = { body, pos: view.pos };
  const watermark = parseWatermark(ctx, view.valueNode('watermark'), `\`${path}.watermark\` of ${owner}`);
  const kinds = ['tumbling', 'sliding', 'session'];
  if (!forbidTogether(ctx, view, kinds, where) || !requireOneOf(ctx, view, kinds, where)) {
    return window;
  }
  if (view.has('session')) {
    const session = readMap(ctx, view.valueNode('session'), { gap: positiveDuration }, `\`${path}.session\` of ${owner}`);
    const gapMs = session?.values.gap;
    if (gapMs !== undefined && watermark !== undefined) window.bounds = { kind: 'session', durationMs: gapMs, offsetMs: 0, gapMs, watermark };
  } else if (view.has('tumbling')) {
    const tumbling = readMap(ctx, view.valueNode('tumbling'), { duration: positiveDuration, offset: duration.optional() }, `\`${path}.tumbling\` of ${owner}`);
    const durationMs = tumbling?.values.duration;
    if (durationMs !== undefined && watermark !== undefined) {
      window.bounds = { kind: 'tumbling', durationMs, offsetMs: tumbling?.values.offset ?? 0, watermark };
    }
  } else {
    const slidingWhere = `\`${path}.sliding\` of ${owner}`;
    const sliding = readMap(ctx, view.valueNode('sliding'), { duration: positiveDuration, slide: positiveDuration }, slidingWhere);
    const durationMs = sliding?.values.duration;
    const slideMs = sliding?.values.slide;
    if (sliding !== undefined && durationMs !== undefined && slideMs !== undefined && slideMs > durationMs) {
      ctx.diagnostics.error(
        'invalid-value',
        `invalid value \`${valueText(sliding.valueNode('slide'))}\` for \`slide\` in ${slidingWhere}`,
        sliding.valuePos('slide'),
        `the slide must not be longer than the window's \`duration\` (\`${valueText(sliding.valueNode('duration'))}\`)`,
      );
    } else if (durationMs !== undefined && slideMs !== undefined && watermark !== undefined) {
      window.bounds = { kind: 'sliding', durationMs, offsetMs: 0, slideMs, watermark };
    }
  }
  return window;
}

const JOIN_SHAPE = {
  table: optionalNode,
  interval: optionalNode,
  watermark: optionalNode,
  'assign-key': optionalNode,
  transforms: optionalNode,
};

/**
 * `join:` of a service: `table: {table, stream, ttl}` or `interval: {left, right, lower, upper,
 * until?}`, a `watermark`, the `assign-key` both sides are keyed by and the `transforms` that
 * run on the joined records.
 */
export function parseJoin(ctx: ParseContext, input: Node | undefined, path: string, owner: string): JoinSpec | undefined {
  const where = `\`${path}\` of ${owner}`;
  const view = readMap(ctx, input, JOIN_SHAPE, where);
  if (view === undefined) return undefined;
  const assignKey = view.has('assign-key') ? parseStep(ctx, view.valueNode('assign-key'), `\`${path}.assign-key\` of ${owner}`, { fixed: 'assign-key' }) : undefined;
  const transforms = parseStepList(ctx, view.valueNode('transforms'), `${path}.transforms`, owner, STATELESS_SLOT);
  const watermark = parseWatermark(ctx, view.valueNode('watermark'), `\`${path}.watermark\` of ${owner}`);
  const kinds = ['table', 'interval'];
  if (!forbidTogether(ctx, view, kinds, where) || !requireOneOf(ctx, view, kinds, where) || watermark === undefined) return undefined;
  const common = { watermark, transforms, pos: view.pos, ...(assignKey ? { assignKey } : {}) };
  if (view.has('table')) {
    const t = readMap(ctx, view.valueNode('table'), { table: text, stream: text, ttl: positiveDuration }, `\`${path}.table\` of ${owner}`);
    const { table, stream, ttl } = t?.values ?? {};
    if (t === undefined || table === undefined || stream === undefined || ttl === undefined) return undefined;
    return { kind: 'table', left: table, right: stream, ttlMs: ttl, sidesPos: t.pos, ...common };
  }
  const i = readMap(
    ctx,
    view.valueNode('interval'),
    { left: text, right: text, lower: duration.optional(), upper: positiveDuration, until: text.optional() },
    `\`${path}.interval\` of ${owner}`,
  );
  const { left, right, lower, upper, until } = i?.values ?? {};
  if (i === undefined || left === undefined || right === undefined || upper === undefined) return undefined;
  return { kind: 'interval', left, right, lowerMs: lower ?? 0, upperMs: upper, ...(until !== undefined ? { until } : {}), sidesPos: i.pos, ...common };
}

function parseWatermark(ctx: ParseContext, input: Node | undefined, where: string): Watermark | undefined {
  if (input === undefined) return { gracePeriodMs: 0 };
  const view = readMap(ctx, input, { 'grace-period': duration.optional(), idleness: positiveDuration.optional() }, where);
  if (view === undefined) return undefined;
  const watermark: Watermark = { gracePeriodMs: view.values['grace-period'] ?? 0 };
  if (view.values.idleness !== undefined) watermark.idlenessMs = view.values.idleness;
  return watermark;
}

/** The model's window, when its bounds could be read. */
export function toWindowSpec(window: ParsedWindow | undefined): WindowSpec | undefined {
  if (window?.bounds === undefined) return undefined;
  const { bounds, body } = window;
  const spec: WindowSpec = { ...bounds, transforms: body.transforms, pos: window.pos };
  if (bounds.slideMs === undefined) delete spec.slideMs;
  if (bounds.gapMs === undefined) delete spec.gapMs;
  if (body.assignTimestamp !== undefined) spec.assignTimestamp = body.assignTimestamp;
  if (body.partition !== undefined) spec.partition = body.partition;
  if (body.flush !== undefined) spec.flush = body.flush;
  return spec;
}

// ---------------------------------------------------------------------------------------------
// Flat step lists (preview and seed)

export interface StepLayout {
  /** Stateless steps before any window or partition. */
  transforms: Step[];
  /** The keyed part, when there is no window (with a window it goes into the window's body). */
  partition?: Partition;
}

/** How far a flat list has got; a step may not go back to an earlier stage. */
const Stage = { Stateless: 0, Timestamped: 1, Keyed: 2, StateUpdated: 3, Flushed: 4 } as const;
type Stage = (typeof Stage)[keyof typeof Stage];

/**
 * Arranges a flat list of steps: everything after `assign-key` runs partitioned by that key,
 * `update-state` ends the keyed part, and with a window, `assign-timestamp` opens it and a flush
 * closes it. Steps that cannot be arranged are reported and left out.
 */
export function placeSteps(ctx: ParseContext, steps: readonly Step[], owner: string, window: WindowBody | undefined): StepLayout {
  const layout: StepLayout = { transforms: [] };
  let stage: Stage = Stage.Stateless;
  let partition: Partition | undefined;
  const order = (step: Step, message: string, hint: string): void =>
    ctx.diagnostics.error('invalid-step-order', message, step.pos, hint);

  for (const step of steps) {
    const op = step.operator;
    if ((op === 'assign-timestamp' || op === 'flush') && window === undefined) {
      order(step, `\`${op}\` step in ${owner} needs a window`, 'add a `window` with `tumbling` or `sliding` bounds');
    } else if (stage === Stage.Flushed) {
      order(step, `\`${op}\` step after \`flush\` in ${owner}`, "a window's flush is its last step; transform its result in a sink's `transforms`");
    } else if (op === 'flush' && window !== undefined) {
      if (window.flush !== undefined) order(step, `second \`flush\` step in ${owner}`, 'a window flushes once');
      else {
        window.flush = step;
        stage = Stage.Flushed;
      }
    } else if (op === 'assign-timestamp' && window !== undefined) {
      if (stage >= Stage.Keyed) {
        order(step, `\`assign-timestamp\` step after \`assign-key\` in ${owner}`, 'assign timestamps before partitioning: move it before the `assign-key` step');
      } else if (stage === Stage.Timestamped || window.assignTimestamp !== undefined) {
        order(step, `second \`assign-timestamp\` step in ${owner}`, 'a window assigns timestamps once');
      } else {
        window.assignTimestamp = step;
        stage = Stage.Timestamped;
      }
    } else if (op === 'assign-key') {
      if (stage >= Stage.Keyed || window?.partition !== undefined) {
        order(step, `second \`assign-key\` step in ${owner}`, 'a service is partitioned by one key');
      } else {
        partition = { assignKey: step, transforms: [], pos: step.pos };
        if (window !== undefined) window.partition = partition;
        else layout.partition = partition;
        stage = Stage.Keyed;
      }
    } else if (op === 'update-state') {
      if (stage === Stage.StateUpdated) order(step, `second \`update-state\` step in ${owner}`, 'a service updates its state in one step');
      else if (stage !== Stage.Keyed || partition === undefined) {
        order(step, `\`update-state\` step in ${owner} needs an \`assign-key\` step before it`, 'state is kept per key: add an `assign-key` step first');
      } else {
        partition.updateState = step;
        stage = Stage.StateUpdated;
      }
    } else if (stage === Stage.StateUpdated) {
      order(step, `\`${op}\` step after \`update-state\` in ${owner}`, '`update-state` ends the keyed part of a service; move this step before it');
    } else if (stage === Stage.Keyed && partition !== undefined) {
      partition.transforms.push(step);
    } else if (stage === Stage.Timestamped && window !== undefined) {
      window.transforms.push(step);
    } else {
      layout.transforms.push(step);
    }
  }
  return layout;
}

/**
 * The Stateful Services preview, `apiVersion` 0.1.0–0.3.0: like Stateful DataFlow, but a
 * service may have a single `source` / `sink`, `states` as a list, and `transforms` as an
 * object `{window, states, steps, flush}` whose flat `steps` list holds the keyed steps too
 * (0.1.0 names them `group-by` and `process`; the flush is `operator: aggregate`).
 */
import { isMap, isSeq, type Node } from 'yaml';
import type { ParseContext } from '../context.ts';
import type { Dataflow, Service, Sink, Source, SourcePos, StateDecl, Step } from '../model.ts';
import { forbidTogether, node, optionalNode, readEntries, readList, readMap, requireOneOf } from '../reader.ts';
import { COMMON_ROOT_SHAPE, parseCommonSections } from '../sections.ts';
import { ANY_STEP_SLOT, parseSink, parseSource, parseWindow, placeSteps, toWindowSpec, type ParsedWindow } from '../services.ts';
import { parseStates } from '../states.ts';
import { parseStep, parseStepList } from '../steps.ts';
import { deref, describeNode, isEmpty } from '../yaml-nodes.ts';

const ROOT_SHAPE = { ...COMMON_ROOT_SHAPE, services: node };

const SERVICE_SHAPE = {
  source: optionalNode,
  sources: optionalNode,
  states: optionalNode,
  transforms: optionalNode,
  sink: optionalNode,
  sinks: optionalNode,
};

const TRANSFORMS_SHAPE = { window: optionalNode, states: optionalNode, steps: optionalNode, flush: optionalNode };

const listOf = <T>(item: T | undefined): T[] => (item === undefined ? [] : [item]);

export function parsePreviewDialect(ctx: ParseContext, input: Node, dataflow: Dataflow): void {
  const root = readMap(ctx, input, ROOT_SHAPE, 'the services file');
  if (root === undefined) return;
  parseCommonSections(ctx, root, dataflow);
  for (const entry of readEntries(ctx, root.values.services, '`services`')) {
    const service = parseService(ctx, entry.name, entry.node, entry.keyPos);
    if (service !== undefined) dataflow.services[entry.name] = service;
  }
}

function parseService(ctx: ParseContext, name: string, input: Node | undefined, pos: SourcePos): Service | undefined {
  const owner = `service \`${name}\``;
  const view = readMap(ctx, input, SERVICE_SHAPE, owner);
  if (view === undefined) return undefined;
  const { values } = view;
  forbidTogether(ctx, view, ['source', 'sources'], owner);
  forbidTogether(ctx, view, ['sink', 'sinks'], owner);
  requireOneOf(ctx, view, ['source', 'sources'], owner);

  const sources: Source[] =
    values.source !== undefined
      ? listOf(parseSource(ctx, values.source, `\`source\` of ${owner}`))
      : readList(ctx, values.sources, `\`sources\` of ${owner}`).flatMap((item) => parseSource(ctx, item.node, `source ${item.number} of ${owner}`) ?? []);
  const sinks: Sink[] =
    values.sink !== undefined
      ? listOf(parseSink(ctx, values.sink, `\`sink\` of ${owner}`))
      : readList(ctx, values.sinks, `\`sinks\` of ${owner}`).flatMap((item) => parseSink(ctx, item.node, `sink ${item.number} of ${owner}`) ?? []);
  const states: StateDecl[] = parseStates(ctx, values.states, owner);

  const { steps, window, flush } = readTransforms(ctx, values.transforms, owner, states);
  if (flush !== undefined) {
    if (window === undefined) {
      ctx.diagnostics.error('invalid-step-order', `\`transforms.flush\` of ${owner} needs a window`, flush.pos, 'add `window` to `transforms`, with `tumbling` or `sliding` bounds');
    } else {
      window.body.flush = flush;
    }
  }
  const layout = placeSteps(ctx, steps, owner, window?.body);
  const service: Service = { name, sources, states, transforms: layout.transforms, sinks, pos };
  if (layout.partition !== undefined) service.partition = layout.partition;
  const spec = toWindowSpec(window);
  if (spec !== undefined) service.window = spec;
  return service;
}

/** `transforms` as a list of steps, or as `{window, states, steps, flush}` (adding its states to `states`). */
function readTransforms(
  ctx: ParseContext,
  input: Node | undefined,
  owner: string,
  states: StateDecl[],
): { steps: Step[]; window?: ParsedWindow; flush?: Step } {
  const target = deref(ctx.doc, input);
  if (isEmpty(target)) return { steps: [] };
  if (isSeq(target)) return { steps: parseStepList(ctx, target, 'transforms', owner, ANY_STEP_SLOT) };
  if (!isMap(target)) {
    ctx.diagnostics.error('invalid-type', `\`transforms\` of ${owner} must be a list or a mapping, found ${describeNode(target)}`, ctx.positions.of(target));
    return { steps: [] };
  }
  const view = readMap(ctx, target, TRANSFORMS_SHAPE, `\`transforms\` of ${owner}`);
  if (view === undefined) return { steps: [] };
  for (const state of parseStates(ctx, view.values.states, owner)) {
    if (states.some((s) => s.name === state.name)) {
      ctx.diagnostics.error('duplicate-name', `state \`${state.name}\` is declared twice in ${owner}`, state.pos);
    } else {
      states.push(state);
    }
  }
  const result: { steps: Step[]; window?: ParsedWindow; flush?: Step } = {
    steps: parseStepList(ctx, view.values.steps, 'transforms.steps', owner, ANY_STEP_SLOT),
  };
  const window = view.values.window === undefined ? undefined : parseWindow(ctx, view.values.window, 'transforms.window', owner);
  const flush = view.values.flush === undefined ? undefined : parseStep(ctx, view.values.flush, `\`transforms.flush\` of ${owner}`, { fixed: 'flush' });
  if (window !== undefined) result.window = window;
  if (flush !== undefined) result.flush = flush;
  return result;
}

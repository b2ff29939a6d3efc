/**
 * Stateful DataFlow, `apiVersion` 0.4.0–0.6.0 (`dataflow.yaml`): services with `sources`,
 * `states`, `transforms`, `partition` or `window`, and `sinks`; `imports` and `dev`; 0.6
 * `schedule` sources. 0.4.0 writes `states` as a list, which the states reader also takes.
 */
import type { Node } from 'yaml';
import { minorVersion, type ParseContext } from '../context.ts';
import type { Dataflow, Service, SourcePos } from '../model.ts';
import { node, optionalNode, readEntries, readList, readMap } from '../reader.ts';
import { COMMON_ROOT_SHAPE, parseCommonSections, parseDev, parseImports, parseSchedules } from '../sections.ts';
import { STATELESS_SLOT, parseJoin, parsePartition, parseSink, parseSource, parseWindow, toWindowSpec } from '../services.ts';
import { parseStates } from '../states.ts';
import { parseStepList } from '../steps.ts';

const ROOT_SHAPE = {
  ...COMMON_ROOT_SHAPE,
  services: node,
  imports: optionalNode,
  dev: optionalNode,
  schedule: optionalNode,
};

const SERVICE_SHAPE = {
  sources: node,
  states: optionalNode,
  transforms: optionalNode,
  partition: optionalNode,
  window: optionalNode,
  join: optionalNode,
  sinks: optionalNode,
};

const TRANSFORMS_HINT =
  'from apiVersion 0.4.0 `transforms` is a list of steps; a window is the service\'s `window:` and keyed steps go under `partition:`';

export function parseDataflowDialect(ctx: ParseContext, input: Node, dataflow: Dataflow): void {
  const root = readMap(ctx, input, ROOT_SHAPE, 'the services file');
  if (root === undefined) return;
  parseCommonSections(ctx, root, dataflow);
  dataflow.imports = parseImports(ctx, root.values.imports, 'imports');
  parseDev(ctx, root.values.dev, dataflow);
  if (root.has('schedule')) {
    if (minorVersion(ctx) >= 6) {
      parseSchedules(ctx, root.values.schedule);
    } else {
      ctx.diagnostics.error(
        'unsupported-key',
        `\`schedule\` needs apiVersion 0.6.0 or later, this file has ${ctx.apiVersion}`,
        root.keyPos('schedule'),
        'change `apiVersion` to `0.6.0`',
      );
    }
  }
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
  const service: Service = {
    name,
    sources: readList(ctx, values.sources, `\`sources\` of ${owner}`).flatMap(
      (item) => parseSource(ctx, item.node, `source ${item.number} of ${owner}`) ?? [],
    ),
    states: parseStates(ctx, values.states, owner),
    transforms: parseStepList(ctx, values.transforms, 'transforms', owner, STATELESS_SLOT, TRANSFORMS_HINT),
    sinks: readList(ctx, values.sinks, `\`sinks\` of ${owner}`).flatMap(
      (item) => parseSink(ctx, item.node, `sink ${item.number} of ${owner}`) ?? [],
    ),
    pos,
  };
  const partition = values.partition === undefined ? undefined : parsePartition(ctx, values.partition, 'partition', owner);
  const window = values.window === undefined ? undefined : toWindowSpec(parseWindow(ctx, values.window, 'window', owner));
  if (view.has('partition') && view.has('window')) {
    ctx.diagnostics.error(
      'conflicting-keys',
      `${owner} has both \`partition\` and \`window\``,
      view.keyPos('window'),
      'a windowed service partitions inside its window: move `partition` under `window`',
    );
  }
  const join = values.join === undefined ? undefined : parseJoin(ctx, values.join, 'join', owner);
  for (const other of ['partition', 'window'] as const) {
    if (view.has('join') && view.has(other)) {
      ctx.diagnostics.error(
        'conflicting-keys',
        `${owner} has both \`join\` and \`${other}\``,
        view.keyPos('join'),
        'a join keys its records itself (`join.assign-key`) and keeps its own state: split the service in two, one reading what the other writes',
      );
    }
  }
  if (partition !== undefined) service.partition = partition;
  if (window !== undefined) service.window = window;
  if (join !== undefined) service.join = join;
  return service;
}

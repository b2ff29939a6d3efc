/**
 * The seed schematic, `apiVersion: 0.1.0` with `functions`, `states` and `operations` (the shape
 * of the original concepts document). Each operation becomes a service: its `source` / `sink`
 * maps name topics (created implicitly when `topics` does not declare them), its `steps` call
 * declared functions by name, and its `state` map names the states it uses.
 */
import type { Node } from 'yaml';
import { z } from 'zod';
import type { ParseContext } from '../context.ts';
import type {
  Dataflow,
  FunctionParam,
  FunctionSignature,
  Service,
  Sink,
  Source,
  SourcePos,
  StateDecl,
  TypeRef,
} from '../model.ts';
import { node, optionalNode, readEntries, readList, readMap } from '../reader.ts';
import { converter, flag, text } from '../schemas.ts';
import { COMMON_ROOT_SHAPE, parseCommonSections } from '../sections.ts';
import { ANY_STEP_SLOT, parseWindow, placeSteps, toWindowSpec } from '../services.ts';
import { resolveStateType } from '../states.ts';
import { parseStepList, reportUnknownOperator, resolveOperator } from '../steps.ts';
import { suggestionHint } from '../suggest.ts';
import { typeToString } from '../type-format.ts';
import { parseType, typeFromName } from '../types.ts';
import { isEmpty, valueText } from '../yaml-nodes.ts';

const ROOT_SHAPE = { ...COMMON_ROOT_SHAPE, functions: optionalNode, states: optionalNode, operations: node };
const FUNCTION_SHAPE = { type: text, inputs: optionalNode, output: optionalNode };
const SEED_STATE_SHAPE = { type: text, interfaces: optionalNode };
const OPERATION_SHAPE = { state: optionalNode, source: node, steps: optionalNode, sink: optionalNode, window: optionalNode };

interface SeedState {
  type: TypeRef;
  /** Declared interface names; empty when the state declares none (then any name is accepted). */
  interfaces: Set<string>;
}

/** A state named by an operation, before it is known which operation owns it. */
interface StateUse {
  name: string;
  operation: string;
  updates: boolean;
  pos: SourcePos;
}

export function parseSeedDialect(ctx: ParseContext, input: Node, dataflow: Dataflow): void {
  const root = readMap(ctx, input, ROOT_SHAPE, 'the services file');
  if (root === undefined) return;
  parseCommonSections(ctx, root, dataflow);
  dataflow.functions = parseFunctions(ctx, root.values.functions);
  ctx.functions = dataflow.functions;
  const states = parseSeedStates(ctx, root.values.states);

  const topicOwners = new Map<string, { type: TypeRef; owner: string }>();
  const uses: StateUse[] = [];
  for (const entry of readEntries(ctx, root.values.operations, '`operations`')) {
    const service = parseOperation(ctx, entry.name, entry.node, entry.keyPos, dataflow, topicOwners, states, uses);
    if (service !== undefined) dataflow.services[entry.name] = service;
  }
  assignStates(dataflow, states, uses);
}

function parseFunctions(ctx: ParseContext, input: Node | undefined): Dataflow['functions'] {
  const functions: Dataflow['functions'] = {};
  for (const entry of readEntries(ctx, input, '`functions`')) {
    const where = `function \`${entry.name}\``;
    const view = readMap(ctx, entry.node, FUNCTION_SHAPE, where);
    if (view?.values.type === undefined) continue;
    const operator = resolveOperator(view.values.type);
    if (operator === undefined) {
      reportUnknownOperator(ctx, view.values.type, where, view.valuePos('type'));
      continue;
    }
    const signature: FunctionSignature = { params: parseInputs(ctx, view.values.inputs, where), returns: { kind: 'void' } };
    if (view.values.output !== undefined) signature.returns = parseOutput(ctx, view.values.output, where);
    functions[entry.name] = { name: entry.name, operator, signature, pos: entry.keyPos };
  }
  return functions;
}

export function parseInputs(ctx: ParseContext, input: Node | undefined, where: string): FunctionParam[] {
  const params: FunctionParam[] = [];
  for (const item of readList(ctx, input, `\`inputs\` of ${where}`)) {
    let name: string | undefined;
    let isKey = false;
    const type = parseType(ctx, item.node, `input ${item.number} of ${where}`, {
      // `kind: key` (packages): the record's key, which ssdk functions read with `ctx.key()`.
      extra: { name: text, kind: z.enum(['key', 'value']).optional() },
      onExtra: (view) => {
        name = view.values.name;
        isKey = view.values.kind === 'key';
      },
    });
    // As Fluvio's Rust signatures write a key input: `Option<K>` first.
    if (name !== undefined) params.push({ name, type: isKey ? { kind: 'option', value: type } : type });
  }
  return params;
}

/** `output: {type, optional?, list?}`: `list` makes a list of the type, `optional` an option of that. */
export function parseOutput(ctx: ParseContext, input: Node, where: string): TypeRef {
  let optional = false;
  let list = false;
  let type = parseType(ctx, input, `\`output\` of ${where}`, {
    extra: { optional: flag.optional(), list: flag.optional() },
    onExtra: (view) => {
      optional = view.values.optional ?? false;
      list = view.values.list ?? false;
    },
  });
  if (list) type = { kind: 'list', items: type };
  if (optional) type = { kind: 'option', value: type };
  return type;
}

function parseSeedStates(ctx: ParseContext, input: Node | undefined): Map<string, SeedState> {
  const states = new Map<string, SeedState>();
  for (const entry of readEntries(ctx, input, '`states`')) {
    const where = `state \`${entry.name}\``;
    const view = readMap(ctx, entry.node, SEED_STATE_SHAPE, where);
    const typeName = view?.values.type;
    if (view === undefined || typeName === undefined) continue;
    const type = resolveStateType(ctx, typeFromName(typeName, view.valuePos('type')), where) ?? { kind: 'invalid' };
    const interfaces = new Set(readEntries(ctx, view.values.interfaces, `\`interfaces\` of ${where}`).map((e) => e.name));
    states.set(entry.name, { type, interfaces });
  }
  return states;
}

function parseOperation(
  ctx: ParseContext,
  name: string,
  input: Node | undefined,
  pos: SourcePos,
  dataflow: Dataflow,
  topicOwners: Map<string, { type: TypeRef; owner: string }>,
  states: Map<string, SeedState>,
  uses: StateUse[],
): Service | undefined {
  const owner = `operation \`${name}\``;
  const view = readMap(ctx, input, OPERATION_SHAPE, owner);
  if (view === undefined) return undefined;
  const { values } = view;

  const topics = (key: 'source' | 'sink'): Array<{ topic: string; pos: SourcePos }> =>
    readEntries(ctx, values[key], `\`${key}\` of ${owner}`).map((entry) => {
      const where = `topic \`${entry.name}\` in \`${key}\` of ${owner}`;
      let written: 'json' | 'raw' | undefined;
      const type: TypeRef = isEmpty(entry.node)
        ? { kind: 'unknown' }
        : parseType(ctx, entry.node, where, {
            extra: { converter: converter.optional() },
            onExtra: (extra) => {
              written = extra.values.converter;
            },
          });
      declareTopic(ctx, dataflow, topicOwners, entry.name, type, written, entry.keyPos, owner);
      return { topic: entry.name, pos: entry.keyPos };
    });
  const sources: Source[] = topics('source').map(({ topic, pos: at }) => ({ kind: 'topic', topic, transforms: [], pos: at }));
  const sinks: Sink[] = topics('sink').map(({ topic, pos: at }) => ({ kind: 'topic', topic, transforms: [], pos: at }));

  const window = values.window === undefined ? undefined : parseWindow(ctx, values.window, 'window', owner);
  const steps = parseStepList(ctx, values.steps, 'steps', owner, ANY_STEP_SLOT);
  const layout = placeSteps(ctx, steps, owner, window?.body);
  const updates = (layout.partition ?? window?.body.partition)?.updateState !== undefined;

  for (const entry of readEntries(ctx, values.state, `\`state\` of ${owner}`)) {
    const declared = states.get(entry.name);
    if (declared === undefined) {
      ctx.diagnostics.error(
        'unknown-state',
        `${owner} uses state \`${entry.name}\`, which \`states\` does not declare`,
        entry.keyPos,
        states.size > 0 ? suggestionHint(entry.name, [...states.keys()], 'declared states') : 'declare it under `states:` with a keyed-state `type`',
      );
      continue;
    }
    for (const item of readList(ctx, entry.node, `interfaces of state \`${entry.name}\` in ${owner}`)) {
      const interfaceName = valueText(item.node);
      if (declared.interfaces.size > 0 && !declared.interfaces.has(interfaceName)) {
        ctx.diagnostics.error(
          'unknown-interface',
          `state \`${entry.name}\` has no interface \`${interfaceName}\` (used by ${owner})`,
          item.pos,
          suggestionHint(interfaceName, [...declared.interfaces], 'its interfaces'),
        );
      }
    }
    uses.push({ name: entry.name, operation: name, updates, pos: entry.keyPos });
  }

  const service: Service = { name, sources, states: [], transforms: layout.transforms, sinks, pos };
  if (layout.partition !== undefined) service.partition = layout.partition;
  const spec = toWindowSpec(window);
  if (spec !== undefined) service.window = spec;
  return service;
}

/** Topics the seed names only in `source` / `sink` exist implicitly; one topic carries one type. */
function declareTopic(
  ctx: ParseContext,
  dataflow: Dataflow,
  topicOwners: Map<string, { type: TypeRef; owner: string }>,
  name: string,
  type: TypeRef,
  written: 'json' | 'raw' | undefined,
  pos: SourcePos,
  owner: string,
): void {
  const existing = dataflow.topics[name];
  if (existing === undefined) {
    dataflow.topics[name] = { id: name, name, value: { type, converter: written ?? dataflow.config.converter }, origin: 'implicit', pos };
    topicOwners.set(name, { type, owner });
    return;
  }
  const first = topicOwners.get(name);
  const comparable = (t: TypeRef): boolean => t.kind !== 'unknown' && t.kind !== 'invalid';
  if (first !== undefined && comparable(first.type) && comparable(type) && typeToString(first.type) !== typeToString(type)) {
    ctx.diagnostics.error(
      'conflicting-topic-type',
      `topic \`${name}\` has type \`${typeToString(type)}\` in ${owner}, but type \`${typeToString(first.type)}\` in ${first.owner}`,
      type.pos ?? pos,
      'a topic carries one type: name the same type wherever the topic is used, or declare the topic under `topics`',
    );
  } else if (first !== undefined && !comparable(first.type) && comparable(type)) {
    existing.value.type = type;
    topicOwners.set(name, { type, owner });
  }
}

/**
 * One operation owns each state: the first that updates it (else the first that names it);
 * the others read it, as `from:` references do in the other dialects.
 */
function assignStates(dataflow: Dataflow, states: Map<string, SeedState>, uses: readonly StateUse[]): void {
  const owners = new Map<string, string>();
  for (const use of uses) if (use.updates && !owners.has(use.name)) owners.set(use.name, use.operation);
  for (const use of uses) if (!owners.has(use.name)) owners.set(use.name, use.operation);
  for (const use of uses) {
    const service = dataflow.services[use.operation];
    const ownerName = owners.get(use.name);
    if (service === undefined || ownerName === undefined || service.states.some((s) => s.name === use.name)) continue;
    const decl: StateDecl =
      ownerName === use.operation
        ? { kind: 'owned', name: use.name, type: states.get(use.name)?.type ?? { kind: 'invalid' }, pos: use.pos }
        : { kind: 'ref', name: use.name, fromService: ownerName, fromState: use.name, pos: use.pos };
    service.states.push(decl);
  }
}

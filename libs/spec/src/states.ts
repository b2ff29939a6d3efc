/**
 * A service's states, written as a mapping (0.5, 0.6) or as a list of `{name, ...}` (0.4 and
 * the preview), owned (`type: keyed-state`, the preview's `key-value`) or referenced
 * (`from: <service>.<state>`). Every owned state normalises to a `keyed-state` type.
 */
import { isMap, isScalar, isSeq, type Node } from 'yaml';
import type { ParseContext } from './context.ts';
import type { SourcePos, StateDecl, TypeRef } from './model.ts';
import { node, readList, readMap } from './reader.ts';
import { text } from './schemas.ts';
import { typeToString } from './type-format.ts';
import { parseKeyValue, typeFromName } from './types.ts';
import { deref, describeNode, isEmpty, keyText } from './yaml-nodes.ts';

const STATE_TYPE_HINT = 'a state is `type: keyed-state` with `properties: {key: {type: ...}, value: {type: ...}}`';

/** `owner` names the service in messages ("service `count-words`"). */
export function parseStates(ctx: ParseContext, input: Node | undefined, owner: string): StateDecl[] {
  const target = deref(ctx.doc, input);
  const states: StateDecl[] = [];
  if (isEmpty(target)) return states;
  if (isMap(target)) {
    const seen = new Set<string>();
    for (const pair of target.items) {
      const name = keyText(pair);
      if (name === undefined || seen.has(name)) continue;
      seen.add(name);
      const state = parseState(ctx, deref(ctx.doc, pair.value), name, ctx.positions.of(pair.key as Node), `state \`${name}\` of ${owner}`, false);
      if (state !== undefined) states.push(state);
    }
    return states;
  }
  if (!isSeq(target)) {
    ctx.diagnostics.error('invalid-type', `\`states\` of ${owner} must be a mapping or a list, found ${describeNode(target)}`, ctx.positions.of(target));
    return states;
  }
  const seen = new Map<string, SourcePos>();
  for (const item of readList(ctx, target, `\`states\` of ${owner}`)) {
    const written = isMap(item.node) ? item.node.get('name') : undefined;
    const where = typeof written === 'string' ? `state \`${written}\` of ${owner}` : `state ${item.number} of ${owner}`;
    const state = parseState(ctx, item.node, undefined, item.pos, where, true);
    if (state === undefined) continue;
    const first = seen.get(state.name);
    if (first !== undefined) {
      ctx.diagnostics.error(
        'duplicate-name',
        `state \`${state.name}\` is declared twice in ${owner}`,
        state.pos,
        `the first declaration is at line ${first.line}`,
      );
      continue;
    }
    seen.set(state.name, state.pos);
    states.push(state);
  }
  return states;
}

// In the list form a state's name is an entry of its own (optional for a reference, which can
// take the name of the state it reads).
const REF_SHAPE = { name: text.optional(), from: text };
const OWNED_SHAPE = { name: text, type: text, properties: node };
const NAMED_SHAPE = { name: text, type: text };
/** The map form's shape: the same keys but `name` (typed as the list form's, whose `name` is then never set). */
const withoutName = <S extends { name: unknown }>(shape: S): S => {
  const { name: _name, ...rest } = shape;
  return rest as S;
};
const MAP_FORM = { ref: withoutName(REF_SHAPE), owned: withoutName(OWNED_SHAPE), named: withoutName(NAMED_SHAPE) };
const LIST_FORM = { ref: REF_SHAPE, owned: OWNED_SHAPE, named: NAMED_SHAPE };

/** One state; in the map form `name` is its key, in the list form its `name` entry. */
function parseState(
  ctx: ParseContext,
  input: Node | undefined,
  name: string | undefined,
  pos: SourcePos,
  where: string,
  listForm: boolean,
): StateDecl | undefined {
  const shapes = listForm ? LIST_FORM : MAP_FORM;
  if (isMap(input) && input.has('from')) {
    const view = readMap(ctx, input, shapes.ref, where);
    const from = view?.values.from;
    if (view === undefined || from === undefined) return undefined;
    const dot = from.indexOf('.');
    if (dot <= 0 || dot === from.length - 1) {
      ctx.diagnostics.error(
        'invalid-value',
        `invalid value \`${from}\` for \`from\` in ${where}`,
        view.valuePos('from'),
        'write the state it reads as `<service>.<state>`',
      );
      return undefined;
    }
    const fromState = from.slice(dot + 1);
    const stateName = name ?? view.values.name ?? fromState;
    return { kind: 'ref', name: stateName, fromService: from.slice(0, dot), fromState, pos: listForm ? view.pos : pos };
  }

  const kindNode = isMap(input) ? deref(ctx.doc, input.get('type', true)) : undefined;
  const kind = isScalar(kindNode) && typeof kindNode.value === 'string' ? kindNode.value : '';
  if (kind === 'keyed-state' || kind === 'key-value') {
    const view = readMap(ctx, input, shapes.owned, where);
    const stateName = name ?? view?.values.name;
    if (view === undefined || stateName === undefined || !view.has('properties')) return undefined;
    const kv = parseKeyValue(ctx, view.valueNode('properties'), where, true);
    if (kv === undefined) return undefined;
    const type: TypeRef = { kind: 'keyed-state', key: kv.key, value: kv.value, pos: view.valuePos('type') };
    const state: StateDecl = { kind: 'owned', name: stateName, type, pos: listForm ? view.pos : pos };
    if (kv.ttlMs !== undefined) state.ttlMs = kv.ttlMs;
    return state;
  }
  const view = readMap(ctx, input, shapes.named, where);
  const stateName = name ?? view?.values.name;
  if (view === undefined || view.values.type === undefined || stateName === undefined) return undefined;
  const type = resolveStateType(ctx, typeFromName(view.values.type, view.valuePos('type')), where);
  return type === undefined ? undefined : { kind: 'owned', name: stateName, type, pos: listForm ? view.pos : pos };
}

/**
 * A state typed by name must name a `keyed-state` (or `key-value`) definition of `types`.
 * A name not declared in the file stays a reference (it may come from an import).
 */
export function resolveStateType(ctx: ParseContext, type: TypeRef, where: string): TypeRef | undefined {
  if (type.kind === 'keyed-state' || type.kind === 'invalid') return type;
  // Follow aliases (`word-totals: {type: totals}` where `totals` is the keyed-state).
  let declared: TypeRef | undefined = type;
  for (let hops = 0; declared?.kind === 'named' && hops < 32; hops++) declared = ctx.types[declared.name]?.type;
  if (declared === undefined || declared.kind === 'named') return type;
  if (declared.kind === 'keyed-state') return declared;
  if (declared.kind === 'key-value') return { kind: 'keyed-state', key: declared.key, value: declared.value, pos: type.pos ?? declared.pos };
  if (declared.kind === 'invalid') return declared;
  ctx.diagnostics.error(
    'invalid-state-type',
    `${where} has type \`${typeToString(type)}\`, which is not a keyed-state`,
    type.pos ?? ctx.positions.at(0),
    STATE_TYPE_HINT,
  );
  return undefined;
}

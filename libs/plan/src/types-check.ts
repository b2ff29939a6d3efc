/**
 * The type checker: walks every service's pipeline from its source topics to its sink topics,
 * computing what each step receives and returns, and reports where a step, a merge or a sink
 * does not fit what arrives. One mismatch is reported once: after it, the walk continues
 * with the type the step declares.
 */
import type { Dataflow, Diagnostic, FunctionSignature, Source, Step, TypeRef } from '@ssdk/spec';
import { assertNever } from './assert-never.ts';
import { diagnostic } from './diagnostics.ts';
import { signatureOf } from './functions.ts';
import { findTopic, type DataflowGraph, type ServiceNode, type StepTypes, type StreamType } from './graph.ts';
import type { StepSite } from './pipeline.ts';
import { isKeyType, isNumeric, isWildcard, resolveType, typesCompatible, typeToString } from './type-system.ts';

export interface TypeCheckResult {
  diagnostics: Diagnostic[];
  stepTypes: Map<Step, StepTypes>;
}

/** A stream plus where it comes from, for messages ("from step `split`", "from topic `sentences`"). */
interface Flow {
  stream: StreamType;
  origin: string;
}

const UNKNOWN: TypeRef = { kind: 'unknown' };
const VOID: TypeRef = { kind: 'void' };

export function checkTypes(graph: DataflowGraph): TypeCheckResult {
  const checker = new ChainChecker(graph.dataflow);
  for (const node of graph.services) checker.service(node);
  return { diagnostics: checker.diagnostics, stepTypes: checker.stepTypes };
}

class ChainChecker {
  readonly diagnostics: Diagnostic[] = [];
  readonly stepTypes = new Map<Step, StepTypes>();
  private readonly df: Dataflow;

  constructor(df: Dataflow) {
    this.df = df;
  }

  service({ name, service, pipeline }: ServiceNode): void {
    const arrivals = pipeline.sources.map((b) => ({ source: b.source, flow: this.chain(name, b.steps, this.sourceFlow(b.source)) }));
    const merged = this.merge(name, arrivals);
    const out = this.chain(name, pipeline.trunk, merged);
    // A window emits only through its flush; without one no record reaches the sinks (reported
    // as `window-missing-flush` and `sink-unreachable`), so there is nothing to check there.
    if ((service.window && !service.window.flush) || out.stream.value.kind === 'void') return;
    // A join without steps after it (`join-missing-transforms`) has no joined type to check.
    if (service.join && service.join.transforms.length === 0) return;
    for (const branch of pipeline.sinks) {
      const written = this.chain(name, branch.steps, out);
      this.sink(name, branch.sink.topic, branch.sink.pos, written.stream);
    }
  }

  private sourceFlow(source: Source): Flow {
    if (source.kind === 'schedule') return { stream: { value: UNKNOWN }, origin: `schedule \`${source.name}\`` };
    const topic = findTopic(this.df, source.topic);
    const stream: StreamType = topic?.key ? { key: topic.key.type, value: topic.value.type } : { value: topic?.value.type ?? UNKNOWN };
    return { stream, origin: `topic \`${source.topic}\`` };
  }

  /** Several sources merge into one stream: they must all arrive as the same type. */
  private merge(service: string, arrivals: Array<{ source: Source; flow: Flow }>): Flow {
    const first = arrivals.find((a) => !isWildcard(a.flow.stream.value)) ?? arrivals[0];
    if (!first) return { stream: { value: UNKNOWN }, origin: 'nowhere' };
    for (const a of arrivals) {
      if (a === first || typesCompatible(a.flow.stream.value, first.flow.stream.value, this.df.types)) continue;
      const got = this.print(a.flow.stream.value);
      const want = this.print(first.flow.stream.value);
      this.diagnostics.push(
        diagnostic(
          'merge-type-mismatch',
          a.source.pos,
          `source ${sourceName(a.source)} of service \`${service}\` arrives as \`${got}\`, but source ${sourceName(first.source)} arrives as \`${want}\`; merged sources must agree`,
          `add a \`map\` to this source's \`transforms\` that turns \`${got}\` into \`${want}\``,
        ),
      );
    }
    return first.flow;
  }

  private chain(service: string, sites: readonly StepSite[], start: Flow): Flow {
    let flow = start;
    let joined = false;
    for (const site of sites) {
      if (site.place === 'join.transforms' && !joined) {
        joined = true;
        flow = this.join(service, flow);
      }
      const { stream, rekeys } = this.step(service, site, flow);
      this.stepTypes.set(site.step, { input: flow.stream, output: stream, rekeys });
      flow = { stream, origin: `step \`${site.step.fn.name}\`` };
    }
    return flow;
  }

  /** What one step makes of its input: the operator registry of the type checker. */
  private step(service: string, site: StepSite, input: Flow): Emitted {
    const step = site.step;
    const sig = signatureOf(step, this.df);
    const returns = sig?.returns ?? UNKNOWN;
    const what = `\`${step.operator}\` step \`${step.fn.name}\` in service \`${service}\``;
    const wrongReturn = (expected: string, hint: string): void => {
      this.diagnostics.push(diagnostic('return-type-mismatch', step.pos, `${what} returns \`${this.print(returns)}\`; ${expected}`, hint));
    };
    const resolved = resolveType(returns, this.df.types);
    if (step.operator !== 'flush') this.input(what, step, sig, input);
    switch (step.operator) {
      case 'filter':
        if (sig && !this.is(returns, 'bool')) wrongReturn('a filter returns `bool`', 'return `true` to keep the record, `false` to drop it');
        return { stream: input.stream, rekeys: false };
      case 'map':
        if (resolved.kind === 'void') wrongReturn('a map returns the new record', 'return the record to pass on, or use `filter` to drop records');
        return emit(input.stream, returns, this.df);
      case 'filter-map':
        // `Out | undefined` is an option; a signature that left the `undefined` out still means `Out`.
        return emit(input.stream, resolved.kind === 'option' ? resolved.value : returns, this.df);
      case 'flat-map':
        if (resolved.kind === 'list') return emit(input.stream, resolved.items, this.df);
        if (!isWildcard(resolved)) wrongReturn('a flat-map returns a list', 'return a list (`T[]`), or use `map` for one record out');
        return emit(input.stream, UNKNOWN, this.df);
      case 'assign-key':
        if (!isKeyType(returns, this.df.types)) wrongReturn('a key is a string, a number or a bool', 'return the field to partition by');
        return { stream: { key: returns, value: input.stream.value }, rekeys: true };
      case 'assign-timestamp': {
        const eventTime = sig?.params[1];
        if (eventTime && !isWildcard(eventTime.type) && !isNumeric(eventTime.type, this.df.types)) {
          this.diagnostics.push(
            diagnostic(
              'type-mismatch',
              step.pos,
              `${what} takes \`${eventTime.name}\` as \`${this.print(eventTime.type)}\`, but the record's own timestamp is a number (epoch ms)`,
              `declare \`${eventTime.name}\` as \`number\``,
            ),
          );
        }
        if (sig && !isNumeric(returns, this.df.types) && !isWildcard(resolved)) {
          wrongReturn('an event time is a number (epoch ms)', 'return the event time in milliseconds since the epoch');
        }
        return { stream: input.stream, rekeys: false };
      }
      case 'update-state':
        // The record passes on unchanged (the golden examples rely on it: count, then forward).
        // Inside a window nothing passes: the window emits only what its flush returns.
        if (!site.windowed) return { stream: input.stream, rekeys: false };
        return { stream: input.stream.key ? { key: input.stream.key, value: VOID } : { value: VOID }, rekeys: false };
      case 'flush':
        // A flush sees every key of the window and emits one result (a list stays one record).
        if (resolved.kind === 'void') wrongReturn("a flush returns the window's result", 'return the result to send to the sinks');
        return emit({ value: VOID }, returns, this.df);
      default:
        return assertNever(step.operator);
    }
  }

  /**
   * What a join makes of what arrives: the sides must be variants of an externally tagged enum;
   * the joined record is `{<left>: L, <right>: R}` (an interval join: `{<left>: L, <right>: R[]}`).
   */
  private join(service: string, input: Flow): Flow {
    const j = this.df.services[service]!.join!;
    const arriving = resolveType(input.stream.value, this.df.types);
    const what = `the ${j.kind} join of service \`${service}\``;
    const unknown = (): Flow => ({ stream: { ...(input.stream.key ? { key: input.stream.key } : {}), value: UNKNOWN }, origin: 'the join' });
    if (isWildcard(arriving)) return unknown();
    if (arriving.kind !== 'enum' || arriving.tagging !== 'externally-tagged') {
      this.diagnostics.push(
        diagnostic(
          'join-invalid-side',
          j.sidesPos,
          `${what} receives \`${this.print(input.stream.value)}\` from ${input.origin}; a join's sides are two variants of an externally tagged enum`,
          'declare an `enum` type with one variant per side (`oneOf: {person: {type: person}, auction: {type: auction}}`) and read it',
        ),
      );
      return unknown();
    }
    const variantType = (name: string): TypeRef | undefined => {
      const v = arriving.variants.find((x) => x.name === name);
      if (!v) {
        this.diagnostics.push(
          diagnostic(
            'join-invalid-side',
            j.sidesPos,
            `${what} names side \`${name}\`, which is not a variant of \`${this.print(input.stream.value)}\``,
            `the variants are ${arriving.variants.map((x) => `\`${x.name}\``).join(', ')}`,
          ),
        );
        return undefined;
      }
      return v.type ?? UNKNOWN;
    };
    const left = variantType(j.left);
    const right = variantType(j.right);
    // One side twice is reported by the structure check (`join-invalid-side`), once.
    if (!left || !right || j.left === j.right) return unknown();
    if (j.kind === 'interval' && j.until !== undefined) {
      const l = resolveType(left, this.df.types);
      const field = l.kind === 'object' ? l.properties.find((p) => p.name === j.until) : undefined;
      if (!isWildcard(l) && (!field || !isNumeric(field.type, this.df.types))) {
        this.diagnostics.push(
          diagnostic(
            'join-invalid-until',
            j.sidesPos,
            `${what} ends intervals at \`${j.until}\`, which is not a number field of \`${j.left}\` (\`${this.print(left)}\`)`,
            l.kind === 'object' ? `number fields: ${l.properties.filter((p) => isNumeric(p.type, this.df.types)).map((p) => `\`${p.name}\``).join(', ') || 'none'}` : 'name a number field (epoch ms) of the left side',
          ),
        );
      }
    }
    const pos = j.sidesPos;
    const value: TypeRef = {
      kind: 'object',
      properties: [
        { name: j.left, type: left, optional: false, pos },
        { name: j.right, type: j.kind === 'interval' ? { kind: 'list', items: right } : right, optional: false, pos },
      ],
    };
    return { stream: { ...(input.stream.key ? { key: input.stream.key } : {}), value }, origin: `the ${j.kind} join` };
  }

  /** The step's value parameter (`params[0]`) must accept what arrives. */
  private input(what: string, step: Step, sig: FunctionSignature | undefined, input: Flow): void {
    const param = sig?.params[0];
    const arriving = input.stream.value;
    if (!param || arriving.kind === 'void' || typesCompatible(param.type, arriving, this.df.types)) return;
    const want = this.print(param.type);
    const got = this.print(arriving);
    this.diagnostics.push(
      diagnostic(
        'type-mismatch',
        step.pos,
        `${what} takes \`${want}\`, but receives \`${got}\` from ${input.origin}`,
        this.conversionHint(param.type, arriving, step),
      ),
    );
  }

  private conversionHint(want: TypeRef, got: TypeRef, step: Step): string {
    const g = resolveType(got, this.df.types);
    if (g.kind === 'list' && typesCompatible(g.items, want, this.df.types)) {
      return `a \`flat-map\` before \`${step.fn.name}\` would pass the list's items one by one`;
    }
    return `declare the parameter as \`${this.print(got)}\`, or add a \`map\` before \`${step.fn.name}\` that turns \`${this.print(got)}\` into \`${this.print(want)}\``;
  }

  private sink(service: string, topicId: string, pos: Step['pos'], written: StreamType): void {
    const topic = findTopic(this.df, topicId);
    if (!topic || written.value.kind === 'void') return;
    const head = `sink \`${topicId}\` of service \`${service}\``;
    if (!typesCompatible(written.value, topic.value.type, this.df.types)) {
      const got = this.print(written.value);
      const want = this.print(topic.value.type);
      this.diagnostics.push(
        diagnostic(
          'sink-type-mismatch',
          pos,
          `${head} writes \`${got}\`, but topic \`${topicId}\` holds \`${want}\``,
          `add a \`map\` to the sink's \`transforms\` that turns \`${got}\` into \`${want}\`, or change the topic's value type`,
        ),
      );
    }
    if (topic.key && written.key && !typesCompatible(written.key, topic.key.type, this.df.types)) {
      const got = this.print(written.key);
      const want = this.print(topic.key.type);
      this.diagnostics.push(
        diagnostic(
          'sink-type-mismatch',
          pos,
          `${head} writes keys of type \`${got}\`, but topic \`${topicId}\` has \`${want}\` keys`,
          `assign a \`${want}\` key (\`assign-key\` or a \`key-value\` output), or change the topic's key type`,
        ),
      );
    }
  }

  private is(t: TypeRef, primitive: 'bool'): boolean {
    return typesCompatible(t, { kind: 'primitive', name: primitive }, this.df.types);
  }

  private print(t: TypeRef): string {
    return typeToString(t, this.df.types);
  }
}

interface Emitted {
  stream: StreamType;
  rekeys: boolean;
}

/** A `key-value` output sets the record's key and passes its `value` on; anything else keeps the key. */
function emit(input: StreamType, out: TypeRef, df: Dataflow): Emitted {
  const r = resolveType(out, df.types);
  if (r.kind === 'key-value') return { stream: { key: r.key, value: r.value }, rekeys: true };
  return { stream: input.key ? { key: input.key, value: out } : { value: out }, rekeys: false };
}

function sourceName(source: Source): string {
  return source.kind === 'topic' ? `\`${source.topic}\`` : `schedule \`${source.name}\``;
}

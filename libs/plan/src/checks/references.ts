/**
 * Names that must resolve: topics of sources and sinks, named types wherever a type is written,
 * seed functions; plus the name-level rules around them (recursive types, reserved and unused
 * topic ids).
 */
import { kebabCase, PRIMITIVE_TYPES, type Diagnostic, type SourcePos, type Step, type TypeRef } from '@ssdk/spec';
import { diagnostic } from '../diagnostics.ts';
import { lookupFunction, usesSeedFunctions } from '../functions.ts';
import { findTopic, type DataflowGraph } from '../graph.ts';
import { closest, quoteList, suggestionHint } from '../names.ts';
import { pipelineSteps } from '../pipeline.ts';
import { cyclicComponents } from '../scc.ts';
import { lookupType, namedRefs } from '../type-system.ts';

export function checkReferences(graph: DataflowGraph): Diagnostic[] {
  return [...checkNames(graph), ...unusedTopics(graph)];
}

/** The names `graph`'s services give, and the file's types: what `checkReferences` says but for the topics no service uses. */
export function checkNames(graph: DataflowGraph): Diagnostic[] {
  return [...unknownTopics(graph), ...unknownTypes(graph), ...recursiveTypes(graph), ...unknownFunctions(graph), ...reservedTopicIds(graph)];
}

function unknownTopics({ dataflow: df, services }: DataflowGraph): Diagnostic[] {
  const ids = [...Object.keys(df.topics), ...Object.keys(df.dev.topics)];
  const hint = (id: string): string => suggestionHint(id, ids, 'topics', 'declare it under `topics:`');
  return services.flatMap(({ name, service }) => [
    ...service.sources.flatMap((s) =>
      s.kind === 'topic' && !findTopic(df, s.topic)
        ? [diagnostic('unknown-topic', s.pos, `unknown topic \`${s.topic}\` in a source of service \`${name}\``, hint(s.topic))]
        : [],
    ),
    ...service.sinks.flatMap((s) =>
      !findTopic(df, s.topic)
        ? [diagnostic('unknown-topic', s.pos, `unknown topic \`${s.topic}\` in a sink of service \`${name}\``, hint(s.topic))]
        : [],
    ),
  ]);
}

/** Every place a type is written, with what to call that place in a message. */
function typeSites({ dataflow: df, services }: DataflowGraph): Array<{ type: TypeRef; where: string; pos: SourcePos }> {
  const sites: Array<{ type: TypeRef; where: string; pos: SourcePos }> = [];
  for (const t of Object.values(df.types)) sites.push({ type: t.type, where: `type \`${t.name}\``, pos: t.pos });
  for (const topic of [...Object.values(df.topics), ...Object.values(df.dev.topics)]) {
    const where = `topic \`${topic.id}\``;
    if (topic.key) sites.push({ type: topic.key.type, where, pos: topic.pos });
    sites.push({ type: topic.value.type, where, pos: topic.pos });
  }
  for (const f of Object.values(df.functions)) {
    for (const t of [...f.signature.params.map((p) => p.type), f.signature.returns]) {
      sites.push({ type: t, where: `function \`${f.name}\``, pos: f.pos });
    }
  }
  for (const { name, service, pipeline } of services) {
    for (const s of service.states) {
      if (s.kind === 'owned') sites.push({ type: s.type, where: `state \`${s.name}\` of service \`${name}\``, pos: s.pos });
    }
    for (const { step } of pipelineSteps(pipeline)) {
      // A Rust body is reported once, as a function to port; its Rust types say nothing here.
      const sig = isRust(step) ? undefined : step.fn.signature;
      if (!sig) continue;
      for (const t of [...sig.params.map((p) => p.type), sig.returns]) {
        sites.push({ type: t, where: `the signature of \`${step.fn.name}\` in service \`${name}\``, pos: step.fn.pos });
      }
    }
  }
  return sites;
}

function unknownTypes(graph: DataflowGraph): Diagnostic[] {
  const types = graph.dataflow.types;
  const candidates = [...Object.keys(types), ...PRIMITIVE_TYPES];
  // Types a package import provides are known by name only: nothing to check them against.
  const imported = new Set(
    [...graph.dataflow.imports, ...graph.dataflow.dev.imports].flatMap((i) => i.types.map((t) => kebabCase(t.name))),
  );
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const site of typeSites(graph)) {
    for (const ref of namedRefs(site.type)) {
      if (lookupType(ref.name, types) || imported.has(kebabCase(ref.name))) continue;
      const pos = ref.pos ?? site.pos;
      const key = `${ref.name}@${pos.file}:${pos.line}:${pos.col}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const near = closest(ref.name, candidates);
      const hint = near !== undefined ? `did you mean \`${near}\`?` : 'declare it under `types:`';
      out.push(diagnostic('unknown-type', pos, `unknown type \`${ref.name}\` in ${site.where}`, hint));
    }
  }
  return out;
}

/** ssdk types become WIT types and JSON schemas, neither of which can describe a recursive type. */
function recursiveTypes({ dataflow: df }: DataflowGraph): Diagnostic[] {
  const names = Object.keys(df.types);
  const refs = new Map(
    names.map((n) => [
      n,
      namedRefs(df.types[n]?.type ?? { kind: 'unknown' }).flatMap((r) => {
        const found = lookupType(r.name, df.types);
        return found ? [found.name] : [];
      }),
    ]),
  );
  return cyclicComponents(names, (n) => refs.get(n) ?? []).map((cycle) => {
    const first = cycle[0] ?? '';
    const message =
      cycle.length === 1
        ? `type \`${first}\` refers to itself`
        : `types ${quoteList(cycle)} refer to each other in a cycle`;
    return diagnostic(
      'recursive-type',
      df.types[first]?.pos ?? df.meta.pos,
      message,
      'types cannot be recursive (they become WIT types); refer to the other record by its key instead',
    );
  });
}

function unknownFunctions({ dataflow: df, services }: DataflowGraph): Diagnostic[] {
  if (!usesSeedFunctions(df)) return [];
  const names = Object.keys(df.functions);
  return services.flatMap(({ name, pipeline }) =>
    pipelineSteps(pipeline).flatMap(({ step }): Diagnostic[] => {
      if (step.fn.source.kind !== 'uses') return [];
      const ref = step.fn.source.ref;
      const fn = lookupFunction(df, ref);
      if (!fn) {
        const hint = suggestionHint(ref, names, 'functions', 'declare it under `functions:`');
        return [diagnostic('unknown-function', step.fn.source.refPos, `unknown function \`${ref}\` in service \`${name}\``, hint)];
      }
      if (fn.operator !== step.operator) {
        // In the seed a window's flush is `type: aggregate`; a fixed slot (flush, assign-key, …)
        // has no operator of its own to change.
        const seedKind = (k: string) => (k === 'flush' ? 'aggregate' : k);
        const slot = step.operator === 'flush' || step.operator === 'assign-timestamp';
        return [
          diagnostic(
            'function-operator-mismatch',
            step.pos,
            `step \`${ref}\` in service \`${name}\` runs as \`${seedKind(step.operator)}\` but function \`${fn.name}\` is declared as \`${seedKind(fn.operator)}\``,
            slot
              ? `declare the function with \`type: ${seedKind(step.operator)}\``
              : `change the step's operator to \`${seedKind(fn.operator)}\`, or the function's \`type\` to \`${seedKind(step.operator)}\``,
          ),
        ];
      }
      return [];
    }),
  );
}

function reservedTopicIds({ dataflow: df, services }: DataflowGraph): Diagnostic[] {
  return services.flatMap(({ name }) =>
    (['dead-letter', 'late-events'] as const).flatMap((suffix) => {
      const topic = findTopic(df, `${name}.${suffix}`);
      return topic
        ? [
            diagnostic(
              'reserved-topic-id',
              topic.pos,
              `topic \`${topic.id}\` takes the id of the ${suffix} topic of service \`${name}\``,
              'rename the topic; every service has its own `<service>.dead-letter` and `<service>.late-events` topics',
            ),
          ]
        : [];
    }),
  );
}

function unusedTopics({ topics }: DataflowGraph): Diagnostic[] {
  return topics
    .filter((t) => t.topic.origin !== 'dev' && t.readers.length === 0 && t.writers.length === 0)
    .map((t) =>
      diagnostic(
        'unused-topic',
        t.topic.pos,
        `topic \`${t.id}\` is declared but no service reads or writes it`,
        "remove it, or name it in a service's `sources` or `sinks`",
      ),
    );
}

function isRust(step: Step): boolean {
  return step.fn.source.kind === 'inline' && step.fn.source.lang === 'rust';
}

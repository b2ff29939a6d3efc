/**
 * The WIT of a dataflow. Two packages:
 * - `ssdk:dataflow` (fixed, in `deps/`): the `host` interface — the only thing a sandboxed
 *   function can call (`log`, `lookup`, `lookup-many`; `now`, `random-bytes`, `env`, `http` as granted; `sql`) — and the worlds every component
 *   implements: `chain` (`process`, one call per batch) and `windowed-chain` (+ `flush`);
 * - `<namespace>:<name>@<version>` (from `meta`): the dataflow's `types` as WIT records and
 *   variants, and one world per service, named after it, that includes the chain world its
 *   service needs. Values cross the boundary as JSON in batch frames (see the host's batch
 *   encoding); the records document their shape for guests in any language.
 */
import type { Dataflow, NamedType, Service, TypeRef } from '@ssdk/spec';
import { lookupType, type DataflowGraph } from '@ssdk/plan';
import { witId, witPackagePart } from './names.ts';

export const HOST_PACKAGE = 'ssdk:dataflow';

/** `deps/ssdk-dataflow/package.wit`. */
export const HOST_WIT = `/// What every ssdk dataflow component shares: the host interface and the batch worlds.
package ssdk:dataflow;

/// The host imports: the whole reach of a sandboxed function. No file system or network; the
/// clock, randomness and environment only as the services file grants them (\`grants:\`): the
/// host refuses (traps) a call its steps were not granted. A component built by ssdk imports
/// this interface and nothing else.
interface host {
  /// Log levels of \`ctx.log\`.
  enum level { debug, info, warn, error }

  /// A window, epoch milliseconds, end exclusive.
  record window { start: s64, end: s64 }

  /// Which value a lookup reads: the operator's current value of the key (in a window, or
  /// outside any), or the committed value of any key (\`ctx.state(s).lookup(key)\`, ref-states).
  variant scope { committed, current(option<window>) }

  /// A \`ctx.log\` line of a step (\`operator\` is its id, \`<service>.<function>\`).
  log: func(level: level, operator: string, message: string);

  /// A state value as UTF-8 JSON, or none. \`key\` is the key as JSON text (\`"a"\`, \`1\`, \`true\`).
  lookup: func(state: string, key: string, scope: scope) -> option<list<u8>>;

  /// \`lookup\` for many keys in one call.
  lookup-many: func(state: string, keys: list<string>, scope: scope) -> list<option<list<u8>>>;

  /// The wall clock, epoch milliseconds (\`grants: [clock]\`: \`ctx.now()\`, \`Date.now()\`).
  now: func() -> s64;

  /// \`len\` random bytes (\`grants: [random]\`: \`ctx.random()\`, \`Math.random()\`, \`crypto.getRandomValues\`).
  random-bytes: func(len: u32) -> list<u8>;

  /// An environment variable the \`env\` grant names (\`grants: [{env: [NAME]}]\`), or none when unset.
  env: func(name: string) -> option<string>;

  /// \`ctx.sql\`: a read-only query over the dataflow's committed state tables. \`params\` is a
  /// JSON array; the answer is JSON: \`{"rows": [{column: value, ...}, ...]}\` or \`{"error": reason}\`.
  sql: func(query: string, params: string) -> string;

  /// \`ctx.http\`: a blocking HTTP request to a host the step's \`http\` grant names. \`request\` is JSON
  /// (url, method, headers, body, timeoutMs, retries, maxBytes); the answer is JSON:
  /// \`{"status", "headers", "body"}\` or \`{"error": reason, "kind": why}\`.
  http: func(request: string) -> string;
}

/// A service's steps over one batch. \`input\` and the result are "ssdk batch v1" frames:
/// a 32-byte header of little-endian u32s (version, count, table offset, values offset and
/// length, meta offset and length, flags), a table of 8-byte rows, a JSON array of values and a
/// JSON meta object. In: row i = (offset, length) of record i's value; meta = the steps to run,
/// keys, timestamps, windows and the state of the batch's keys. Out: row = (input index, value
/// ref), value ref 0xffffffff = the input's value unchanged; meta = changed keys and timestamps,
/// failures per record, state changes, log lines.
world chain {
  import host;
  export process: func(input: list<u8>) -> list<u8>;
}

/// A service with a window: \`process\` feeds the window's state, \`flush\` runs when it closes.
/// \`entries\` is a batch frame with no records whose meta holds every state entry of the window.
world windowed-chain {
  include chain;
  export flush: func(window-start: s64, window-end: s64, entries: list<u8>) -> list<u8>;
}

/// ssdk's own engine component: the chain executor without the dataflow's functions. \`load\`
/// receives them as JavaScript source when an instance is made, so a dataflow's edit needs a new
/// script, never a new component. It answers "" or what the functions threw while loading (with
/// their stack).
world engine {
  include chain;
  export load: func(functions: string) -> string;
}

/// The engine component of a service with a window.
world windowed-engine {
  include windowed-chain;
  export load: func(functions: string) -> string;
}
`;

export interface WitPackage {
  /** `namespace:name@version`. */
  packageName: string;
  /** Files of the WIT folder, relative to it: `dataflow.wit`, `deps/ssdk-dataflow/package.wit`. */
  files: Record<string, string>;
  /** Service name → its world name in the package. */
  worlds: Record<string, string>;
}

export function generateWit(df: Dataflow, graph: DataflowGraph): WitPackage {
  const ns = witPackagePart(df.meta.namespace || 'local');
  const name = witPackagePart(df.meta.name || 'dataflow');
  const version = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(df.meta.version) ? `@${df.meta.version}` : '';
  const packageName = `${ns}:${name}${version}`;
  const lines: string[] = [`// Generated by \`ssdk generate\` from ${baseName(df.file)}: do not edit, it is rewritten on every run.`, `package ${packageName};`, ''];
  lines.push(...typesInterface(df), '');
  const worlds: Record<string, string> = {};
  const used = new Set<string>(['types']);
  for (const node of graph.services) {
    let world = witId(node.name);
    for (let n = 2; used.has(world.replace(/^%/, '')); n++) world = `${witId(node.name)}-${n}`;
    used.add(world.replace(/^%/, ''));
    worlds[node.name] = world.replace(/^%/, '');
    const windowed = node.service.window?.flush !== undefined;
    lines.push(...worldDocs(node.service, graph), `world ${world} {`, `  include ${HOST_PACKAGE}/${windowed ? 'windowed-chain' : 'chain'};`, '}', '');
  }
  return { packageName, files: { 'dataflow.wit': lines.join('\n'), 'deps/ssdk-dataflow/package.wit': HOST_WIT }, worlds };
}

function baseName(file: string): string {
  return file.split(/[\\/]/).pop() ?? file;
}

function worldDocs(service: Service, graph: DataflowGraph): string[] {
  const node = graph.services.find((s) => s.service === service);
  if (!node) return [];
  const p = node.pipeline;
  const sites = [...p.sources.flatMap((b) => b.steps), ...p.trunk, ...p.sinks.flatMap((b) => b.steps)];
  return [`/// Service \`${service.name}\`: ${sites.length ? sites.map((s) => `${s.id} (${s.step.operator})`).join(', ') : 'no steps'}.`];
}

/** The `types` interface: every named type, in an order where each is defined before use. */
function typesInterface(df: Dataflow): string[] {
  const defs: string[] = [];
  const emitted = new Map<string, string>(); // services-file name -> WIT name
  const taken = new Set<string>();
  const visiting = new Set<string>();

  const claim = (wanted: string): string => {
    let id = witId(wanted);
    const bare = (s: string) => s.replace(/^%/, '');
    for (let n = 2; taken.has(bare(id)); n++) id = witId(`${wanted}-${n}`);
    taken.add(bare(id));
    return id;
  };

  const named = (nt: NamedType): string => {
    const done = emitted.get(nt.name);
    if (done) return done;
    if (visiting.has(nt.name)) return 'list<u8>'; // recursive: WIT has no recursive types; JSON bytes
    visiting.add(nt.name);
    const id = claim(nt.name);
    emitted.set(nt.name, id);
    define(id, nt.type, nt.name);
    visiting.delete(nt.name);
    return id;
  };

  const ref = (t: TypeRef, hint: string): string => {
    switch (t.kind) {
      case 'primitive':
        return t.name === 'bytes' ? 'list<u8>' : t.name.replace(/^i/, 's');
      case 'named': {
        const nt = lookupType(t.name, df.types);
        if (!nt) return 'list<u8>';
        if (visiting.has(nt.name) && !emitted.has(nt.name)) return 'list<u8>';
        return named(nt);
      }
      case 'list':
        return `list<${ref(t.items, `${hint}-item`)}>`;
      case 'option':
        return `option<${ref(t.value, hint)}>`;
      case 'key-value':
      case 'keyed-state':
        return `tuple<${ref(t.key, `${hint}-key`)}, ${ref(t.value, `${hint}-value`)}>`;
      case 'object':
      case 'enum':
      case 'arrow-row': {
        const id = claim(('typeName' in t && t.typeName) || hint);
        define(id, t, hint);
        return id;
      }
      case 'number':
        return 'f64';
      case 'void':
      case 'unknown':
      case 'invalid':
        return 'list<u8>';
      default: {
        const never: never = t;
        return never;
      }
    }
  };

  const define = (id: string, t: TypeRef, hint: string): void => {
    switch (t.kind) {
      case 'object': {
        if (t.properties.length === 0) {
          defs.push(`  /// \`${hint}\`: an object with no properties (JSON bytes).`, `  type ${id} = list<u8>;`);
          return;
        }
        const fields = t.properties.map((p) => {
          const ty = ref(p.type, `${hint}-${p.name}`);
          return `    ${witId(p.name)}: ${p.optional && p.type.kind !== 'option' ? `option<${ty}>` : ty},`;
        });
        defs.push(`  /// \`${hint}\``, `  record ${id} {`, ...fields, '  }');
        return;
      }
      case 'arrow-row': {
        if (t.columns.length === 0) {
          defs.push(`  type ${id} = list<u8>;`);
          return;
        }
        const fields = t.columns.map((c) => `    ${witId(c.name)}: option<${c.type === 'timestamp' ? 's64' : ref({ kind: 'primitive', name: c.type }, hint)}>,`);
        defs.push(`  /// \`${hint}\`: a state row (columns may be empty).`, `  record ${id} {`, ...fields, '  }');
        return;
      }
      case 'enum': {
        const seen = new Set<string>();
        const cases = t.variants.map((v) => {
          let c = witId(v.name);
          for (let n = 2; seen.has(c); n++) c = witId(`${v.name}-${n}`);
          seen.add(c);
          return v.type ? `${c}(${ref(v.type, `${hint}-${v.name}`)})` : c;
        });
        if (cases.length === 0) {
          defs.push(`  type ${id} = list<u8>;`);
          return;
        }
        const allUnit = t.variants.every((v) => v.type === null);
        defs.push(`  /// \`${hint}\` (${t.tagging})`, `  ${allUnit ? 'enum' : 'variant'} ${id} {`, ...cases.map((c) => `    ${c},`), '  }');
        return;
      }
      default:
        defs.push(`  /// \`${hint}\``, `  type ${id} = ${ref(t, hint)};`);
    }
  };

  for (const nt of Object.values(df.types)) named(nt);
  return ['/// The types of the services file.', 'interface types {', ...defs, '}'];
}

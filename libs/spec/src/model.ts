/**
 * The one model every shape of the services file normalises to.
 *
 * The parser (seed schematic, Stateful Services preview 0.1–0.3, Stateful DataFlow 0.4–0.6)
 * produces a `Dataflow`; the planner only ever sees this. Every element keeps the position
 * it was written at, so later stages (plan, build, runtime) can point users at their file.
 *
 * Durations are milliseconds. Names are kept as written in the file.
 */
import type { Connector } from './connectors/model.ts';

/** A place in a services file (1-based line and column). */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

export type Severity = 'error' | 'warning';

/**
 * One problem found in a services file. `code` is stable (tests and tools match on it);
 * `message` says what is wrong, `hint` what to do.
 */
export interface Diagnostic {
  severity: Severity;
  code: string;
  message: string;
  hint?: string;
  pos: SourcePos;
}

// ---------------------------------------------------------------------------------------------
// Types

export const INTEGER_TYPES = ['u8', 'u16', 'u32', 'u64', 'i8', 'i16', 'i32', 'i64'] as const;
export const FLOAT_TYPES = ['f32', 'f64'] as const;
export const PRIMITIVE_TYPES = [...INTEGER_TYPES, ...FLOAT_TYPES, 'bool', 'string', 'bytes'] as const;
export type IntegerTypeName = (typeof INTEGER_TYPES)[number];
export type PrimitiveTypeName = (typeof PRIMITIVE_TYPES)[number];

/** Aliases accepted in files, mapped to the canonical primitive name. */
export const PRIMITIVE_ALIASES: Readonly<Record<string, PrimitiveTypeName>> = {
  s8: 'i8',
  s16: 'i16',
  s32: 'i32',
  s64: 'i64',
  float32: 'f32',
  float64: 'f64',
  boolean: 'bool',
  str: 'string',
};

export interface ObjectProperty {
  name: string;
  type: TypeRef;
  optional: boolean;
  /** JSON field name when serialising (`serialize: {rename}`), if different from `name`. */
  serializeAs?: string;
  /** JSON field name accepted when deserialising (`deserialize: {rename}`), if different. */
  deserializeFrom?: string;
  pos: SourcePos;
}

export interface EnumVariant {
  name: string;
  /** The variant's payload type, or null for a unit variant. */
  type: TypeRef | null;
  /** The variant's name on the wire when serialising (`serialize: {rename}`), if different. */
  serializeAs?: string;
  /** The variant's name accepted when deserialising (`deserialize: {rename}`), if different. */
  deserializeFrom?: string;
  pos: SourcePos;
}

export interface ArrowColumn {
  name: string;
  /** Column types: numbers, bool, string, timestamp. */
  type: PrimitiveTypeName | 'timestamp';
  pos: SourcePos;
}

/**
 * A type as written. `named` refers to an entry of `Dataflow.types` and is resolved by the
 * planner (an unknown name is a plan error). `unknown` means "not declared anywhere" (for
 * example an inline function without type annotations): it is compatible with everything.
 * `invalid` stands in for a type the parser already reported; it is compatible with
 * everything too, so one mistake is reported once.
 */
export type TypeRef =
  | { kind: 'primitive'; name: PrimitiveTypeName; pos?: SourcePos }
  | { kind: 'named'; name: string; pos?: SourcePos }
  | { kind: 'object'; properties: ObjectProperty[]; typeName?: string; pos?: SourcePos }
  | { kind: 'enum'; variants: EnumVariant[]; tagging: 'externally-tagged' | 'untagged'; typeName?: string; pos?: SourcePos }
  | { kind: 'list'; items: TypeRef; typeName?: string; pos?: SourcePos }
  | { kind: 'option'; value: TypeRef; pos?: SourcePos }
  | { kind: 'key-value'; key: TypeRef; value: TypeRef; pos?: SourcePos }
  | { kind: 'keyed-state'; key: TypeRef; value: TypeRef; pos?: SourcePos }
  | { kind: 'arrow-row'; columns: ArrowColumn[]; pos?: SourcePos }
  /** A TypeScript `number` from an inline signature: compatible with every integer and float type. */
  | { kind: 'number'; pos?: SourcePos }
  /** `void` (update-state returns nothing). */
  | { kind: 'void'; pos?: SourcePos }
  | { kind: 'unknown'; pos?: SourcePos }
  | { kind: 'invalid'; pos?: SourcePos };

export interface NamedType {
  name: string;
  type: TypeRef;
  pos: SourcePos;
}

export type Converter = 'json' | 'raw';

// ---------------------------------------------------------------------------------------------
// Topics

export interface TopicSchemaPart {
  type: TypeRef;
  converter: Converter;
}

export interface Topic {
  /** The id services refer to. */
  id: string;
  /** The topic's name on the bus (the `name:` override, else the id). */
  name: string;
  key?: TopicSchemaPart;
  value: TopicSchemaPart;
  /** Per-topic consumer / producer overrides, as written. */
  consumer?: ConsumerConfig;
  producer?: ProducerConfig;
  /** `declared` in a `topics:` section; `implicit` when only named by a source or sink (seed dialect). */
  origin: 'declared' | 'implicit' | 'dev';
  pos: SourcePos;
}

export interface ConsumerConfig {
  defaultStartingOffset?: { position: 'beginning' | 'end' | 'offset'; value?: number };
  /** Anything else Fluvio's format allows here, kept as written. */
  extra?: Record<string, unknown>;
}

export interface ProducerConfig {
  batchSize?: number;
  lingerMs?: number;
  compression?: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
  extra?: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Functions and steps

export const OPERATOR_KINDS = [
  'filter',
  'map',
  'filter-map',
  'flat-map',
  'assign-key',
  'assign-timestamp',
  'update-state',
  'flush',
] as const;
export type OperatorKind = (typeof OPERATOR_KINDS)[number];

export interface FunctionParam {
  name: string;
  type: TypeRef;
}

/** What a function takes and returns, as far as the file (or its source code) tells. */
export interface FunctionSignature {
  params: FunctionParam[];
  /** For seed-declared functions with `output: {optional: true}` this is an `option`, with `list: true` a `list`. */
  returns: TypeRef;
}

export type FunctionLang = 'typescript' | 'rust';

/** Where a step's code lives. */
export type FunctionSource =
  /** `run: |` inline code. */
  | { kind: 'inline'; lang: FunctionLang; code: string; codePos: SourcePos }
  /** `uses: <fn>`: `functions/<fn>.ts`, a `.wasm` component, an import, or a seed `functions:` entry. */
  | {
      kind: 'uses';
      ref: string;
      refPos: SourcePos;
      /** The text of `functions/<fn>.ts`, when `loadServicesFile` found it beside the services file. */
      code?: string;
      /**
       * The TypeScript module that holds the function when it is not beside the services file:
       * an imported package's `functions/<fn>.ts` (absolute path).
       */
      module?: string;
      /** The package (`namespace/name@version`) the function is imported from, under its own name. */
      pkg?: { id: string; name: string };
    };

export interface FunctionRef {
  /** The function's name as written (inline: the declared function name; uses: the reference). */
  name: string;
  source: FunctionSource;
  /** Known when declared (seed `functions:`) or readable from inline code's annotations. */
  signature?: FunctionSignature;
  pos: SourcePos;
}

export interface Dependency {
  name: string;
  version?: string;
  /** Where the dependency comes from, as written (`path`, `git`, ...). */
  extra?: Record<string, unknown>;
  pos: SourcePos;
}

/** ssdk's own settings; `config` of the file, overridable per step. */
export interface RuntimeSettings {
  /** Partitions of each topic the dataflow creates. @default 8 */
  partitions?: number;
  /** `wasm`: a sandboxed component (`sandbox` in a file means the same); `native`: trusted, in V8. @default 'wasm' */
  isolation?: 'wasm' | 'native';
  /** Per call, in ms. @default 1000 */
  functionTimeoutMs?: number;
  /** Capabilities a function may use. @default [] */
  grants?: Array<'http' | 'clock' | 'env' | 'random'>;
  /** The environment variables `ctx.env(name)` may read (the `env` grant's names); set with `grants`. */
  env?: string[];
  /** The hosts `ctx.http` may call (the `http` grant's; `*`: any); set with `grants`. */
  http?: string[];
}

export interface Step {
  operator: OperatorKind;
  fn: FunctionRef;
  /** `with:` parameters (values as strings, as `ctx.param` returns them). */
  params: Record<string, string>;
  dependencies: Dependency[];
  settings: RuntimeSettings;
  pos: SourcePos;
}

// ---------------------------------------------------------------------------------------------
// Services


export type Source =
  /** `connector`: written inline, it feeds the topic from outside (an MQTT broker, a webhook ...). */
  | { kind: 'topic'; topic: string; transforms: Step[]; pos: SourcePos; connector?: Connector }
  /** 0.6 `schedule` source: a cron expression or a fixed interval. */
  | { kind: 'schedule'; name: string; cron?: string; intervalMs?: number; transforms: Step[]; pos: SourcePos };

export interface Sink {
  kind: 'topic';
  topic: string;
  transforms: Step[];
  pos: SourcePos;
  /** Written inline: it takes the topic's records out (to PostgreSQL, an HTTP endpoint ...). */
  connector?: Connector;
}

export type StateDecl =
  | {
      kind: 'owned';
      name: string;
      /** Always a `keyed-state` (preview `key-value` states are normalised to it). */
      type: TypeRef;
      /** Row state time-to-live, ms. */
      ttlMs?: number;
      pos: SourcePos;
    }
  | { kind: 'ref'; name: string; fromService: string; fromState: string; pos: SourcePos };

export interface Partition {
  assignKey?: Step;
  transforms: Step[];
  updateState?: Step;
  pos: SourcePos;
}

export interface Watermark {
  gracePeriodMs: number;
  /** When set, a partition idle this long stops holding the watermark back. */
  idlenessMs?: number;
}

export interface WindowSpec {
  kind: 'tumbling' | 'sliding' | 'session';
  /** Tumbling and sliding: the window's length. Session: the gap (a lone record's session lasts this long). */
  durationMs: number;
  /** Tumbling only. @default 0 */
  offsetMs: number;
  /** Sliding only. */
  slideMs?: number;
  /** Session only: a key's session ends once it has had no record for this long. */
  gapMs?: number;
  watermark: Watermark;
  assignTimestamp?: Step;
  transforms: Step[];
  partition?: Partition;
  flush?: Step;
  pos: SourcePos;
}

/**
 * `join:` — two sides of the service's records (two variants of an enum) joined on the key its
 * `assign-key` gives both: `table` keeps the `left` (table) side's latest value per key and
 * joins each `right` (stream) record at once; `interval` joins a `left` record with the `right`
 * records of its interval and emits it when the interval closes. `transforms` run on the joined
 * records (`{<left>: L, <right>: R}`, for an interval `{<left>: L, <right>: R[]}`).
 */
export interface JoinSpec {
  kind: 'table' | 'interval';
  /** Table: the table side. Interval: the side that opens an interval. */
  left: string;
  /** Table: the stream side. Interval: the side that joins intervals. */
  right: string;
  /** Table only: an entry goes once the watermark is this far past its event time. */
  ttlMs?: number;
  /** Interval only: a right record at time r joins a left one at t when t + lower <= r <= t + upper. */
  lowerMs?: number;
  upperMs?: number;
  /** Interval only: a numeric field of the left value that ends its interval earlier. */
  until?: string;
  watermark: Watermark;
  assignKey?: Step;
  transforms: Step[];
  pos: SourcePos;
  /** Where the sides are named (the `table:` / `interval:` map), for messages about them. */
  sidesPos: SourcePos;
}

export interface Service {
  name: string;
  sources: Source[];
  states: StateDecl[];
  /** Stateless steps before any partition or window. */
  transforms: Step[];
  partition?: Partition;
  window?: WindowSpec;
  join?: JoinSpec;
  sinks: Sink[];
  pos: SourcePos;
}

export interface Import {
  pkg: string;
  path?: string;
  functions: Array<{ name: string; alias?: string; pos: SourcePos }>;
  types: Array<{ name: string; pos: SourcePos }>;
  states: Array<{ name: string; pos: SourcePos }>;
  pos: SourcePos;
}

/** A function an `sdf-package.yaml` declares: its signature, and the states it reads or updates. */
export interface PackageFunction {
  name: string;
  operator: OperatorKind;
  signature: FunctionSignature;
  states: Array<{ name: string; pos: SourcePos }>;
  dependencies: Dependency[];
  /** `run:` code written in the package file; without it the body is `functions/<name>.ts` in the package's folder. */
  inline?: Extract<FunctionSource, { kind: 'inline' }>;
  /** The TypeScript module of the body (absolute), when `loadPackageFile` found one. */
  module?: string;
  pos: SourcePos;
}

/** An `sdf-package.yaml`: types, states and functions a dataflow imports (`imports: [{pkg, path}]`). */
export interface Package {
  file: string;
  apiVersion: string;
  meta: { name: string; namespace: string; version: string; pos: SourcePos };
  imports: Import[];
  types: Record<string, NamedType>;
  states: Record<string, Extract<StateDecl, { kind: 'owned' }>>;
  functions: Record<string, PackageFunction>;
  dev: { imports: Import[] };
}

export type Dialect = 'seed' | 'preview' | 'dataflow';

export interface Dataflow {
  file: string;
  dialect: Dialect;
  apiVersion: string;
  meta: { name: string; namespace: string; version: string; pos: SourcePos };
  config: {
    converter: Converter;
    consumer?: ConsumerConfig;
    producer?: ProducerConfig;
    settings: RuntimeSettings;
  };
  types: Record<string, NamedType>;
  topics: Record<string, Topic>;
  /** Seed `functions:` declarations (dialect 1); empty for the other shapes. */
  functions: Record<string, { name: string; operator: OperatorKind; signature: FunctionSignature; pos: SourcePos }>;
  services: Record<string, Service>;
  imports: Import[];
  dev: { imports: Import[]; topics: Record<string, Topic> };
}

/** What parsing a services file returns: a model as complete as the file allows, and every problem found. */
export interface ParseResult {
  dataflow: Dataflow;
  diagnostics: Diagnostic[];
}

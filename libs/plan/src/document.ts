/**
 * The physical plan document: what the planner writes and every operator service reads. It is
 * plain data (JSON), versioned (`planVersion`) and hashed (`hash`), and it has a zod schema so a
 * service can validate a plan it loads. Field order here is the order in the JSON.
 */
import { z } from 'zod';
import { OPERATOR_KINDS, PRIMITIVE_TYPES, type Converter, type Dialect, type FunctionLang, type OperatorKind, type PrimitiveTypeName } from '@ssdk/spec';
import type { CompiledPlanOptions } from './options.ts';

/**
 * Bumped on any change a reader of an older version would misread. 2: the plan runs by itself —
 * topics, states and steps carry structured types (`schema`), steps say whether they set the key.
 */
export const PLAN_VERSION = 2;

/** A type as data: the model's `TypeRef` without positions, names canonical. */
export type PlanType =
  | { kind: 'primitive'; name: PrimitiveTypeName }
  | { kind: 'named'; name: string }
  | {
      kind: 'object';
      properties: Array<{ name: string; type: PlanType; optional: boolean; serializeAs?: string; deserializeFrom?: string }>;
      typeName?: string;
    }
  | { kind: 'enum'; variants: Array<{ name: string; type: PlanType | null; serializeAs?: string; deserializeFrom?: string }>; tagging: 'externally-tagged' | 'untagged'; typeName?: string }
  | { kind: 'list'; items: PlanType }
  | { kind: 'option'; value: PlanType }
  | { kind: 'key-value'; key: PlanType; value: PlanType }
  | { kind: 'keyed-state'; key: PlanType; value: PlanType }
  | { kind: 'arrow-row'; columns: Array<{ name: string; type: PrimitiveTypeName | 'timestamp' }> }
  | { kind: 'number' }
  | { kind: 'void' }
  | { kind: 'unknown' };

export interface PlanTypeDef {
  name: string;
  type: PlanType;
}

/**
 * - `source`: a user topic the dataflow only reads; `sink`: only writes; `intermediate`: both;
 *   `unused`: declared, neither read nor written (still created);
 * - `internal`: between two operators of one service;
 * - `dead-letter`, `late-events`: each service's own;
 * - `schedule`: the ticks of a `schedule` source, produced by the runtime's clock.
 */
export type PlanTopicKind = 'source' | 'sink' | 'intermediate' | 'unused' | 'internal' | 'dead-letter' | 'late-events' | 'schedule';

export interface PlanTopicPart {
  /** Printed type: `string`, `list<word>`, `option<car-event>`. */
  type: string;
  /** The same type as data: what the topic's codec is compiled from (names resolve in the plan's `types`). */
  schema: PlanType;
  converter: Converter;
}

export interface PlanTopic {
  id: string;
  /** The topic's name on the bus. */
  name: string;
  kind: PlanTopicKind;
  /** NATS subject template; `{partition}` stands for the partition number. */
  subject: string;
  partitions: number;
  key?: PlanTopicPart;
  value: PlanTopicPart;
  /** The service a service topic belongs to (all kinds but the user topics). */
  service?: string;
  /** For `schedule` topics. */
  schedule?: { name: string; cron?: string; intervalMs?: number };
}

export type PlanFunctionSource =
  /** `codeHash`: sha256 of the inline code (first 16 hex digits), so a changed body changes the plan. */
  | { kind: 'inline'; lang: FunctionLang; codeHash: string }
  /** `codeHash`: of the module's text when it was found beside the services file (sibling imports are not followed). */
  | { kind: 'uses'; ref: string; codeHash?: string };

/** A record's type at one point: printed key (when assigned) and value. */
export interface PlanRecordType {
  key?: string;
  value: string;
  /** The same types as data. */
  schema: { key?: PlanType; value: PlanType };
}

export interface PlanStep {
  /** The step's operator id (`<service>.<function>`), also inside a fused unit. */
  id: string;
  operator: OperatorKind;
  /** The function's name as written. */
  function: string;
  source: PlanFunctionSource;
  /** `with:` parameters. */
  params: Record<string, string>;
  input: PlanRecordType;
  output: PlanRecordType;
  /** The function returns a key-value pair: the record's key is what it says (not only for `assign-key`). */
  setsKey: boolean;
  /** The file's `config` with the step's overrides applied. */
  settings: {
    isolation: 'wasm' | 'native';
    functionTimeoutMs: number;
    grants: Array<'http' | 'clock' | 'env' | 'random'>;
    /** The variables `ctx.env(name)` may read; only with the `env` grant. */
    env?: string[];
    /** The hosts `ctx.http` may call (`*`: any); only with the `http` grant. */
    http?: string[];
  };
  dependencies: Array<{ name: string; version?: string }>;
}

/**
 * `forward`: records stay in their partition; `shuffle`: records move to the partition of their
 * (new) key, because the reading operator keeps keyed state.
 */
export type PlanEdgeKind = 'forward' | 'shuffle';

export interface PlanInput {
  topic: string;
  edge: PlanEdgeKind;
}

export interface PlanStateAccess {
  /** The name the service's functions use (`ctx.state(name)`). */
  name: string;
  table: string;
  access: 'read-write' | 'read';
}

/**
 * A join the unit runs before its steps (engine/joins.ts): `table` keeps `left` (latest per key,
 * `ttlMs`) and joins each `right` record; `interval` joins a `left` record with the `right` ones
 * in `[t + lowerMs, min(t + upperMs, left[until])]` and emits it when that closes.
 */
export type PlanJoin = (
  | { kind: 'table'; left: string; right: string; ttlMs: number }
  | { kind: 'interval'; left: string; right: string; lowerMs: number; upperMs: number; until?: string }
) & {
  /** The id of the step the joined records go to first (steps before it, fused in, run before the join). */
  at: string;
  watermark: { gracePeriodMs: number; idlenessMs?: number };
};

export interface PlanWindow {
  kind: 'tumbling' | 'sliding' | 'session';
  /** Tumbling and sliding: the window's length. Session: the gap. */
  durationMs: number;
  offsetMs: number;
  slideMs?: number;
  /** Session only: a key's session ends once it has had no record for this long. */
  gapMs?: number;
  watermark: { gracePeriodMs: number; idlenessMs?: number };
}

/**
 * - a single step: its operator kind;
 * - `fused`: several stateless steps run in one unit (`fuse: true`);
 * - `window`: a window's keyed `update-state` and its `flush`, which must share the window state;
 * - `join`: a service's join (its state) and the steps after it that run in the same unit;
 * - `passthrough`: no step at all: a service that copies or merges topics into its sinks.
 */
export type PlanOperatorKind = OperatorKind | 'fused' | 'window' | 'join' | 'passthrough';

/** One operator unit: one service process kind, run as `parallelism` replicas sharing `partitions`. */
export interface PlanOperator {
  id: string;
  service: string;
  kind: PlanOperatorKind;
  steps: PlanStep[];
  inputs: PlanInput[];
  /** Topic ids: every topic the operator writes. */
  outputs: string[];
  /**
   * A service's sink transforms run in the operator that makes their trunk (`fuse`): the steps
   * before the first branch's are the trunk, each of its records goes through every branch's steps
   * (ids, in `steps` order) to that branch's `outputs`, and only there. A branch without steps
   * writes the trunk's records as they are. Absent: every record goes to every output.
   */
  branches?: PlanBranch[];
  partitions: number;
  parallelism: number;
  states: PlanStateAccess[];
  window?: PlanWindow;
  join?: PlanJoin;
  deadLetter: string;
  lateEvents: string;
}

export interface PlanBranch {
  steps: string[];
  outputs: string[];
}

export interface PlanState {
  name: string;
  /** The service that writes it. */
  owner: string;
  /** PostgreSQL table: `[a-z0-9_]`, at most 63 characters, unique in the plan. */
  table: string;
  keyType: string;
  valueType: string;
  /** The same types as data: what the table's columns are made from. */
  key: PlanType;
  value: PlanType;
  /** Per (window, key) rather than per key. */
  windowed: boolean;
  ttlMs?: number;
}

export interface PlanEdgeEndpoint {
  kind: 'operator' | 'topic';
  id: string;
}

/**
 * Data edges (`forward` / `shuffle`) run operator → operator through an internal `topic`, or
 * between an operator and a user topic; `state-ref` edges run from the operator that writes a
 * state to each operator of a service that reads it.
 */
export interface PlanEdge {
  from: PlanEdgeEndpoint;
  to: PlanEdgeEndpoint;
  kind: PlanEdgeKind | 'state-ref';
  topic?: string;
  state?: string;
}

export interface PhysicalPlan {
  planVersion: typeof PLAN_VERSION;
  dataflow: { namespace: string; name: string; version: string; apiVersion: string; dialect: Dialect };
  options: CompiledPlanOptions;
  /** sha256 (hex) of the canonical JSON of everything else. */
  hash: string;
  types: PlanTypeDef[];
  topics: PlanTopic[];
  operators: PlanOperator[];
  states: PlanState[];
  edges: PlanEdge[];
}

// ---------------------------------------------------------------------------------------------
// The schema

const primitive = z.enum(PRIMITIVE_TYPES);

export const planTypeSchema: z.ZodType<PlanType> = z.lazy(() =>
  z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('primitive'), name: primitive }),
    z.object({ kind: z.literal('named'), name: z.string() }),
    z.object({
      kind: z.literal('object'),
      properties: z.array(
        z.object({
          name: z.string(),
          type: planTypeSchema,
          optional: z.boolean(),
          serializeAs: z.string().optional(),
          deserializeFrom: z.string().optional(),
        }),
      ),
      typeName: z.string().optional(),
    }),
    z.object({
      kind: z.literal('enum'),
      variants: z.array(z.object({ name: z.string(), type: planTypeSchema.nullable(), serializeAs: z.string().optional(), deserializeFrom: z.string().optional() })),
      tagging: z.enum(['externally-tagged', 'untagged']),
      typeName: z.string().optional(),
    }),
    z.object({ kind: z.literal('list'), items: planTypeSchema }),
    z.object({ kind: z.literal('option'), value: planTypeSchema }),
    z.object({ kind: z.literal('key-value'), key: planTypeSchema, value: planTypeSchema }),
    z.object({ kind: z.literal('keyed-state'), key: planTypeSchema, value: planTypeSchema }),
    z.object({ kind: z.literal('arrow-row'), columns: z.array(z.object({ name: z.string(), type: z.union([primitive, z.literal('timestamp')]) })) }),
    z.object({ kind: z.literal('number') }),
    z.object({ kind: z.literal('void') }),
    z.object({ kind: z.literal('unknown') }),
  ]),
);

const converter = z.enum(['json', 'raw']);
const topicPart = z.object({ type: z.string(), schema: planTypeSchema, converter });
const recordType = z.object({ key: z.string().optional(), value: z.string(), schema: z.object({ key: planTypeSchema.optional(), value: planTypeSchema }) });
const count = z.number().int().min(1);
const endpoint = z.object({ kind: z.enum(['operator', 'topic']), id: z.string().min(1) });
const joinWatermark = z.object({ gracePeriodMs: z.number().min(0), idlenessMs: z.number().positive().optional() });

export const physicalPlanSchema = z.object({
  planVersion: z.literal(PLAN_VERSION),
  dataflow: z.object({
    namespace: z.string(),
    name: z.string(),
    version: z.string(),
    apiVersion: z.string(),
    dialect: z.enum(['seed', 'preview', 'dataflow']),
  }),
  options: z.object({ partitions: count, fuse: z.boolean(), subjectPrefix: z.string().min(1) }),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  types: z.array(z.object({ name: z.string(), type: planTypeSchema })),
  topics: z.array(
    z.object({
      id: z.string().min(1),
      name: z.string().min(1),
      kind: z.enum(['source', 'sink', 'intermediate', 'unused', 'internal', 'dead-letter', 'late-events', 'schedule']),
      subject: z.string().min(1),
      partitions: count,
      key: topicPart.optional(),
      value: topicPart,
      service: z.string().optional(),
      schedule: z.object({ name: z.string(), cron: z.string().optional(), intervalMs: z.number().optional() }).optional(),
    }),
  ),
  operators: z.array(
    z.object({
      id: z.string().min(1),
      service: z.string(),
      kind: z.enum([...OPERATOR_KINDS, 'fused', 'window', 'join', 'passthrough']),
      steps: z.array(
        z.object({
          id: z.string().min(1),
          operator: z.enum(OPERATOR_KINDS),
          function: z.string(),
          source: z.discriminatedUnion('kind', [
            z.object({ kind: z.literal('inline'), lang: z.enum(['typescript', 'rust']), codeHash: z.string() }),
            z.object({ kind: z.literal('uses'), ref: z.string(), codeHash: z.string().optional() }),
          ]),
          params: z.record(z.string(), z.string()),
          input: recordType,
          output: recordType,
          setsKey: z.boolean(),
          settings: z.object({
            isolation: z.enum(['wasm', 'native']),
            functionTimeoutMs: z.number().positive(),
            grants: z.array(z.enum(['http', 'clock', 'env', 'random'])),
            env: z.array(z.string()).optional(),
            http: z.array(z.string()).optional(),
          }),
          dependencies: z.array(z.object({ name: z.string(), version: z.string().optional() })),
        }),
      ),
      inputs: z.array(z.object({ topic: z.string(), edge: z.enum(['forward', 'shuffle']) })),
      outputs: z.array(z.string()),
      branches: z.array(z.object({ steps: z.array(z.string()), outputs: z.array(z.string()).min(1) })).optional(),
      partitions: count,
      parallelism: count,
      states: z.array(z.object({ name: z.string(), table: z.string(), access: z.enum(['read-write', 'read']) })),
      window: z
        .object({
          kind: z.enum(['tumbling', 'sliding', 'session']),
          durationMs: z.number().positive(),
          offsetMs: z.number().min(0),
          slideMs: z.number().positive().optional(),
          gapMs: z.number().positive().optional(),
          watermark: z.object({ gracePeriodMs: z.number().min(0), idlenessMs: z.number().positive().optional() }),
        })
        .optional(),
      join: z
        .discriminatedUnion('kind', [
          z.object({ kind: z.literal('table'), left: z.string(), right: z.string(), ttlMs: z.number().positive(), at: z.string(), watermark: joinWatermark }),
          z.object({
            kind: z.literal('interval'),
            left: z.string(),
            right: z.string(),
            lowerMs: z.number(),
            upperMs: z.number(),
            until: z.string().optional(),
            at: z.string(),
            watermark: joinWatermark,
          }),
        ])
        .optional(),
      deadLetter: z.string(),
      lateEvents: z.string(),
    }),
  ),
  states: z.array(
    z.object({
      name: z.string(),
      owner: z.string(),
      table: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/),
      keyType: z.string(),
      valueType: z.string(),
      key: planTypeSchema,
      value: planTypeSchema,
      windowed: z.boolean(),
      ttlMs: z.number().positive().optional(),
    }),
  ),
  edges: z.array(
    z.object({
      from: endpoint,
      to: endpoint,
      kind: z.enum(['forward', 'shuffle', 'state-ref']),
      topic: z.string().optional(),
      state: z.string().optional(),
    }),
  ),
}) satisfies z.ZodType<PhysicalPlan>;

// The schema and the interfaces describe the same document: `satisfies` above checks that what
// the schema accepts is a PhysicalPlan, this checks that every PhysicalPlan is accepted.
function _everyPlanFitsTheSchema(p: PhysicalPlan): z.infer<typeof physicalPlanSchema> {
  return p;
}

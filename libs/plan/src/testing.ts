/**
 * Test helpers: model objects (`Dataflow` and its parts) built by hand, short, with a fresh
 * position for every element so a test can assert where a diagnostic points. Exported as
 * `@ssdk/plan/testing` for tests of other libs.
 *
 *   const b = modelBuilder();
 *   const df = b.dataflow({
 *     topics: { sentences: t.string(), words: t.string() },
 *     services: {
 *       split: {
 *         sources: [b.source('sentences')],
 *         transforms: [b.step('flat-map', 'splitSentence', [t.string()], t.list(t.string()))],
 *         sinks: [b.sink('words')],
 *       },
 *     },
 *   });
 */
import type {
  Converter,
  Dataflow,
  Diagnostic,
  Dialect,
  OperatorKind,
  Partition,
  PrimitiveTypeName,
  RuntimeSettings,
  Service,
  Sink,
  Source,
  SourcePos,
  StateDecl,
  Step,
  TypeRef,
  WindowSpec,
} from '@ssdk/spec';

const NOWHERE: SourcePos = { file: '', line: 0, col: 0 };

/** Type constructors. */
export const t = {
  prim: (name: PrimitiveTypeName): TypeRef => ({ kind: 'primitive', name }),
  string: (): TypeRef => t.prim('string'),
  bool: (): TypeRef => t.prim('bool'),
  u32: (): TypeRef => t.prim('u32'),
  u64: (): TypeRef => t.prim('u64'),
  i64: (): TypeRef => t.prim('i64'),
  f64: (): TypeRef => t.prim('f64'),
  named: (name: string, pos?: SourcePos): TypeRef => (pos ? { kind: 'named', name, pos } : { kind: 'named', name }),
  list: (items: TypeRef): TypeRef => ({ kind: 'list', items }),
  option: (value: TypeRef): TypeRef => ({ kind: 'option', value }),
  kv: (key: TypeRef, value: TypeRef): TypeRef => ({ kind: 'key-value', key, value }),
  keyed: (key: TypeRef, value: TypeRef): TypeRef => ({ kind: 'keyed-state', key, value }),
  object: (props: Record<string, TypeRef>, typeName?: string): TypeRef => ({
    kind: 'object',
    properties: Object.entries(props).map(([name, type]) => ({ name, type, optional: false, pos: NOWHERE })),
    ...(typeName !== undefined ? { typeName } : {}),
  }),
  number: (): TypeRef => ({ kind: 'number' }),
  void: (): TypeRef => ({ kind: 'void' }),
  unknown: (): TypeRef => ({ kind: 'unknown' }),
  invalid: (): TypeRef => ({ kind: 'invalid' }),
};

export interface StepExtra {
  /** Bind by name (`uses:`) instead of inline code. */
  uses?: string;
  code?: string;
  with?: Record<string, string>;
  settings?: RuntimeSettings;
}

export interface WindowInit {
  kind?: 'tumbling' | 'sliding' | 'session';
  durationMs?: number;
  offsetMs?: number;
  slideMs?: number;
  gapMs?: number;
  gracePeriodMs?: number;
  idlenessMs?: number;
  assignTimestamp?: Step;
  transforms?: Step[];
  partition?: Partition;
  flush?: Step;
}

export type ServiceInit = Partial<Omit<Service, 'name' | 'pos'>>;
export type TopicInit = TypeRef | { value: TypeRef; key?: TypeRef; name?: string; converter?: Converter; origin?: 'declared' | 'implicit' | 'dev' };

export interface DataflowInit {
  name?: string;
  namespace?: string;
  version?: string;
  dialect?: Dialect;
  apiVersion?: string;
  settings?: RuntimeSettings;
  types?: Record<string, TypeRef>;
  topics?: Record<string, TopicInit>;
  devTopics?: Record<string, TopicInit>;
  functions?: Record<string, { operator: OperatorKind; params: TypeRef[]; returns: TypeRef }>;
  services?: Record<string, ServiceInit>;
}

export interface ModelBuilder {
  /** The next fresh position. */
  pos(): SourcePos;
  /** A step; it has a signature when `params` is given. */
  step(operator: OperatorKind, name: string, params?: TypeRef[], returns?: TypeRef, extra?: StepExtra): Step;
  source(topic: string, transforms?: Step[]): Source;
  schedule(name: string, opts?: { cron?: string; intervalMs?: number; transforms?: Step[] }): Source;
  sink(topic: string, transforms?: Step[]): Sink;
  owned(name: string, type?: TypeRef): StateDecl;
  /** A ref-state: `from` is `<service>.<state>`. */
  ref(name: string, from: string): StateDecl;
  partition(init: { assignKey?: Step; transforms?: Step[]; updateState?: Step }): Partition;
  window(init: WindowInit): WindowSpec;
  dataflow(init: DataflowInit): Dataflow;
}

const PARAM_NAMES = ['value', 'eventTime'];

export function modelBuilder(options: { file?: string; firstLine?: number } = {}): ModelBuilder {
  const file = options.file ?? 'services.yaml';
  let line = options.firstLine ?? 1;
  const pos = (): SourcePos => ({ file, line: line++, col: 3 });
  const topic = (id: string, init: TopicInit, origin: 'declared' | 'dev') => {
    const full = 'kind' in init ? { value: init } : init;
    return {
      id,
      name: full.name ?? id,
      ...(full.key ? { key: { type: full.key, converter: 'json' as const } } : {}),
      value: { type: full.value, converter: full.converter ?? 'json' },
      origin: full.origin ?? origin,
      pos: pos(),
    };
  };
  const b: ModelBuilder = {
    pos,
    step(operator, name, params, returns, extra = {}) {
      const stepPos = pos();
      const fnPos = pos();
      return {
        operator,
        fn: {
          name: extra.uses ?? name,
          source: extra.uses
            ? { kind: 'uses', ref: extra.uses, refPos: fnPos }
            : { kind: 'inline', lang: 'typescript', code: extra.code ?? `function ${name}() {}`, codePos: fnPos },
          ...(params
            ? {
                signature: {
                  params: params.map((type, i) => ({ name: PARAM_NAMES[i] ?? `p${i}`, type })),
                  returns: returns ?? { kind: 'unknown' },
                },
              }
            : {}),
          pos: fnPos,
        },
        params: extra.with ?? {},
        dependencies: [],
        settings: extra.settings ?? {},
        pos: stepPos,
      };
    },
    source: (topicId, transforms = []) => ({ kind: 'topic', topic: topicId, transforms, pos: pos() }),
    schedule: (name, opts = {}) => ({
      kind: 'schedule',
      name,
      ...(opts.cron !== undefined ? { cron: opts.cron } : {}),
      ...(opts.intervalMs !== undefined ? { intervalMs: opts.intervalMs } : {}),
      transforms: opts.transforms ?? [],
      pos: pos(),
    }),
    sink: (topicId, transforms = []) => ({ kind: 'topic', topic: topicId, transforms, pos: pos() }),
    owned: (name, type = t.keyed(t.string(), t.u64())) => ({ kind: 'owned', name, type, pos: pos() }),
    ref: (name, from) => {
      const [fromService = '', fromState = ''] = from.split('.');
      return { kind: 'ref', name, fromService, fromState, pos: pos() };
    },
    partition: (init) => ({
      ...(init.assignKey ? { assignKey: init.assignKey } : {}),
      transforms: init.transforms ?? [],
      ...(init.updateState ? { updateState: init.updateState } : {}),
      pos: pos(),
    }),
    window: (init) => ({
      kind: init.kind ?? 'tumbling',
      durationMs: init.durationMs ?? 20_000,
      offsetMs: init.offsetMs ?? 0,
      ...(init.slideMs !== undefined ? { slideMs: init.slideMs } : {}),
      ...(init.gapMs !== undefined ? { gapMs: init.gapMs } : {}),
      watermark: { gracePeriodMs: init.gracePeriodMs ?? 0, ...(init.idlenessMs !== undefined ? { idlenessMs: init.idlenessMs } : {}) },
      ...(init.assignTimestamp ? { assignTimestamp: init.assignTimestamp } : {}),
      transforms: init.transforms ?? [],
      ...(init.partition ? { partition: init.partition } : {}),
      ...(init.flush ? { flush: init.flush } : {}),
      pos: pos(),
    }),
    dataflow: (init) => ({
      file,
      dialect: init.dialect ?? 'dataflow',
      apiVersion: init.apiVersion ?? '0.5.0',
      meta: { name: init.name ?? 'test-flow', namespace: init.namespace ?? 'test', version: init.version ?? '0.1.0', pos: pos() },
      config: { converter: 'json', settings: init.settings ?? {} },
      types: Object.fromEntries(Object.entries(init.types ?? {}).map(([name, type]) => [name, { name, type, pos: pos() }])),
      topics: Object.fromEntries(Object.entries(init.topics ?? {}).map(([id, x]) => [id, topic(id, x, 'declared')])),
      functions: Object.fromEntries(
        Object.entries(init.functions ?? {}).map(([name, f]) => [
          name,
          {
            name,
            operator: f.operator,
            signature: { params: f.params.map((type, i) => ({ name: PARAM_NAMES[i] ?? `p${i}`, type })), returns: f.returns },
            pos: pos(),
          },
        ]),
      ),
      services: Object.fromEntries(
        Object.entries(init.services ?? {}).map(([name, s]) => [
          name,
          {
            name,
            sources: s.sources ?? [],
            states: s.states ?? [],
            transforms: s.transforms ?? [],
            ...(s.partition ? { partition: s.partition } : {}),
            ...(s.window ? { window: s.window } : {}),
            sinks: s.sinks ?? [],
            pos: pos(),
          },
        ]),
      ),
      imports: [],
      dev: {
        imports: [],
        topics: Object.fromEntries(Object.entries(init.devTopics ?? {}).map(([id, x]) => [id, topic(id, x, 'dev')])),
      },
    }),
  };
  return b;
}

/**
 * A windowed word count and a reader of its state — the shape most tests plan:
 * `sentences` → word-count (split, lower, window: timestamp, key by word, count; flush top
 * words) → `top-words` → word-stats (reads the counts by ref-state) → `summaries`.
 */
export function wordCount(b: ModelBuilder = modelBuilder(), opts: { durationMs?: number } = {}): Dataflow {
  const s = t.string();
  return b.dataflow({
    name: 'word-count',
    namespace: 'examples',
    types: { 'word-count': t.object({ word: s, count: t.u32() }) },
    topics: { sentences: s, 'top-words': t.list(t.named('word-count')), summaries: s },
    services: {
      'word-count': {
        sources: [b.source('sentences')],
        states: [b.owned('count-per-word', t.keyed(s, t.u32()))],
        transforms: [b.step('flat-map', 'splitSentence', [s], t.list(s)), b.step('map', 'toLower', [s], s)],
        window: b.window({
          durationMs: opts.durationMs ?? 20_000,
          gracePeriodMs: 2_000,
          assignTimestamp: b.step('assign-timestamp', 'eventTime', [s, t.number()], t.number()),
          partition: b.partition({
            assignKey: b.step('assign-key', 'keyByWord', [s], s),
            updateState: b.step('update-state', 'incrementCount', [s], t.void()),
          }),
          flush: b.step('flush', 'topWords', [], t.list(t.named('WordCount'))),
        }),
        sinks: [b.sink('top-words')],
      },
      'word-stats': {
        sources: [b.source('top-words')],
        states: [b.ref('counts', 'word-count.count-per-word')],
        transforms: [b.step('map', 'summarize', [t.list(t.named('word-count'))], s)],
        sinks: [b.sink('summaries')],
      },
    },
  });
}

/** The diagnostics with one code. */
export function withCode(diags: readonly Diagnostic[], code: string): Diagnostic[] {
  return diags.filter((d) => d.code === code);
}

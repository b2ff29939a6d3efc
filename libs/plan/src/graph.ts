/**
 * The logical graph of a dataflow: services and the user topics that connect them, each
 * service as an ordered pipeline of steps, ref-state links, and the types the checker found
 * along every step.
 */
import type { Dataflow, Service, Step, Topic, TypeRef } from '@ssdk/spec';
import { buildPipeline, type ServicePipeline } from './pipeline.ts';

export interface ServiceNode {
  name: string;
  service: Service;
  pipeline: ServicePipeline;
  /** Topic ids read by the service's sources (known topics only, in source order, no repeats). */
  reads: string[];
  /** Topic ids its sinks write. */
  writes: string[];
}

export interface TopicNode {
  id: string;
  topic: Topic;
  /** Services reading it, in file order. */
  readers: string[];
  /** Services writing it, in file order. */
  writers: string[];
}

export interface StateRefLink {
  /** The service that owns (writes) the state. */
  owner: string;
  state: string;
  /** The service reading it through a ref-state. */
  reader: string;
  /** The reader's local name for the state. */
  as: string;
}

/** What a record looks like at one point of a pipeline. */
export interface StreamType {
  /** Set once a step assigned a key (`assign-key` or a `key-value` output); absent while unknown. */
  key?: TypeRef;
  /** `void` once the records ended in `update-state`. */
  value: TypeRef;
}

export interface StepTypes {
  input: StreamType;
  output: StreamType;
  /** The step assigns the record's key (`assign-key`, or a `key-value` output): records must be re-partitioned. */
  rekeys: boolean;
}

export interface DataflowGraph {
  dataflow: Dataflow;
  /** In file order. */
  services: ServiceNode[];
  /** Declared topics (and dev topics in use), in declared order. */
  topics: TopicNode[];
  stateRefs: StateRefLink[];
  /** The records' types before and after each step, by step (filled by the type checker). */
  stepTypes: ReadonlyMap<Step, StepTypes>;
}

/** A topic by id: the declared ones first, then `dev.topics`. */
export function findTopic(df: Dataflow, id: string): Topic | undefined {
  if (Object.hasOwn(df.topics, id)) return df.topics[id];
  if (Object.hasOwn(df.dev.topics, id)) return df.dev.topics[id];
  return undefined;
}

/** The graph's structure; types are filled in by `checkTypes`. */
export function buildGraph(df: Dataflow): DataflowGraph {
  const services: ServiceNode[] = Object.values(df.services).map((service) => {
    const reads = unique(service.sources.flatMap((s) => (s.kind === 'topic' && findTopic(df, s.topic) ? [s.topic] : [])));
    const writes = unique(service.sinks.flatMap((s) => (findTopic(df, s.topic) ? [s.topic] : [])));
    return { name: service.name, service, pipeline: buildPipeline(service), reads, writes };
  });
  const used = new Set(services.flatMap((s) => [...s.reads, ...s.writes]));
  const devInUse = Object.values(df.dev.topics).filter((t) => used.has(t.id) && !Object.hasOwn(df.topics, t.id));
  const topics = [...Object.values(df.topics), ...devInUse].map((topic) => ({
    id: topic.id,
    topic,
    readers: services.filter((s) => s.reads.includes(topic.id)).map((s) => s.name),
    writers: services.filter((s) => s.writes.includes(topic.id)).map((s) => s.name),
  }));
  const stateRefs = services.flatMap((s) =>
    s.service.states.flatMap((d) =>
      d.kind === 'ref' && Object.hasOwn(df.services, d.fromService)
        ? [{ owner: d.fromService, state: d.fromState, reader: s.name, as: d.name }]
        : [],
    ),
  );
  return { dataflow: df, services, topics, stateRefs, stepTypes: new Map() };
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

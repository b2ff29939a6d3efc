/**
 * What the dashboard shows, as plain data: a source answers it from an embedded run (the
 * in-process runtime) or from a distributed stack (scrape endpoints, NATS, PostgreSQL).
 */
import type { OperatorStats } from '../metrics.ts';
import type { DashboardGraph } from './graph.ts';

/** A dead-letter or late-events topic: how many records went there and the latest reasons. */
export interface ProblemTopic {
  topic: string;
  kind: 'dead-letter' | 'late-events';
  service: string;
  count: number;
  latest: Array<{ reason: string; operator?: string; timestamp?: number }>;
}

export interface StateLookup {
  state: string;
  key: string;
  found: boolean;
  /** Keyed state: the value. */
  value?: unknown;
  /** Window state: the key's value in each window holding it. */
  windows?: Array<{ start: number; end: number; value: unknown }>;
}

export interface DashboardLogLine {
  time: number;
  operator: string;
  partition: number;
  offset: number;
  message: string;
}

export interface DashboardSource {
  /** `namespace/name` of the dataflow and where it runs. */
  title: string;
  mode: 'embedded' | 'distributed';
  graph: DashboardGraph;
  /** State names the browser can look keys up in. */
  states: string[];
  operators(): Promise<OperatorStats[]>;
  problems(): Promise<ProblemTopic[]>;
  lookup(state: string, key: string): Promise<StateLookup>;
  logs?(limit: number): Promise<DashboardLogLine[]>;
}

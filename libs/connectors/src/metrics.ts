/**
 * A connector's numbers in the shape operators report them (`@ssdk/telemetry`'s
 * OperatorMetricsSource, matched structurally: this lib does not depend on telemetry), so a
 * connector process serves the same Prometheus series (`ssdk_records_in`, `_out`, `_failed`,
 * `ssdk_retries`, `ssdk_consumer_lag`) under `operator="<connector>"`, and the dashboard shows
 * it beside the operators.
 */
import type { Bus } from '@ssdk/bus';
import type { Connector } from '@ssdk/spec';
import type { ConnectorStats } from './runtime.ts';

export interface ConnectorMetricsSource {
  operator: string;
  counters(): { recordsIn: number; recordsOut: number; failed: number; late: number; batches: number; commits: number; retries: number };
  /** A sink's lag: messages on its topic after its positions. */
  lag?(): Promise<number>;
}

/**
 * In and out as the records cross the connector: a source takes records from its endpoint
 * (published or dead-lettered) and puts them on its topic; a sink takes them from its topic and
 * delivers them (or dead-letters them).
 */
export function connectorMetrics(connector: Connector, stats: ConnectorStats, bus: Bus): ConnectorMetricsSource {
  const sink = connector.type.endsWith('-sink');
  return {
    operator: connector.name,
    counters: () => ({
      recordsIn: stats.records + stats.deadLetters,
      recordsOut: stats.records,
      failed: stats.deadLetters,
      late: 0,
      batches: stats.batches ?? 0,
      commits: sink ? (stats.batches ?? 0) : 0,
      retries: stats.retries,
    }),
    ...(sink
      ? {
          lag: async () => {
            let lag = 0;
            for (const [partition, position] of stats.positions ?? []) lag += Math.max(0, (await bus.lastSeq(connector.topic, partition)) - position);
            return lag;
          },
        }
      : {}),
  };
}

/**
 * @ssdk/operator — the operator service of the distributed runtime: one operator unit of a
 * dataflow, its topics on NATS JetStream and its state in PostgreSQL. `ssdk operator` runs it
 * from the command line (`--dataflow NS/NAME --operator ID` runs a deployed dataflow from the
 * artifacts `ssdk deploy` shipped); the heavy distributed tests of the engine live here.
 *
 * @example
 * import { runOperator } from '@ssdk/operator';
 * const abort = new AbortController();
 * await runOperator({ file: 'services.yaml', operatorId: 'count-words.add-to-total', natsUrl, databaseUrl, signal: abort.signal });
 */
export { runOperator, ensurePlanTopics, OperatorConfigError, type OperatorOptions, type OperatorResult } from '@ssdk/runtime';

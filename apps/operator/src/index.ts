/**
 * @ssdk/operator — the operator service of the distributed runtime: one operator unit of a
 * services file, its topics on NATS JetStream and its state in PostgreSQL. `ssdk operator`
 * runs it from the command line; this package is what a container's entry point calls.
 *
 * @example
 * import { runOperator } from '@ssdk/operator';
 * const abort = new AbortController();
 * await runOperator({ file: 'services.yaml', operatorId: 'count-words.add-to-total', natsUrl, databaseUrl, signal: abort.signal });
 */
export { runOperator, loadPlan, ensurePlanTopics, OperatorConfigError, type OperatorOptions, type OperatorResult } from '@ssdk/runtime';
export { operatorConfig, serveOperator, OperatorUsageError, type OperatorConfig } from './service.ts';

/**
 * @ssdk/runtime — the operator host loop (read a batch, run, publish, commit, ack), written
 * once against the bus and checkpoint interfaces, and the embedded runtime built on it.
 *
 * @example
 * import { startEmbedded } from '@ssdk/runtime';
 * const df = await startEmbedded({ plan, dataflow, loadFunction });
 * await df.produce('sentences', [{ value: 'hello world', timestamp: Date.now() }]);
 * await df.endInput();
 * await df.ended();
 * console.log(await df.read('top-words'));
 */
export * from './checkpoint.ts';
export { tableSpecs } from './state-tables.ts';
export * from './embedded.ts';
export * from './metrics.ts';
export * from './topology.ts';
export * from './unit-logic.ts';
// Benchmarks only: counts guarded calls and prices the limit against a baseline (see its comment).
export { guardForBenchmarks } from './native-executor.ts';
export { runUnitTask, type UnitTaskOptions } from './unit-task.ts';
export * from './operator.ts';
export { envNumber, leaseOwnerId } from './settings.ts';
export { buildComponents, openBuiltSandbox, openSandbox, unitRunsSandboxed, type Sandbox, type SandboxOptions } from './sandbox.ts';
export * from './functions.ts';
export * from './plan-signing.ts';
export * from './observer.ts';
export { planGraph, runtimeDashboardSource, type GraphConnector, type RuntimeDashboardOptions } from './dashboard-source.ts';
export { dividedShare, rebalance, type AssignmentMode, type RebalancePlan } from './assignment.ts';
export { committedCheckpoints, endedPartitions, migratePlanState, partitionedCheckpointStore, unitPartitions, type PartitionedCheckpointOptions } from './partitioned-checkpoints.ts';
export { runReplica, type ReplicaOptions, type ReplicaResult } from './replica.ts';
export { checkInputStreams, resetOffsets, StreamMismatchError, type StreamCheckOptions } from './stream-check.ts';
export { redriveDeadLetters, RedriveError, REDRIVEN_HEADER, type RedriveOptions, type RedriveResult } from './redrive.ts';

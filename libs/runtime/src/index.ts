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
// The front door exports what other libs, apps and tools import, and the option and result types
// of those functions — nothing else (issue 12 part 8: it was 134 names, half of them used only
// inside the runtime). A name another project needs is added here with its first importer.

// The embedded runtime.
export { decodeLoose, startEmbedded, type EmbeddedDataflow, type EmbeddedOptions, type ProduceRecord } from './embedded.ts';
export { memoryCheckpointStore, type CheckpointStore } from './checkpoint.ts';
export { tableSpecs } from './state-tables.ts';
export type { FunctionLoader, IsolationChoice, LoadedFunction, RuntimeTopic, SandboxFactory, Topology } from './topology.ts';
// Benchmarks only: counts guarded calls and prices the limit against a baseline (see its comment).
export { guardForBenchmarks } from './native-executor.ts';

// An operator service (runOperator) and what the apps around it read.
export { ensurePlanTopics, isolationFromEnv, nativeTopology, planTopology, runOperator, type OperatorOptions, type OperatorResult } from './operator.ts';
export { envNumber, leaseOwnerId, OperatorConfigError } from './settings.ts';
export { UnitMetrics, type PartitionEvent, type PartitionEventKind, type UnitMetricsSnapshot, type UnitState } from './metrics.ts';
export { committedCheckpoints, endedPartitions, migratePlanState, partitionedCheckpointStore } from './partitioned-checkpoints.ts';
export { resetOffsets } from './stream-check.ts';
export { redriveDeadLetters, RedriveError, type RedriveOptions, type RedriveResult } from './redrive.ts';

// Functions: where their code comes from, and the sandbox.
export { planSteps, sourceFunctions, sourceUnitFunctions, unitOnlyFunctions, type UnitFunctionSource } from './functions.ts';
export { buildComponents, openBuiltSandbox, openSandbox, unitRunsSandboxed, type Sandbox, type SandboxOptions } from './sandbox.ts';

// Signed plans.
export {
  checkDeploymentTrust,
  nativeSteps,
  newSigningSeed,
  PlanNotTrustedError,
  publicKeyOf,
  shortKey,
  signingSeedFromEnv,
  signStatement,
  stackSigningKey,
  STATEMENT_VERSION,
  trustedKeysFrom,
  type DeploymentFacts,
  type DeploymentSignature,
  type DeploymentStatement,
  type TrustOptions,
} from './plan-signing.ts';

// Observability.
export { logTopicOf, RuntimeTelemetry, type LogLine, type RuntimeTelemetryOptions, type UnitObserver } from './observer.ts';
export { runtimeDashboardSource } from './dashboard-source.ts';

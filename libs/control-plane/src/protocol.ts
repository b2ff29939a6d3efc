/**
 * The control plane's protocol: the planner's request subjects and message shapes (JSON over
 * NATS request/reply), the heartbeat subject, and `NS/NAME` references.
 */
import type { DeploymentSignature } from '@ssdk/runtime';
import type { DeploymentArtifacts } from './artifacts.ts';
import type { DeploymentBundle } from './bundle.ts';

// The control schema and its rule per subject prefix are stack settings (@ssdk/settings).
export { CONTROL_SCHEMA, controlSchemaFor } from '@ssdk/settings';

export type PlannerVerb = 'deploy' | 'status' | 'undeploy' | 'list';

/** `<prefix>.planner.<verb>`: one planner (or a queue group of them) per subject prefix. */
export function plannerSubject(subjectPrefix: string, verb: PlannerVerb): string {
  return `${subjectPrefix}.planner.${verb}`;
}

/** Operator processes publish their heartbeat (with their metrics) here. */
export function heartbeatSubject(subjectPrefix: string): string {
  return `${subjectPrefix}.heartbeat`;
}

/** Where operator processes publish their events (`OperatorEvent`: each change of state or of partitions, when it happens). */
export function lifecycleSubject(subjectPrefix: string): string {
  return `${subjectPrefix}.lifecycle`;
}

/** `NS/NAME` → its parts; undefined when it is not of that form. */
export function parseDataflowRef(ref: string): { namespace: string; name: string } | undefined {
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(ref);
  return m ? { namespace: m[1]!, name: m[2]! } : undefined;
}

// ---- the planner's messages (JSON over NATS request/reply) -------------------------------------

export interface DeployRequest {
  bundle: DeploymentBundle;
  /** The services file as the user named it: diagnostics point there. */
  displayPath: string;
  /** Partitions per topic (a plan option). @default the file's, else 8 */
  partitions?: number;
  /** State schema. @default ssdk_<namespace>_<name> (or the one already deployed) */
  schema?: string;
  /** Drop the dataflow's state, offsets and internal streams before deploying. */
  resetState?: boolean;
  /**
   * Forget what every operator of the dataflow read (offsets, ended inputs, the streams they
   * read), keeping the state: they read their inputs from the start (after streams were made again).
   */
  resetOffsets?: boolean;
  /**
   * The plan and the built functions, already in the object store (`publishArtifacts`): operators
   * run from them. Without them an operator plans and compiles the bundle itself.
   */
  artifacts?: DeploymentArtifacts;
  /** The deployer's signature of what it sends (`signStatement`); operators that trust keys run only signed versions. */
  signature?: DeploymentSignature;
}

export type DeployOutcome = 'created' | 'unchanged' | 'updated' | 'reset';

export interface DeployReply {
  dataflow: string;
  version: number;
  hash: string;
  outcome: DeployOutcome;
  /** What changed (compatible changes, or what `--reset-state` threw away). */
  changes: string[];
  operators: string[];
  stateSchema: string;
  topics: string[];
  /** Warnings of the services file (as `ssdk validate` prints them). */
  warnings: unknown[];
}

export interface UndeployRequest {
  dataflow: string;
  /** Also drop the state schema and delete the dataflow's streams. */
  purge?: boolean;
}

export interface UndeployReply {
  dataflow: string;
  version: number;
  droppedSchema?: string;
  deletedStreams: string[];
}

export interface StatusRequest {
  /** `NS/NAME`; every deployed dataflow when absent. */
  dataflow?: string;
}

export interface OperatorStatus {
  id: string;
  kind: string;
  partitions: number;
  /** Processes whose heartbeat arrived within three intervals. */
  processes: number;
  pids: number[];
  /** Partition leases held (unexpired), distinct owners. */
  leases: number;
  leaseOwners: number;
  recordsIn: number;
  recordsOut: number;
  failed: number;
  late: number;
  /** Min over the live processes' watermarks, epoch ms. */
  watermark?: number;
  /** Σ over input channels of (stream last sequence − committed sequence), never negative. */
  lag: number;
  /**
   * `ended` once every partition's inputs ended (by the committed offsets, so a finished unit
   * whose processes exited stays `ended`); else what its live processes say (`starting`,
   * `running`, `failing` — one cannot make progress and tries again, `reason` says why — `failed`), `stopped` (heard from, now silent) or `not started`; `refused` when
   * its live processes will not run this version (`refused` says why).
   */
  state: string;
  /** Why the unit's processes refuse this version (unsigned, untrusted key, native code). */
  refused?: string;
  /** Why the unit is `failing` (a live process cannot make progress), or why its last process `failed`. */
  reason?: string;
}

export interface DataflowStatus {
  dataflow: string;
  version: number;
  hash: string;
  layoutFingerprint: string;
  deployedAt: number;
  stateSchema: string;
  subjectPrefix: string;
  partitions: number;
  operators: OperatorStatus[];
}

export interface ListedDataflow {
  dataflow: string;
  version: number;
  hash: string;
  deployedAt: number;
  operators: number;
}

/**
 * @ssdk/control-plane — what the planner service, `ssdk deploy`/`up`/`status` and the operator
 * processes of a distributed stack agree on: the planner's protocol over NATS request/reply
 * (`protocol.ts`), bundles of a services file and its functions (`bundle.ts`), the deployed
 * dataflows in PostgreSQL (`registry.ts`), the plan and built functions shipped to the NATS object
 * store (`artifacts.ts`), loading a deployed unit (`deployed.ts`), heartbeats, and the NATS
 * permissions of each role (`nats-roles.ts`). Used by the apps only; the runtime does not know it.
 *
 * @example
 * import { loadDeployedDataflow } from '@ssdk/control-plane';
 * const src = await loadDeployedDataflow({ databaseUrl, dataflow: 'examples/word-count', operatorId, isolation: 'plan' });
 * await runOperator({ deployed: src, operatorId, subjectPrefix: src.subjectPrefix, schema: src.schema, databaseUrl, signal });
 */
export {
  CONTROL_SCHEMA,
  controlSchemaFor,
  heartbeatSubject,
  lifecycleSubject,
  parseDataflowRef,
  plannerSubject,
  type DataflowStatus,
  type DeployOutcome,
  type DeployReply,
  type DeployRequest,
  type ListedDataflow,
  type OperatorStatus,
  type PlannerVerb,
  type StatusRequest,
  type UndeployReply,
  type UndeployRequest,
} from './protocol.ts';
export { bundleHash, checkBundle, materializeBundle, readBundle, type DeploymentBundle } from './bundle.ts';
export {
  openDeploymentRegistry,
  RegistryBusyError,
  type DeployedDataflow,
  type DeploymentRegistry,
  type DeploymentStatus,
  type RegistryGuard,
  type RegistryOptions,
} from './registry.ts';
export {
  ARTIFACTS_VERSION,
  artifactUnitFunctions,
  deploymentHash,
  fetchPlan,
  fetchUnitFunctions,
  nativeArtifactPath,
  publishArtifacts,
  type DeploymentArtifacts,
  type FetchedArtifacts,
  type FetchUnitOptions,
  type PublishArtifactsOptions,
} from './artifacts.ts';
export {
  checkDeployedTrust,
  loadDeployedDataflow,
  loadDeployedRecord,
  watchDeployment,
  type CheckTrustOptions,
  type DeployedUnitSource,
  type DeploymentChange,
  type LoadDeployedOptions,
  type WatchDeploymentOptions,
} from './deployed.ts';
export { startHeartbeat, type Heartbeat, type LifecycleEvent, type OperatorEvent, type PartitionsEvent } from './heartbeats.ts';
export { natsRolePasswordEnv, natsRolePermissions, newNatsRolePassword, natsRolesConfig, NATS_ROLES, type NatsRole, type NatsRolesOptions } from './nats-roles.ts';

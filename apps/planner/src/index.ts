/**
 * @ssdk/planner — the control plane of the distributed runtime: a service on NATS request/reply
 * (`<prefix>.planner.{deploy,status,undeploy,list}`) that validates and plans services files,
 * creates their streams and state tables, stores the versioned plan in PostgreSQL
 * (`ssdk_control.dataflows`) and refuses a redeploy that would corrupt existing state.
 * `ssdk planner` runs it; `node apps/planner/src/main.ts` is the container entry point.
 *
 * @example
 * import { startPlanner } from '@ssdk/planner';
 * const planner = await startPlanner({ natsUrl, databaseUrl, subjectPrefix: 'ssdk' });
 * // ... `ssdk deploy FILE` talks to it ...
 * await planner.stop();
 */
export { startPlanner, PlannerConfigError, PlannerInputError, type Planner, type PlannerOptions } from './planner.ts';
export { layoutChanges, layoutFingerprint, stateLayout, type LayoutChanges, type StateLayout } from './layout.ts';
export { servePlanner, plannerConfig } from './service.ts';

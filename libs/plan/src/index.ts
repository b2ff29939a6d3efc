/**
 * @ssdk/plan — the dataflow graph, type checks and the physical plan. Pure but for one front
 * door to files: `planServicesFile` reads a services file (through `@ssdk/spec`) and plans it,
 * the one path from file to plan every app uses.
 *
 * `checkDataflow` builds the logical graph of a parsed services file and reports every problem
 * at once (unknown names, states, structure, topic cycles, types along each chain);
 * `planDataflow` turns a dataflow without errors into the physical plan — a versioned, hashable
 * document of operator units, topics and subjects, edges and state tables — that operator
 * services validate with `physicalPlanSchema`.
 *
 * @example
 * import { planDataflow, renderPlanText } from '@ssdk/plan';
 *
 * const { plan, diagnostics } = planDataflow(dataflow, { partitions: 4, fuse: true });
 * for (const d of diagnostics) console.error(`${d.pos.file}:${d.pos.line}:${d.pos.col} ${d.code}: ${d.message}`);
 * if (plan) {
 *   console.log(renderPlanText(plan));      // or JSON.stringify(plan, null, 2), renderPlanDot, renderPlanMermaid
 *   console.log(plan.hash);                 // changes only when what runs changes
 * }
 */
export { checkDataflow, type CheckResult } from './check.ts';
export { planDataflow, type PlanResult } from './physical/plan.ts';
export {
  checkServicesFile,
  planOrThrow,
  planServicesFile,
  type CheckedServicesFile,
  type CodeCheck,
  type CodeLeft,
  type PlanFileOptions,
  type PlannedServicesFile,
  type ServicesFilePlan,
} from './load.ts';
export type { CodeScope } from './code-scope.ts';
export { compilePlanOptions, DEFAULT_PARTITIONS, MAX_PARTITIONS, type CompiledPlanOptions, type PlanOptions } from './options.ts';
export { PlanError, PlanOptionsError } from './errors.ts';
export { PLAN_DIAGNOSTICS, type PlanDiagnosticCode } from './diagnostics.ts';
export {
  PLAN_VERSION,
  physicalPlanSchema,
  planTypeSchema,
  type PhysicalPlan,
  type PlanEdge,
  type PlanEdgeEndpoint,
  type PlanEdgeKind,
  type PlanFunctionSource,
  type PlanInput,
  type PlanOperator,
  type PlanBranch,
  type PlanOperatorKind,
  type PlanRecordType,
  type PlanState,
  type PlanStateAccess,
  type PlanStep,
  type PlanTopic,
  type PlanTopicKind,
  type PlanTopicPart,
  type PlanType,
  type PlanTypeDef,
  type PlanJoin,
  type PlanWindow,
} from './document.ts';
export type { DataflowGraph, ServiceNode, StateRefLink, StepTypes, StreamType, TopicNode } from './graph.ts';
export type { ServicePipeline, SinkBranch, SourceBranch, StepPlace, StepSite } from './pipeline.ts';
export { isKeyType, isNumeric, lookupType, resolveType, typesCompatible, typeToString, type TypeTable } from './type-system.ts';
export { fromPlanType, planTypeTable } from './physical/types.ts';
export { canonicalJson, planHash } from './hash.ts';
export { lastValueStep } from './operators.ts';
export { subjectToken } from './physical/naming.ts';
export { renderPlanText } from './render/text.ts';
export { renderPlanDot } from './render/dot.ts';
export { renderPlanMermaid } from './render/mermaid.ts';

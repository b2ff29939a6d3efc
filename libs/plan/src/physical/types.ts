/** Model types as plan data: positions dropped, names canonical, `invalid` as `unknown`. */
import type { TypeRef } from '@ssdk/spec';
import { assertNever } from '../assert-never.ts';
import type { PlanType } from '../document.ts';
import { lookupType, type TypeTable } from '../type-system.ts';

export function toPlanType(t: TypeRef, types: TypeTable): PlanType {
  const p = (u: TypeRef): PlanType => toPlanType(u, types);
  switch (t.kind) {
    case 'primitive':
      return { kind: 'primitive', name: t.name };
    case 'named':
      return { kind: 'named', name: lookupType(t.name, types)?.name ?? t.name };
    case 'object':
      return {
        kind: 'object',
        properties: t.properties.map((q) => ({
          name: q.name,
          type: p(q.type),
          optional: q.optional,
          ...(q.serializeAs !== undefined ? { serializeAs: q.serializeAs } : {}),
          ...(q.deserializeFrom !== undefined ? { deserializeFrom: q.deserializeFrom } : {}),
        })),
        ...(t.typeName !== undefined ? { typeName: t.typeName } : {}),
      };
    case 'enum':
      return {
        kind: 'enum',
        variants: t.variants.map((v) => ({
          name: v.name,
          type: v.type === null ? null : p(v.type),
          ...(v.serializeAs !== undefined ? { serializeAs: v.serializeAs } : {}),
          ...(v.deserializeFrom !== undefined ? { deserializeFrom: v.deserializeFrom } : {}),
        })),
        tagging: t.tagging,
        ...(t.typeName !== undefined ? { typeName: t.typeName } : {}),
      };
    case 'list':
      return { kind: 'list', items: p(t.items) };
    case 'option':
      return { kind: 'option', value: p(t.value) };
    case 'key-value':
      return { kind: 'key-value', key: p(t.key), value: p(t.value) };
    case 'keyed-state':
      return { kind: 'keyed-state', key: p(t.key), value: p(t.value) };
    case 'arrow-row':
      return { kind: 'arrow-row', columns: t.columns.map((c) => ({ name: c.name, type: c.type })) };
    case 'number':
    case 'void':
    case 'unknown':
      return { kind: t.kind };
    case 'invalid':
      return { kind: 'unknown' };
    default:
      return assertNever(t);
  }
}

/** Where a type read back from a plan comes from: the plan has no file positions. */
const PLAN_POS = { file: '<plan>', line: 0, col: 0 };

/** A plan's type as the model's `TypeRef` (positions: `<plan>`), for codecs and state tables. */
export function fromPlanType(t: PlanType): TypeRef {
  switch (t.kind) {
    case 'primitive':
    case 'named':
    case 'number':
    case 'void':
    case 'unknown':
      return t;
    case 'object':
      return {
        kind: 'object',
        properties: t.properties.map((q) => ({ ...q, type: fromPlanType(q.type), pos: PLAN_POS })),
        ...(t.typeName !== undefined ? { typeName: t.typeName } : {}),
      };
    case 'enum':
      return {
        kind: 'enum',
        variants: t.variants.map((v) => ({
          name: v.name,
          type: v.type === null ? null : fromPlanType(v.type),
          ...(v.serializeAs !== undefined ? { serializeAs: v.serializeAs } : {}),
          ...(v.deserializeFrom !== undefined ? { deserializeFrom: v.deserializeFrom } : {}),
          pos: PLAN_POS,
        })),
        tagging: t.tagging,
        ...(t.typeName !== undefined ? { typeName: t.typeName } : {}),
      };
    case 'list':
      return { kind: 'list', items: fromPlanType(t.items) };
    case 'option':
      return { kind: 'option', value: fromPlanType(t.value) };
    case 'key-value':
      return { kind: 'key-value', key: fromPlanType(t.key), value: fromPlanType(t.value) };
    case 'keyed-state':
      return { kind: 'keyed-state', key: fromPlanType(t.key), value: fromPlanType(t.value) };
    case 'arrow-row':
      return { kind: 'arrow-row', columns: t.columns.map((c) => ({ ...c, pos: PLAN_POS })) };
    default:
      return assertNever(t);
  }
}

/** The plan's named types as a type table (what `Dataflow.types` is to the model). */
export function planTypeTable(plan: { types: ReadonlyArray<{ name: string; type: PlanType }> }): TypeTable {
  return Object.fromEntries(plan.types.map((d) => [d.name, { name: d.name, type: fromPlanType(d.type), pos: PLAN_POS }]));
}

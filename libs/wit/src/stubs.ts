/**
 * Stubs for `uses:` functions: a module with the typed signature its operator needs and a body
 * that compiles and does something sensible (keep everything, pass the value on, count), and a
 * vitest file calling it through `createTestCtx`.
 */
import { camelCase, kebabCase, type Dataflow, type Step, type TypeRef } from '@ssdk/spec';
import { resolveType, type DataflowGraph, type StepSite } from '@ssdk/plan';
import { stepSignature, type StepSignature } from './signature.ts';
import { tsType, zeroValue } from './typescript.ts';

export interface FunctionStub {
  /** The `uses:` reference, e.g. `is-valid-reading`. */
  ref: string;
  /** `functions/<ref>.ts` */
  module: string;
  /** `functions/<ref>.test.ts` */
  test: string;
  exportName: string;
  moduleText: string;
  testText: string;
}

/** One stub per `uses:` function of the dataflow (a function used twice gets one stub). */
export function functionStubs(df: Dataflow, graph: DataflowGraph): FunctionStub[] {
  const seen = new Set<string>();
  const out: FunctionStub[] = [];
  for (const node of graph.services) {
    const p = node.pipeline;
    const states = node.service.states.map((s) => ({ name: s.name, owned: s.kind === 'owned', type: s.kind === 'owned' ? s.type : undefined }));
    // What records are at each point, carried along where the checker could not tell (a
    // `uses:` function without a declared signature passes its input's type on).
    let trunkFlow: TypeRef | undefined;
    const walk = (sites: readonly StepSite[], start: TypeRef | undefined): TypeRef | undefined => {
      let flow = start;
      for (const site of sites) {
        const sig = stepSignature(site.step, df, graph);
        if (sig.input.kind === 'unknown' && flow && sig.operator !== 'flush') sig.input = flow;
        flow = flowAfter(sig, df);
        const src = site.step.fn.source;
        if (src.kind !== 'uses' || seen.has(kebabCase(src.ref))) continue;
        seen.add(kebabCase(src.ref));
        out.push(stub(src.ref, site.step, sig, states, df));
      }
      return flow;
    };
    for (const b of p.sources) trunkFlow = walk(b.steps, undefined);
    const afterTrunk = walk(p.trunk, trunkFlow);
    for (const b of p.sinks) walk(b.steps, afterTrunk);
  }
  return out;
}

function flowAfter(sig: StepSignature, df: Dataflow): TypeRef | undefined {
  const r = resolveType(sig.returns, df.types);
  switch (sig.operator) {
    case 'map':
      return r.kind === 'unknown' ? sig.input : sig.returns;
    case 'filter-map':
      return r.kind === 'option' ? r.value : r.kind === 'unknown' ? sig.input : sig.returns;
    case 'flat-map':
      return r.kind === 'list' ? r.items : sig.input;
    case 'flush':
      return sig.returns;
    default:
      return sig.input;
  }
}

interface StateInfo {
  name: string;
  owned: boolean;
  type: TypeRef | undefined;
}

function stub(ref: string, step: Step, sig: StepSignature, states: StateInfo[], df: Dataflow): FunctionStub {
  const name = camelCase(ref) || 'fn';
  const types = new Set<string>();
  const t = (x: TypeRef) => {
    const s = tsType(x, df);
    for (const m of s.matchAll(/\b[A-Z][A-Za-z0-9]*\b/g)) if (m[0] !== 'Uint8Array') types.add(m[0]);
    return s;
  };
  const inT = t(sig.input);
  const ret = sig.returns;
  const resolvedRet = resolveType(ret, df.types);
  const same = (a: TypeRef, b: TypeRef) => t(a) === t(b) && t(a) !== 'unknown';
  const params = Object.keys(step.params);
  const doc: string[] = [`/** \`${step.operator}\` step \`${ref}\`${params.length ? ` (with: ${params.join(', ')})` : ''}. */`];
  let signature: string;
  let body: string[];
  let call: string;
  let expected: string;
  let usesCtx = false;
  switch (sig.operator) {
    case 'filter':
      signature = `(value: ${inT}, _ctx: Ctx): boolean`;
      body = ['// Keep every record until you decide otherwise.', 'return value !== null;'];
      call = `${name}(input, ctx)`;
      expected = 'toBe(true)';
      break;
    case 'map': {
      const outT = t(ret);
      // Nothing says what comes out: the stub passes the value on, typed as it came in.
      const identity = same(sig.input, ret) || sig.input.kind === 'unknown' || outT === 'unknown';
      signature = `(value: ${inT}, _ctx: Ctx): ${identity && outT === 'unknown' ? inT : outT}`;
      body = identity ? ['return value;'] : [`return ${zeroValue(ret, df)};`];
      call = `${name}(input, ctx)`;
      expected = identity ? 'toEqual(input)' : `toEqual(${zeroValue(ret, df)})`;
      break;
    }
    case 'filter-map': {
      const inner = resolvedRet.kind === 'option' ? resolvedRet.value : ret;
      const outT = t(inner);
      const identity = same(sig.input, inner);
      signature = `(value: ${inT}, _ctx: Ctx): ${outT === 'unknown' ? inT : outT} | undefined`;
      body = identity || outT === 'unknown' ? ['return value;'] : [`return ${zeroValue(inner, df)};`];
      call = `${name}(input, ctx)`;
      expected = identity || outT === 'unknown' ? 'toEqual(input)' : `toEqual(${zeroValue(inner, df)})`;
      break;
    }
    case 'flat-map': {
      const item = resolvedRet.kind === 'list' ? resolvedRet.items : { kind: 'unknown' as const };
      const itemT = t(item);
      const identity = same(sig.input, item) || itemT === 'unknown';
      signature = `(value: ${inT}, _ctx: Ctx): ${identity ? (/[|&]/.test(inT) ? `Array<${inT}>` : `${inT}[]`) : t(ret)}`;
      body = identity ? ['return [value];'] : ['return [];'];
      call = `${name}(input, ctx)`;
      expected = identity ? 'toEqual([input])' : 'toEqual([])';
      break;
    }
    case 'assign-key': {
      const keyT = t(ret) === 'unknown' ? 'string' : t(ret);
      signature = `(value: ${inT}, _ctx: Ctx): ${keyT}`;
      const zero = zeroValue(ret.kind === 'unknown' ? { kind: 'primitive', name: 'string' } : ret, df);
      body = ['// The key to partition by: usually a field of the value.', `return ${zero};`];
      call = `${name}(input, ctx)`;
      expected = `toEqual(${zero})`;
      break;
    }
    case 'assign-timestamp':
      signature = `(_value: ${inT}, eventTime: number, _ctx: Ctx): number`;
      body = ["// Epoch ms; the record's own timestamp until you read one from the value.", 'return eventTime;'];
      call = `${name}(input, 1_700_000_000_000, ctx)`;
      expected = 'toBe(1_700_000_000_000)';
      break;
    case 'update-state': {
      const own = states.find((s) => s.owned);
      signature = `(_value: ${inT}, ctx: Ctx): void`;
      usesCtx = true;
      if (own) {
        const valueType = own.type && own.type.kind === 'keyed-state' ? resolveType(own.type.value, df.types) : undefined;
        const numeric = valueType?.kind === 'primitive' && valueType.name !== 'string' && valueType.name !== 'bool' && valueType.name !== 'bytes';
        body = numeric
          ? [`ctx.state(${JSON.stringify(own.name)}).increment();`]
          : [`ctx.state(${JSON.stringify(own.name)}).update((previous) => previous ?? ${valueType ? zeroValue(valueType, df) : 'null'});`];
      } else body = ['void ctx;'];
      call = `${name}(input, ctx)`;
      expected = 'toBeUndefined()';
      break;
    }
    case 'flush': {
      const outT = t(ret) === 'unknown' ? 'unknown' : t(ret);
      signature = `(ctx: Ctx): ${outT}`;
      usesCtx = true;
      const own = states.find((s) => s.owned);
      body = own
        ? [
            `const result = ${zeroValue(ret, df)};`,
            `for (const [key, value] of ctx.state(${JSON.stringify(own.name)}).entries()) {`,
            `  ctx.log('window entry', key, value);`,
            '}',
            'return result;',
          ]
        : [`return ${zeroValue(ret, df)};`];
      call = `${name}(ctx)`;
      expected = `toEqual(${zeroValue(ret, df)})`;
      break;
    }
    default: {
      const never: never = sig.operator;
      throw new Error(`unknown operator ${String(never)}`);
    }
  }
  if (usesCtx) signature = signature.replace('_ctx: Ctx', 'ctx: Ctx');
  const typeImport = types.size ? `import type { ${[...types].sort().join(', ')} } from './types.js';\n` : '';
  const moduleText = `import type { Ctx } from './ctx.js';\n${typeImport}\n${doc.join('\n')}\nexport function ${name}${signature} {\n${body.map((l) => `  ${l}`).join('\n')}\n}\n`;
  const inputDecl = sig.operator === 'flush' ? '' : `  const input: ${inT} = ${zeroValue(sig.input, df)};\n`;
  const testTypes = [...types].filter((n) => new RegExp(`\\b${n}\\b`).test(inputDecl)).sort();
  const testTypeImport = testTypes.length ? `import type { ${testTypes.join(', ')} } from './types.js';\n` : '';
  const ctxInit = [
    sig.operator === 'update-state' ? "key: 'k'" : '',
    sig.operator === 'flush' ? 'window: { start: 0, end: 60_000 }' : '',
    params.length ? `params: { ${params.map((p) => `${JSON.stringify(p)}: ${JSON.stringify(step.params[p])}`).join(', ')} }` : '',
  ].filter(Boolean);
  const testText = `import { describe, expect, it } from 'vitest';
import { createTestCtx } from './ctx.js';
import { ${name} } from './${ref}.js';
${testTypeImport}
describe('${ref}', () => {
  it('${ref} - ${sig.operator} stub', () => {
    const ctx = createTestCtx(${ctxInit.length ? `{ ${ctxInit.join(', ')} }` : ''});
${inputDecl}    expect(${call}).${expected};
  });
});
`;
  return { ref, module: `functions/${ref}.ts`, test: `functions/${ref}.test.ts`, exportName: name, moduleText, testText };
}

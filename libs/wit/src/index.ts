/**
 * @ssdk/wit — what a dataflow's functions are written against, generated from its services file:
 * the WIT package (the dataflow's types as records and variants, a world per service over the
 * fixed `ssdk:dataflow` host interface and batch worlds), TypeScript types and a typed `ctx`
 * for function authors, and stubs (module + test) for `uses:` functions. Pure: no I/O.
 *
 * @example
 * import { checkDataflow } from '@ssdk/plan';
 * import { generateWit, generateTypesTs, generateCtxTs, functionStubs } from '@ssdk/wit';
 *
 * const { graph } = checkDataflow(dataflow);
 * const wit = generateWit(dataflow, graph);   // { packageName, files: {'dataflow.wit', 'deps/…'}, worlds }
 * const types = generateTypesTs(dataflow);    // functions/types.ts
 * const ctx = generateCtxTs(dataflow, graph); // functions/ctx.ts
 * for (const s of functionStubs(dataflow, graph)) console.log(s.module, s.test);
 */
export { generateWit, HOST_WIT, HOST_PACKAGE, type WitPackage } from './wit.ts';
export { generateTypesTs, generateCtxTs, generateCtxDeclarations, stateTypes, stateKeyTypes, typeNamesIn, tsType, zeroValue } from './typescript.ts';
export { functionStubs, type FunctionStub } from './stubs.ts';
export { stepSignature, declaredSignature, type StepSignature } from './signature.ts';
export { witId, tsTypeName } from './names.ts';

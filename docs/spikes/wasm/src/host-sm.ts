// StarlingMonkey (componentize-js): WIT interface imports are ES module named imports.
export { log as hostLog, lookup as hostLookup } from 'ssdk:dataflow/host';

// QuickJS (componentize-qjs): the WIT interface is the default export of the module.
import host from 'ssdk:dataflow/host';
export function hostLog(level: number, msg: string) { host.log(level, msg); }
export function hostLookup(state: string, key: Uint8Array): Uint8Array | null | undefined { return host.lookup(state, key); }

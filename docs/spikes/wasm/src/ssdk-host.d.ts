declare module 'ssdk-host' {
  export function hostLog(level: number, msg: string): void;
  export function hostLookup(state: string, key: Uint8Array): Uint8Array | null | undefined;
}
declare module 'ssdk:dataflow/host' {
  export function log(level: number, msg: string): void;
  export function lookup(state: string, key: Uint8Array): Uint8Array | null | undefined;
  const host: { log: typeof log; lookup: typeof lookup };
  export default host;
}

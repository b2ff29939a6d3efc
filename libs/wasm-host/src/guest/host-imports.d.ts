/** The host interface as the guest sees it (componentize-js: one ES module per WIT interface). */
declare module 'ssdk:dataflow/host' {
  export type Level = 'debug' | 'info' | 'warn' | 'error';
  export type Scope = { tag: 'committed' } | { tag: 'current'; val: { start: bigint; end: bigint } | undefined };
  export function log(level: Level, operator: string, message: string): void;
  export function lookup(state: string, key: string, scope: Scope): Uint8Array | undefined | null;
  export function lookupMany(state: string, keys: string[], scope: Scope): Array<Uint8Array | undefined | null>;
  export function now(): bigint;
  export function randomBytes(len: number): Uint8Array;
  export function env(name: string): string | undefined | null;
  export function sql(query: string, params: string): string;
  export function http(request: string): string;
}

/**
 * A minimal stand-in for the context type `ssdk generate` writes: just what these functions use,
 * following the `ctx` API in docs/services-file.md.
 */
export type Key = string | number | boolean;

export interface State<V> {
  get(): V | undefined;
  set(value: V): void;
  update(fn: (previous: V | undefined) => V): V;
  increment(by?: number): number;
  delete(): void;
  lookup(key: Key): V | undefined;
  entries(): Iterable<[key: Key, value: V]>;
}

export interface Ctx {
  key(): Key | undefined;
  window(): { start: number; end: number };
  param(name: string): string | undefined;
  log(...args: unknown[]): void;
  state<V = unknown>(name: string): State<V>;
}

/** A minimal stand-in for the context type `ssdk generate` writes (functions/ctx.ts). */
export type Key = string | number | boolean;

export interface Ctx {
  key(): Key | undefined;
  param(name: string): string | undefined;
  log(...args: unknown[]): void;
}

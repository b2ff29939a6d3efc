/**
 * What the runtime's services take from their process: settings from the environment, the id
 * a process holds leases under, and the error a bad setting or services file is.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Diagnostic } from '@ssdk/spec';

/** The services file does not plan, or names no such operator: the user's input. */
export class OperatorConfigError extends Error {
  override name = 'OperatorConfigError';
  readonly code = 'operator-config';
  readonly domain = 'user';
  readonly diagnostics: Diagnostic[];
  constructor(message: string, diagnostics: Diagnostic[] = []) {
    super(message);
    this.diagnostics = diagnostics;
  }
}

/** A positive number of ms from the environment; undefined when unset. */
export function envNumber(name: string, env: Record<string, string | undefined> = process.env): number | undefined {
  const text = env[name];
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new OperatorConfigError(`${name} takes a positive number of ms, got \`${text}\``);
  return n;
}

/** A lease owner: one id per process incarnation, so a restarted process is a new owner and its leases get new epochs. */
export function leaseOwnerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

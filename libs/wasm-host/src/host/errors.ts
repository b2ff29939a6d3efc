/** Typed errors of sandboxed functions: what failed, where in the user's code, and which record. */

export interface SourceLocation {
  file: string;
  line: number;
  col: number;
}

/**
 * A user function failed inside its component: it threw, broke its contract (a wrong-typed
 * return), trapped or ran past its time limit. Carried as `ChainFailure.error`; the record goes
 * to the dead-letter topic and the batch goes on.
 */
export class GuestFunctionError extends Error {
  override name = 'GuestFunctionError';
  /** `state-key-not-owned`: the guest changed state of a key its batch does not hold (refused by the host). */
  readonly code: 'function-threw' | 'function-trapped' | 'function-timeout' | 'state-key-not-owned';
  readonly domain = 'user';
  /** The operator id (`<service>.<function>`). */
  readonly operator: string;
  /** Index of the failing record in the batch (-1: a flush). */
  readonly input: number;
  /** The user's line, mapped through the bundle's source map (JavaScript guests that threw). */
  readonly location: SourceLocation | undefined;
  /** The guest's own stack, bundle positions (for `SSDK_DEBUG`). */
  readonly guestStack: string | undefined;

  constructor(
    code: GuestFunctionError['code'],
    message: string,
    details: { operator: string; input: number; location?: SourceLocation | undefined; guestStack?: string | undefined },
  ) {
    super(message);
    this.code = code;
    this.operator = details.operator;
    this.input = details.input;
    this.location = details.location;
    this.guestStack = details.guestStack;
  }
}

/** A component that does not fit what the host needs (missing exports, a step it lacks). */
export class ComponentError extends Error {
  override name = 'ComponentError';
  readonly code = 'bad-component';
  readonly domain = 'user';
}

export function formatLocation(l: SourceLocation): string {
  return `${l.file}:${l.line}:${l.col}`;
}

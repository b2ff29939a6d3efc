/**
 * The planner's thrown errors. Problems in a services file are never thrown: they are
 * `Diagnostic`s. Only a caller's own mistakes (options out of range) throw.
 */
export class PlanError extends Error {
  /** Stable, kebab-case. */
  readonly code: string;
  /** Whose mistake: `user` (fix your input), `internal` (a bug in ssdk). */
  readonly domain: 'user' | 'internal';
  readonly retryable = false;

  constructor(code: string, domain: 'user' | 'internal', message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PlanError';
    this.code = code;
    this.domain = domain;
  }
}

/** A `PlanOptions` value out of range. */
export class PlanOptionsError extends PlanError {
  readonly option: string;

  constructor(option: string, message: string) {
    super('invalid-plan-option', 'user', message);
    this.name = 'PlanOptionsError';
    this.option = option;
  }
}

/**
 * Promises native functions leave behind. A function is synchronous, but it may start work it
 * does not await (a fire-and-forget `fetch()`, an async helper); when that work fails, Node's
 * default is to end the process with the raw rejection. Instead, each promise made while a batch
 * runs is marked with the record whose functions made it (an `async_hooks` promise hook, on only
 * while batches run or wait), the batch waits for them (up to its time limit), and a rejection
 * no one handles becomes that record's failure: it is dead-lettered, the unit goes on.
 *
 * A rejection that is no function's (the runtime's own) still ends the process, as before.
 */
import { createHook } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';

interface Mark {
  owner: Owner;
  /** The record's index in its batch (-1: a window's flush). */
  input: number;
  settled: boolean;
}

/** The promises one run of a batch made. */
export interface PromiseOwner {
  /** The run is over: promises made from here on are not its own (unless made by its own). */
  stop(): void;
  /** The run was taken back: its promises' rejections are nobody's failure. */
  drop(): void;
  /** Whether the run made a promise (a section that did is run again call by call, to know whose it is). */
  made(): boolean;
  /**
   * Waits until the promises the run made have settled, or `deadline` (performance.now()),
   * and answers the records (by index) whose promise rejected with no handler, with why.
   * A rejection that comes later goes to `late`.
   */
  settle(deadline: number, late: (input: number, reason: unknown) => void): Promise<Map<number, unknown>>;
}

class Owner implements PromiseOwner {
  readonly position: { input: number };
  /** Promises made while the run ran (by async id); what made them later is theirs too. */
  readonly roots: Mark[] = [];
  readonly ids: number[] = [];
  readonly rejected = new Map<number, unknown>();
  state: 'running' | 'waiting' | 'done' | 'dropped' = 'running';
  late: ((input: number, reason: unknown) => void) | undefined;

  constructor(position: { input: number }) {
    this.position = position;
  }

  stop(): void {
    if (current === this) current = undefined;
    if (this.roots.length === 0) this.finish('done');
  }

  drop(): void {
    this.stop();
    this.finish('dropped');
  }

  made(): boolean {
    return this.roots.length > 0;
  }

  async settle(deadline: number, late: (input: number, reason: unknown) => void): Promise<Map<number, unknown>> {
    if (this.state !== 'running') return this.rejected;
    this.late = late;
    this.state = 'waiting';
    while (this.roots.some((m) => !m.settled) && performance.now() < deadline) {
      await new Promise((next) => setTimeout(next, Math.min(5, Math.max(0, deadline - performance.now()))));
    }
    // Node reports a rejection with no handler once the microtasks of its turn have run.
    await new Promise((next) => setImmediate(next));
    const rejected = new Map(this.rejected);
    this.finish('done');
    return rejected;
  }

  finish(state: 'done' | 'dropped'): void {
    if (this.state === 'done' || this.state === 'dropped') return;
    this.state = state;
    for (const id of this.ids) byId.delete(id);
    if (--watching === 0) hook.disable();
  }
}

let current: Owner | undefined;
let watching = 0;
const byId = new Map<number, Mark>();
const byPromise = new WeakMap<object, Mark>();

const hook = createHook({
  init(id, type, trigger, resource) {
    if (type !== 'PROMISE') return;
    const parent = current ? undefined : byId.get(trigger);
    const owner = current ?? parent?.owner;
    if (!owner) return;
    const mark: Mark = { owner, input: parent ? parent.input : owner.position.input, settled: false };
    byId.set(id, mark);
    byPromise.set(resource, mark);
    owner.ids.push(id);
    if (!parent) owner.roots.push(mark);
  },
  promiseResolve(id) {
    const mark = byId.get(id);
    if (mark) mark.settled = true;
  },
});

let listening = false;

function onUnhandled(reason: unknown, promise: Promise<unknown>): void {
  const mark = byPromise.get(promise);
  if (!mark) {
    // Not a function's: what Node does with no listener (the process ends with the error).
    throw reason;
  }
  const { owner } = mark;
  if (owner.state === 'dropped') return;
  if (owner.state === 'done') {
    owner.late?.(mark.input, reason);
    return;
  }
  if (!owner.rejected.has(mark.input)) owner.rejected.set(mark.input, reason);
}

/** Marks the promises made from now until `stop()` with the record `position.input` names. */
export function watchPromises(position: { input: number }): PromiseOwner {
  if (!listening) {
    listening = true;
    process.on('unhandledRejection', onUnhandled);
  }
  const owner = new Owner(position);
  if (watching++ === 0) hook.enable();
  current = owner;
  return owner;
}

/**
 * Promises native functions leave behind. A function is synchronous, but it may start work it
 * does not await (a fire-and-forget `fetch()`, an async helper); when that work fails, Node's
 * default is to end the process with the raw rejection. Instead, each promise made while a batch
 * runs is marked with the record whose functions made it (V8's promise hooks, on only while
 * batches run or wait), the batch waits for them (up to its time limit), and a rejection no one
 * handles becomes that record's failure: it is dead-lettered, the unit goes on.
 *
 * A promise made later belongs to a record when it is chained on one of the record's promises or
 * made while a reaction of one runs (an `await` resumed, a `then` callback): what `async_hooks`
 * calls its trigger. V8's hooks hand over the promise and its parent themselves: no async id per
 * promise, no trampoline, no disable deferred to a microtask, and a run that made no promise sets
 * and unsets two hooks (`async_hooks`: ~1.5–3 µs a guarded call, these ~0.5–1 µs).
 *
 * A rejection that is no function's (the runtime's own) still ends the process, as before.
 */
import { performance } from 'node:perf_hooks';
import { promiseHooks } from 'node:v8';

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
  /** Promises made while the run ran; what they make later is theirs too. */
  readonly roots: Mark[] = [];
  readonly rejected = new Map<number, unknown>();
  state: 'running' | 'waiting' | 'done' | 'dropped' = 'running';
  late: ((input: number, reason: unknown) => void) | undefined;

  constructor(position: { input: number }) {
    this.position = position;
  }

  stop(): void {
    if (current === this) current = undefined;
    if (this.roots.length === 0) this.finish('done');
    else hookReactions();
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
    if (--watching === 0) unhookAll();
  }

  /** Whether promises its own make are still its own (not once it is done or dropped). */
  get watching(): boolean {
    return this.state === 'running' || this.state === 'waiting';
  }
}

let current: Owner | undefined;
let watching = 0;
const marks = new WeakMap<object, Mark>();
/** The mark of the promise whose reaction runs now (an `await` resumed, a `then` callback). */
let reacting: Mark | undefined;

function onInit(promise: Promise<unknown>, parent: Promise<unknown> | undefined): void {
  const from = current ? undefined : parent !== undefined ? marks.get(parent) : reacting;
  const owner = current ?? (from?.owner.watching ? from.owner : undefined);
  if (!owner) return;
  const mark: Mark = { owner, input: from ? from.input : owner.position.input, settled: false };
  marks.set(promise, mark);
  if (!from) owner.roots.push(mark);
}

function onSettled(promise: Promise<unknown>): void {
  const mark = marks.get(promise);
  if (mark) mark.settled = true;
}

/**
 * While a run runs, every promise made is its own (`current`): init and settled are enough. Only
 * an owner that made promises still needs to know whose reaction runs once it stopped: before and
 * after are on from then until no owner waits (rare: word count makes no promise, two hooks fewer
 * to set and unset per guarded call).
 */
// Node's types say `Function`: each is one hook's stop.
type Stop = () => void;
let unhook: Stop[] = [];
let reactions = false;

function hook(): void {
  unhook.push(promiseHooks.onInit(onInit) as Stop, promiseHooks.onSettled(onSettled) as Stop);
}

function hookReactions(): void {
  if (reactions) return;
  reactions = true;
  reacting = undefined;
  unhook.push(
    promiseHooks.onBefore((promise) => void (reacting = marks.get(promise))) as Stop,
    promiseHooks.onAfter(() => void (reacting = undefined)) as Stop,
  );
}

function unhookAll(): void {
  for (const stop of unhook) stop();
  unhook = [];
  reactions = false;
  reacting = undefined;
}

let listening = false;

function onUnhandled(reason: unknown, promise: Promise<unknown>): void {
  const mark = marks.get(promise);
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
  if (watching++ === 0) hook();
  current = owner;
  return owner;
}

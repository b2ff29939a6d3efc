/**
 * The threads guests run in: one active worker (every component and instance of this host
 * lives there) and one warm spare, ready to take over. A guest call is synchronous: the main
 * thread posts the batch and blocks in `Atomics.wait` until the answer — serving the guest's
 * `lookup` calls meanwhile — or until the time limit, when it terminates the worker (the only
 * way to stop a runaway wasm loop), promotes the spare and starts a new one.
 */
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { TranspiledComponent } from './transpile.ts';

const TO_WORKER = 0;
const TO_MAIN = 1;

// ES2024, in Node since 16; the repo's `lib` is ES2023.
const waitAsync = (Atomics as unknown as {
  waitAsync(a: Int32Array, i: number, v: number, t: number): { async: false; value: string } | { async: true; value: Promise<string> };
}).waitAsync;

export type LookupScope = { tag: 'committed' } | { tag: 'current'; window: [number, number] | null };

export interface CallHandlers {
  lookup(state: string, keys: string[], scope: LookupScope): Array<Uint8Array | null>;
  log(level: string, operator: string, message: string): void;
  /**
   * `ctx.sql`: runs a query (params as a JSON array) and answers the guest's JSON. Asynchronous:
   * while it runs, the call waits with `Atomics.waitAsync` instead of blocking the thread.
   */
  sql?(query: string, params: string): Promise<string>;
}

/** What the guest worker answers locally for an instance: granted clock, randomness, variables. */
export interface GuestCapabilities {
  clock?: boolean;
  random?: boolean;
  /** Granted variable → its value (null: unset). */
  env?: Record<string, string | null>;
}

export interface CallRequest {
  component: TranspiledComponent;
  instance: number;
  fn: 'process' | 'flush';
  frame: Uint8Array;
  window?: [number, number];
  /** The instance's grants (it is created with them on its first call in a worker). */
  caps?: GuestCapabilities;
}

export type CallOutcome =
  | { kind: 'ok'; out: Uint8Array }
  /** The guest trapped or threw out of the export: the instance is gone. */
  | { kind: 'trap'; message: string }
  /** Past the time limit: the worker was terminated. */
  | { kind: 'timeout'; ms: number };

export class GuestLoadError extends Error {
  override name = 'GuestLoadError';
  readonly code = 'guest-load';
  readonly domain = 'internal';
}

interface WorkerMessage {
  op: string;
  [k: string]: unknown;
}

class GuestWorker {
  readonly worker: Worker;
  readonly port: MessagePort;
  readonly ctl: Int32Array;
  private seen = 0;
  ready = false;
  dead = false;
  readonly loaded = new Set<string>();
  readonly loadErrors = new Map<string, string>();
  handlers: CallHandlers | undefined;
  outcome: CallOutcome | undefined;
  /** Instances this worker has made (a call to another one makes it first). */
  readonly instances = new Set<number>();
  /** When the instance of the call in progress was made (its time limit counts from then). */
  instantiatedAt: number | undefined;
  /** The guest's `sql` request in progress: the call waits for it asynchronously. */
  sqlRequest: { query: string; params: string } | undefined;
  /** Time the call spent waiting for SQL, ms: not the function's time. */
  sqlMs = 0;

  constructor(resourceLimitsMb: number) {
    const ctlBuffer = new SharedArrayBuffer(8);
    this.ctl = new Int32Array(ctlBuffer);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(new URL('./guest-worker.mjs', import.meta.url), {
      workerData: { ctlBuffer, port: port2 },
      transferList: [port2],
      resourceLimits: { maxOldGenerationSizeMb: resourceLimitsMb },
      stdout: false,
      stderr: false,
    });
    this.worker.unref();
    this.worker.on('exit', () => void (this.dead = true));
    this.worker.on('error', () => void (this.dead = true));
  }

  send(msg: WorkerMessage, transfer: ArrayBuffer[] = []): void {
    this.port.postMessage(msg, transfer);
    Atomics.add(this.ctl, TO_WORKER, 1);
    Atomics.notify(this.ctl, TO_WORKER);
  }

  /** Handles every message the worker has signalled so far. */
  drain(): void {
    while (Atomics.load(this.ctl, TO_MAIN) !== this.seen) {
      const m = receiveMessageOnPort(this.port);
      if (!m) continue; // signalled, not yet visible: take it on the next turn
      this.seen++;
      this.handle(m.message as WorkerMessage);
    }
  }

  private handle(m: WorkerMessage): void {
    switch (m.op) {
      case 'ready':
        this.ready = true;
        return;
      case 'loaded':
        this.loaded.add(m['component'] as string);
        return;
      case 'instantiated':
        this.instances.add(m['inst'] as number);
        this.instantiatedAt = performance.now();
        return;
      case 'log':
        this.handlers?.log(m['level'] as string, m['operator'] as string, m['message'] as string);
        return;
      case 'lookup': {
        const values = this.handlers?.lookup(m['state'] as string, m['keys'] as string[], m['scope'] as LookupScope) ?? [];
        this.send({ op: 'answer', values });
        return;
      }
      case 'sql':
        this.sqlRequest = { query: m['query'] as string, params: m['params'] as string };
        return;
      case 'result':
        this.outcome = { kind: 'ok', out: new Uint8Array(m['out'] as ArrayBuffer) };
        return;
      case 'failed':
        if (m['kind'] === 'load') {
          for (const c of this.pendingLoads) this.loadErrors.set(c, m['message'] as string);
          this.pendingLoads.clear();
        } else this.outcome = { kind: 'trap', message: m['message'] as string };
        return;
      default:
        return;
    }
  }

  readonly pendingLoads = new Set<string>();

  load(c: TranspiledComponent): void {
    if (this.loaded.has(c.hash) || this.pendingLoads.has(c.hash)) return;
    this.pendingLoads.add(c.hash);
    this.send({ op: 'load', component: c.hash, glue: c.glue, dir: c.dir, modules: c.modules });
  }

  /** Blocks until `done()` or the deadline (read again after every message); false on timeout. */
  waitSync(done: () => boolean, deadline: number | (() => number)): boolean {
    for (;;) {
      this.drain();
      if (done()) return true;
      if (this.dead) return false;
      const left = (typeof deadline === 'number' ? deadline : deadline()) - performance.now();
      if (left <= 0) return false;
      const at = Atomics.load(this.ctl, TO_MAIN);
      if (at !== this.seen) continue;
      Atomics.wait(this.ctl, TO_MAIN, at, Math.min(left, 1000));
    }
  }

  async waitAsync(done: () => boolean, deadline: number | (() => number)): Promise<boolean> {
    for (;;) {
      this.drain();
      if (done()) return true;
      if (this.dead) return false;
      const left = (typeof deadline === 'number' ? deadline : deadline()) - performance.now();
      if (left <= 0) return false;
      const at = Atomics.load(this.ctl, TO_MAIN);
      if (at !== this.seen) continue;
      const w = waitAsync(this.ctl, TO_MAIN, at, Math.min(left, 1000));
      if (!w.async) continue;
      // A pending waitAsync does not keep the process alive (the worker is unref'd): a timer does.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([w.value, new Promise((r) => (timer = setTimeout(r, Math.min(left, 1000))))]);
      clearTimeout(timer);
    }
  }

  terminate(): Promise<unknown> {
    this.dead = true;
    this.port.close();
    return this.worker.terminate().catch(() => undefined);
  }
}

export interface WorkersOptions {
  /** Keep a second worker ready to take over after a timeout. @default true */
  spare?: boolean;
  /** Heap limit of a guest worker, MB. @default 512 */
  heapMb?: number;
  /** How long a worker may take to start and load a component, ms. @default 60000 */
  loadTimeoutMs?: number;
}

export class GuestWorkers {
  private active: GuestWorker;
  private spare: GuestWorker | undefined;
  private readonly components = new Map<string, TranspiledComponent>();
  private readonly opts: Required<WorkersOptions>;
  /** Bumped when the active worker is replaced: instances of an older generation are gone. */
  generation = 0;
  restarts = 0;
  /** The call in progress whose guest is waiting for SQL (settles when that call is over). */
  private sqlCall: Promise<unknown> | undefined;

  constructor(opts: WorkersOptions = {}) {
    this.opts = { spare: opts.spare ?? true, heapMb: opts.heapMb ?? 512, loadTimeoutMs: opts.loadTimeoutMs ?? 60_000 };
    this.active = new GuestWorker(this.opts.heapMb);
    if (this.opts.spare) this.spare = new GuestWorker(this.opts.heapMb);
  }

  /** Loads (compiles) a component in the active worker and the spare; resolves when the active one has it. */
  async load(c: TranspiledComponent): Promise<void> {
    // A worker whose guest waits for SQL takes its next message as the answer: nothing else goes in meanwhile.
    while (this.sqlCall) await this.sqlCall;
    this.components.set(c.hash, c);
    this.active.load(c);
    this.spare?.load(c);
    const w = this.active;
    const ok = await w.waitAsync(() => w.loaded.has(c.hash) || w.loadErrors.has(c.hash), performance.now() + this.opts.loadTimeoutMs);
    this.check(w, c, ok);
  }

  private check(w: GuestWorker, c: TranspiledComponent, ok: boolean): void {
    const err = w.loadErrors.get(c.hash);
    if (err) throw new GuestLoadError(`cannot load component ${c.hash}: ${err}`);
    if (!ok) throw new GuestLoadError(`component ${c.hash} did not load within ${this.opts.loadTimeoutMs} ms`);
  }

  /**
   * Runs a guest call. Synchronous (the thread blocks) unless the guest asks for SQL: then the
   * rest of the call is waited for asynchronously and the outcome is a promise.
   */
  call(req: CallRequest, handlers: CallHandlers, timeoutMs: number): CallOutcome | Promise<CallOutcome> {
    // One call at a time per worker: another unit's call waits for one that is waiting for SQL.
    if (this.sqlCall) return this.sqlCall.then(() => this.call(req, handlers, timeoutMs));
    const w = this.active;
    if (!w.loaded.has(req.component.hash)) {
      w.load(req.component);
      const ok = w.waitSync(() => w.loaded.has(req.component.hash) || w.loadErrors.has(req.component.hash), performance.now() + this.opts.loadTimeoutMs);
      this.check(w, req.component, ok);
    }
    w.handlers = handlers;
    w.outcome = undefined;
    w.instantiatedAt = undefined;
    w.sqlRequest = undefined;
    w.sqlMs = 0;
    // A new instance (first call, or after a trap or a new worker) is made inside the call:
    // until it exists the call may take as long as loading does, then `timeoutMs` from there.
    const fresh = !w.instances.has(req.instance);
    const frame = req.frame.byteOffset === 0 && req.frame.byteLength === req.frame.buffer.byteLength ? req.frame : req.frame.slice();
    const started = performance.now();
    w.send(
      { op: 'call', component: req.component.hash, inst: req.instance, fn: req.fn, frame: frame.buffer, ...(req.window ? { window: req.window } : {}), ...(req.caps ? { caps: req.caps } : {}) },
      [frame.buffer as ArrayBuffer],
    );
    const deadline = () => w.sqlMs + (w.instantiatedAt ?? started) + (fresh && w.instantiatedAt === undefined ? this.opts.loadTimeoutMs : timeoutMs);
    const done = w.waitSync(() => w.outcome !== undefined || w.sqlRequest !== undefined, deadline);
    if (done && w.outcome === undefined) {
      const rest = this.finishWithSql(w, req, handlers, deadline, started);
      // Settles however the call ends (its caller sees the error, not the calls waiting behind it).
      const gate: Promise<unknown> = rest
        .catch(() => undefined)
        .finally(() => {
          if (this.sqlCall === gate) this.sqlCall = undefined;
        });
      this.sqlCall = gate;
      return rest;
    }
    return this.settle(w, req, done, started);
  }

  /** The rest of a call whose guest waits for SQL: queries run while the thread stays free. */
  private async finishWithSql(w: GuestWorker, req: CallRequest, handlers: CallHandlers, deadline: () => number, started: number): Promise<CallOutcome> {
    for (;;) {
      const ask = w.sqlRequest;
      if (ask) {
        w.sqlRequest = undefined;
        const t0 = performance.now();
        let answer: string;
        try {
          answer = handlers.sql
            ? await handlers.sql(ask.query, ask.params)
            : JSON.stringify({ error: 'ctx.sql is not available here: this host has no state tables to query' });
        } catch (error) {
          answer = JSON.stringify({ error: error instanceof Error ? error.message : String(error) });
        }
        w.sqlMs += performance.now() - t0;
        if (w.dead) return this.settle(w, req, false, started);
        w.send({ op: 'answer', answer });
      }
      const done = await w.waitAsync(() => w.outcome !== undefined || w.sqlRequest !== undefined, deadline);
      if (!done || w.outcome !== undefined) return this.settle(w, req, done, started);
    }
  }

  private settle(w: GuestWorker, req: CallRequest, done: boolean, started: number): CallOutcome {
    w.handlers = undefined;
    if (done) {
      if (w.outcome!.kind === 'trap') w.instances.delete(req.instance);
      return w.outcome!;
    }
    const died = w.dead;
    this.replaceActive();
    // A worker that died by itself (out of memory, a crash) failed the call like a trap.
    if (died) return { kind: 'trap', message: 'the guest worker died (out of memory?)' };
    return { kind: 'timeout', ms: Math.round(performance.now() - started) };
  }

  /** Forgets an instance (its memory is freed in the worker). */
  drop(instance: number): void {
    if (this.sqlCall) {
      void this.sqlCall.then(() => this.drop(instance));
      return;
    }
    this.active.instances.delete(instance);
    if (!this.active.dead) this.active.send({ op: 'drop', inst: instance });
  }

  private replaceActive(): void {
    void this.active.terminate();
    this.restarts++;
    this.generation++;
    this.active = this.spare ?? new GuestWorker(this.opts.heapMb);
    for (const c of this.components.values()) this.active.load(c);
    this.spare = this.opts.spare ? new GuestWorker(this.opts.heapMb) : undefined;
    for (const c of this.components.values()) this.spare?.load(c);
  }

  async close(): Promise<void> {
    await Promise.all([this.active.terminate(), this.spare?.terminate()]);
  }
}

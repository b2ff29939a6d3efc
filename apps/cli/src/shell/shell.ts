/**
 * The interactive shell of `ssdk run FILE`: produce and consume records, look at state (as
 * tables or with SQL), the graph and the metrics of a dataflow running embedded in this process.
 *
 * `Shell` knows nothing of terminals: it takes a session, where to write, and a source of lines
 * (readline on a terminal or a pipe, an array in tests). `runShellCommand(line)` runs one command
 * and returns what it printed, so tests drive the shell in-process.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { formatJsonLine, type JsonRecord } from '@ssdk/records';
import { renderPlanText, type PhysicalPlan, type PlanTopic, type PlanType } from '@ssdk/plan';
import type { ProduceRecord } from '@ssdk/runtime';
import { plural } from '../diagnostics.ts';
import type { Session } from '../embedded-session.ts';
import { inputRecords, readInputFile, type InputFile } from '../input-file.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USER_ERROR } from '../exit-codes.ts';
import { paint, type CliIo } from '../io.ts';
import { COMMAND_WORDS, COMMANDS, commandDef, SHOW_WHAT, type CommandDef } from './commands.ts';
import { keyMatches, readState, resolveState } from './state-view.ts';
import { cell, renderTable } from './table.ts';
import { TopicView } from './topics.ts';
import { closest, formatTime, parseFlags, parseTime, ShellError, splitWords, type ParsedWords, type Word } from './words.ts';

/** Lines to run; `prompt()` (on a terminal) shows the prompt before the next line is read. */
export interface LineSource extends AsyncIterable<string> {
  prompt?(): void;
}

export interface ShellOptions {
  session: Session;
  io: CliIo;
  lines?: LineSource;
  /** A person at a terminal: the full banner on stdout, and errors do not change the exit code. */
  interactive?: boolean;
  /** How long `produce` waits for the dataflow to go idle. @default 5000 */
  idleTimeoutMs?: number;
  /** Where state lives, for the banner (`resumed from .ssdk/state`). */
  stateInfo?: string;
}

export interface CommandResult {
  /** What the command printed, in order: `out` for results, `err` for notes and errors. */
  chunks: Array<{ stream: 'out' | 'err'; text: string }>;
  /** `exit`/`quit`. */
  exit: boolean;
  /** How the command failed, if it did. */
  failure?: 'user' | 'internal';
}

/** The topic kinds a user may produce to: the dataflow's own service topics are written by it. */
const PRODUCIBLE = new Set<PlanTopic['kind']>(['source', 'intermediate', 'sink', 'unused']);

class Output {
  readonly chunks: CommandResult['chunks'] = [];
  out(text: string): void {
    this.chunks.push({ stream: 'out', text });
  }
  note(text: string): void {
    this.chunks.push({ stream: 'err', text });
  }
}

export class Shell {
  readonly session: Session;
  readonly io: CliIo;
  readonly topics: TopicView;
  private readonly lines: LineSource | undefined;
  private readonly interactive: boolean;
  private readonly idleTimeoutMs: number;
  private readonly stateInfo: string | undefined;
  private readonly failures = { user: 0, internal: 0 };
  private exited = false;

  constructor(o: ShellOptions) {
    this.session = o.session;
    this.io = o.io;
    this.lines = o.lines;
    this.interactive = o.interactive ?? false;
    this.idleTimeoutMs = o.idleTimeoutMs ?? 5000;
    this.stateInfo = o.stateInfo;
    this.topics = new TopicView(o.session.df, o.session.plan);
  }

  /** True once `exit`/`quit` ran. */
  get hasExited(): boolean {
    return this.exited;
  }

  /** Reads and runs lines until `exit` or the end of the input, then lets the dataflow settle. */
  async run(): Promise<number> {
    if (!this.lines) throw new Error('Shell.run needs a source of lines');
    if (this.interactive) this.io.out(this.banner());
    else {
      const d = this.session.plan.dataflow;
      this.io.err(`ssdk run: ${d.namespace}/${d.name}@${d.version} embedded${this.stateInfo ? `, ${this.stateInfo}` : ''}; reading commands from stdin\n`);
    }
    this.lines.prompt?.();
    for await (const line of this.lines) {
      const r = await this.execute(line);
      for (const c of r.chunks) (c.stream === 'out' ? this.io.out : this.io.err)(c.text);
      if (r.exit) break;
      this.lines.prompt?.();
    }
    await this.settle();
    if (this.interactive) return EXIT_OK;
    const failed = this.failures.user + this.failures.internal;
    if (failed > 0) this.io.err(`ssdk run: ${plural(failed, 'command')} failed\n`);
    return this.failures.internal > 0 ? EXIT_FAILURE : this.failures.user > 0 ? EXIT_USER_ERROR : EXIT_OK;
  }

  /** Waits until the dataflow has processed what was produced (so it is committed); a failed dataflow settles at once. */
  async settle(): Promise<void> {
    await this.session.df.idle().catch(() => undefined);
  }

  /** Runs one line and returns everything it printed (results, notes and errors, in order). */
  async runShellCommand(line: string): Promise<string> {
    return (await this.execute(line)).chunks.map((c) => c.text).join('');
  }

  async execute(line: string): Promise<CommandResult> {
    const out = new Output();
    let exit = false;
    try {
      exit = await this.dispatch(line, out);
    } catch (err) {
      const failure = isUserError(err) ? 'user' : 'internal';
      this.failures[failure]++;
      out.note(this.describeError(err));
      return { chunks: out.chunks, exit: false, failure };
    }
    if (exit) this.exited = true;
    return { chunks: out.chunks, exit };
  }

  private describeError(err: unknown): string {
    const message = err instanceof Error ? err.message : String(err);
    let hint = err instanceof ShellError ? err.hint : undefined;
    if (!hint && !isUserError(err)) hint = 'set SSDK_DEBUG=1 to see where it failed';
    const line = `${paint(this.io, 'red', 'error')}: ${message.replace(/\s*\n\s*/g, ' ')}${hint ? ` — hint: ${hint}` : ''}\n`;
    const stack = process.env['SSDK_DEBUG'] && err instanceof Error && err.stack ? err.stack + '\n' : '';
    return line + stack;
  }

  private async dispatch(line: string, out: Output): Promise<boolean> {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return false;
    const command = /^\S+/.exec(trimmed)![0];
    // A SQL query is taken as written; a produced value may hold apostrophes (`it's`), so the
    // produce line is split leniently and its VALUE is read from the line itself.
    if (command === 'sql') {
      await this.sql(line.slice(line.indexOf('sql') + 3), out);
      return false;
    }
    const words = splitWords(line, command === 'produce');
    const head = words[0]!;
    const args = words.slice(1);
    switch (head.text) {
      case 'produce':
        await this.produce(line, args, out);
        return false;
      case 'consume':
        await this.consume(args, out);
        return false;
      case 'show':
        await this.show(args, out);
        return false;
      case 'help':
      case '?':
        out.out(this.help(args.map((w) => w.text)));
        return false;
      case 'exit':
      case 'quit':
        if (args.length > 0) throw new ShellError(`\`${head.text}\` takes no arguments`);
        return true;
      default: {
        const close = closest(head.text, [...COMMAND_WORDS]);
        throw new ShellError(`unknown command \`${head.text}\`${close ? ` (did you mean \`${close}\`?)` : ''}`, '`help` lists the commands');
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // produce

  private async produce(line: string, args: Word[], out: Output): Promise<void> {
    const def = commandDef('produce')!;
    const parsed = parseFlags(args, def.flags, 'produce', { stopAfterPositionals: 1 });
    const topicWord = parsed.positionals[0];
    if (!topicWord) throw usage(def, 'produce needs a TOPIC');
    const topic = this.topics.resolve(topicWord.text);
    if (!PRODUCIBLE.has(topic.kind)) {
      throw new ShellError(
        `\`${topic.id}\` is ${topic.kind === 'internal' ? 'an internal topic' : `the ${topic.kind} topic`} of service \`${topic.service ?? '?'}\`: the dataflow writes it`,
        `produce to: ${this.producible().join(', ')}`,
      );
    }
    const file = parsed.flags.get('file');
    let records: ProduceRecord[];
    if (typeof file === 'string') {
      if (parsed.flags.has('key') || parsed.flags.has('time')) {
        throw new ShellError('--key and --time do not go with --file', 'put keys and timestamps in the file\'s records, with --records');
      }
      if (parsed.restStart !== undefined) throw new ShellError('give either VALUE or --file, not both');
      records = (await this.readFileRecords(file, parsed.flags.get('records') === true, topic)).map(toProduceRecord);
    } else {
      if (parsed.flags.has('records')) throw new ShellError('--records goes with --file', 'write one VALUE, or --file PATH --records');
      if (parsed.restStart === undefined) throw usage(def, 'produce needs a VALUE (JSON) or --file PATH');
      const value = this.parseValue(topic, line.slice(parsed.restStart));
      const record: ProduceRecord = { value };
      const key = parsed.flags.get('key');
      if (typeof key === 'string') record.key = this.parseKey(topic, key);
      const time = parsed.flags.get('time');
      if (typeof time === 'string') {
        const ms = parseTime(time);
        if (ms === undefined) throw new ShellError(`--time takes epoch milliseconds or an ISO date, got \`${time}\``, 'e.g. --time 1736154000000 or --time 2025-01-06T09:00:00Z');
        record.timestamp = ms;
      }
      records = [record];
    }
    const before = await this.topics.counts();
    await this.session.df.produce(topic.id, records);
    out.note(`produced ${plural(records.length, 'record')} to ${topic.id}\n`);
    const idle = await this.waitIdle();
    const after = await this.topics.counts();
    const news: string[] = [];
    const dead: string[] = [];
    for (const t of this.session.plan.topics) {
      if (t.kind === 'internal' || t.id === topic.id) continue;
      const n = (after.get(t.id) ?? 0) - (before.get(t.id) ?? 0);
      if (n <= 0) continue;
      news.push(`${t.id} +${n}`);
      if (t.kind === 'dead-letter') dead.push(t.id);
    }
    if (news.length) out.note(`new records: ${news.join(', ')}\n`);
    if (dead.length) out.note(`${paint(this.io, 'yellow', 'dead letters')}: \`consume ${dead[0]}\` shows why\n`);
    if (!idle) out.note(`(still processing after ${this.idleTimeoutMs / 1000} s: \`consume\` shows results as they arrive)\n`);
  }

  private producible(): string[] {
    return this.session.plan.topics.filter((t) => PRODUCIBLE.has(t.kind)).map((t) => t.id);
  }

  /**
   * JSON. On a topic of strings, text that is not a JSON string is the string itself, and
   * `'…'` quotes (optional) keep it literal: `produce words it's`, `produce words ' padded '`.
   */
  private parseValue(topic: PlanTopic, raw: string): unknown {
    const text = raw.trim();
    const stringTopic = topic.value.converter === 'raw' || resolvesTo(this.session.plan, topic.value.type, 'string');
    if (stringTopic && !text.startsWith('"')) return text.length >= 2 && text.startsWith("'") && text.endsWith("'") ? text.slice(1, -1) : text;
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      const why = err instanceof Error ? err.message.replace(/^(Unexpected token|Expected)/, (m) => m.toLowerCase()) : String(err);
      throw new ShellError(
        `VALUE is not valid JSON (${why})`,
        stringTopic ? 'close the string\'s quotes, or write the words without quotes' : `\`${topic.id}\` holds ${topic.value.type}: write it as JSON, strings in double quotes`,
      );
    }
  }

  private parseKey(topic: PlanTopic, key: string): string | number | boolean {
    if (!topic.key || resolvesTo(this.session.plan, topic.key.type, 'string') || topic.key.converter === 'raw') return key;
    try {
      const v = JSON.parse(key) as unknown;
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
    } catch {
      // reported below
    }
    throw new ShellError(`\`${topic.id}\` has ${topic.key.type} keys, got \`${key}\``, 'write the key as JSON (a number, true/false, or a "string")');
  }

  /**
   * A JSON-lines file's records for `topic`, as `ssdk produce --file` and `ssdk run --input` read
   * it (input-file.ts): a bad line is produced marked with FILE:LINE and why, and the operator that
   * reads it dead-letters it; the other lines go on.
   */
  private async readFileRecords(path: string, records: boolean, topic: PlanTopic): Promise<JsonRecord[]> {
    const full = resolve(this.io.cwd, path);
    let input: InputFile;
    try {
      // Named as the user wrote it: the dead letter says where to look.
      input = { path, lines: (await readInputFile(full, records)).lines };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new ShellError(`file not found: ${path}`, `paths are relative to ${this.io.cwd}`);
      if (code === 'EISDIR') throw new ShellError(`${path} is a directory`, 'give a JSON-lines file');
      throw err;
    }
    return inputRecords(input, this.session.df.topicOf(topic.id));
  }

  /** True when the dataflow went idle within the timeout. A failed dataflow is reported as an error. */
  private async waitIdle(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), this.idleTimeoutMs)));
    try {
      return await Promise.race([this.session.df.idle().then(() => true as const), timeout]);
    } catch (err) {
      throw new ShellError(`the dataflow stopped: ${err instanceof Error ? err.message : String(err)}`, 'show metrics says which operator failed; exit and run again to start it anew');
    } finally {
      clearTimeout(timer);
    }
  }

  // -------------------------------------------------------------------------------------------
  // consume

  private async consume(args: Word[], out: Output): Promise<void> {
    const def = commandDef('consume')!;
    const parsed = parseFlags(args, def.flags, 'consume');
    if (parsed.positionals.length !== 1) throw usage(def, parsed.positionals.length ? 'consume takes one TOPIC' : 'consume needs a TOPIC');
    const topic = this.topics.resolve(parsed.positionals[0]!.text);
    const limitText = parsed.flags.get('limit');
    let limit = Infinity;
    if (typeof limitText === 'string') {
      limit = Number(limitText);
      if (!Number.isSafeInteger(limit) || limit < 1) throw new ShellError(`-n takes a positive number of records, got \`${limitText}\``);
    }
    const fromBeginning = parsed.flags.get('from-beginning') === true;
    const asRecords = parsed.flags.get('records') === true;
    const { records, more } = await this.topics.consume(topic, { fromBeginning, limit });
    for (const r of records) {
      out.out(formatJsonLine({ ...(r.key !== null ? { key: r.key } : {}), value: r.value, timestamp: r.timestamp, ...(r.headers ? { headers: r.headers } : {}) }, asRecords) + '\n');
    }
    if (records.length === 0) {
      const total = (await this.topics.counts()).get(topic.id) ?? 0;
      out.note(
        total === 0
          ? `(${topic.id} is empty)\n`
          : `(no new records on ${topic.id}; ${plural(total, 'record')} in all: \`consume ${topic.id} --from-beginning\` shows them)\n`,
      );
    } else if (more > 0) out.note(`(${more} more: \`consume ${topic.id}\` shows the next)\n`);
  }

  // -------------------------------------------------------------------------------------------
  // show

  private async show(args: Word[], out: Output): Promise<void> {
    const what = args[0]?.text;
    if (what === undefined) throw new ShellError('show what?', 'show state, show graph or show metrics');
    const def = commandDef(`show ${what}`);
    if (!def) {
      const close = closest(what, [...SHOW_WHAT]);
      throw new ShellError(`\`show ${what}\` is not a command${close ? ` (did you mean \`show ${close}\`?)` : ''}`, 'show state, show graph or show metrics');
    }
    const parsed = parseFlags(args.slice(1), def.flags, def.name);
    if (what === 'state') return this.showState(parsed, out);
    if (parsed.positionals.length > 0) throw usage(def, `\`${def.name}\` takes no arguments`);
    if (what === 'graph') out.out(renderPlanText(this.session.plan));
    else out.out(this.metricsTable());
  }

  private async showState(parsed: ParsedWords, out: Output): Promise<void> {
    const def = commandDef('show state')!;
    const states = this.session.plan.states;
    if (parsed.positionals.length > 1) throw usage(def, 'show state takes one NAME');
    const nameWord = parsed.positionals[0];
    if (!nameWord) {
      if (parsed.flags.size > 0) throw usage(def, '--key and --window need a state NAME');
      if (states.length === 0) {
        out.out('(this dataflow keeps no state)\n');
        return;
      }
      const rows: string[][] = [];
      for (const s of states) {
        const entries = await readState(this.session, s);
        const windows = new Set(entries.map((e) => (e.window ? `${e.window.start}` : '')));
        rows.push([s.name, s.owner, s.table, `${s.keyType} → ${s.valueType}`, s.windowed ? `yes (${plural(entries.length ? windows.size : 0, 'window')} open)` : 'no', String(entries.length)]);
      }
      out.out(renderTable(['state', 'owner', 'table', 'key → value', 'windowed', 'rows'], rows, { right: [false, false, false, false, false, true] }));
      return;
    }
    const s = resolveState(this.session, nameWord.text);
    let entries = await readState(this.session, s);
    const key = parsed.flags.get('key');
    if (typeof key === 'string') entries = entries.filter((e) => keyMatches(e.key, key));
    const window = parsed.flags.get('window');
    if (window !== undefined) {
      if (!s.windowed) throw new ShellError(`state \`${s.name}\` is not windowed`, 'show it without --window');
      if (window === true) {
        const latest = entries.reduce((m, e) => Math.max(m, e.window!.start), -Infinity);
        entries = entries.filter((e) => e.window!.start === latest);
      } else {
        const t = parseTime(window)!;
        entries = entries.filter((e) => e.window!.start <= t && t < e.window!.end);
      }
    }
    if (entries.length === 0) {
      if (typeof key === 'string') out.out(`(no entry for key \`${key}\` in ${s.name}${window !== undefined ? ' in that window' : ''})\n`);
      else if (s.windowed) out.out(`(no open windows${window !== undefined && window !== true ? ` holding ${formatTime(parseTime(window))}` : ''}: a window's state is dropped once the window is flushed)\n`);
      else out.out(`(${s.name} is empty)\n`);
      return;
    }
    const rows = entries.map((e) => (s.windowed ? [formatTime(e.window!.start), formatTime(e.window!.end), cell(e.key), cell(e.value)] : [cell(e.key), cell(e.value)]));
    out.out(renderTable(s.windowed ? ['window start', 'window end', 'key', 'value'] : ['key', 'value'], rows));
    out.out(`(${plural(entries.length, 'entry', 'entries')})\n`);
  }

  private metricsTable(): string {
    const rows = this.session.df.metrics().map((m) => [
      m.operator,
      m.state,
      String(m.recordsIn),
      String(m.recordsOut),
      String(m.failed),
      String(m.late),
      String(m.batches),
      formatTime(m.watermark),
      m.batchLatencyMs.p50.toFixed(2),
      m.batchLatencyMs.p99.toFixed(2),
    ]);
    return renderTable(['operator', 'state', 'in', 'out', 'failed', 'late', 'batches', 'watermark', 'p50 ms', 'p99 ms'], rows, {
      right: [false, false, true, true, true, true, true, false, true, true],
    });
  }

  // -------------------------------------------------------------------------------------------
  // sql

  private async sql(query: string, out: Output): Promise<void> {
    const text = query.trim();
    if (!text) throw usage(commandDef('sql')!, 'sql needs a QUERY');
    const store = this.session.store;
    if (!store) {
      throw new ShellError('sql needs the state database, and this session keeps state in memory (--ephemeral)', 'run without --ephemeral to query state with SQL; `show state` works either way');
    }
    let rows: Record<string, unknown>[];
    try {
      rows = await store.query(text.replace(/;\s*$/, ''));
    } catch (err) {
      if (!isUserError(err)) throw err;
      const message = (err as Error).message.replace(/^ctx\.sql:\s*/, '').replace(/^ctx\.sql\s+/, 'sql ');
      const readOnly = (err as { code?: string }).code === 'state-read-only';
      throw new ShellError(
        message,
        readOnly ? 'the shell only reads state; the dataflow alone changes it' : `state tables: ${this.session.plan.states.map((s) => s.table).join(', ') || 'none'}`,
      );
    }
    if (rows.length === 0) {
      out.out('(0 rows)\n');
      return;
    }
    const headers = Object.keys(rows[0]!);
    const right = headers.map((h) => rows.every((r) => typeof r[h] === 'number' || typeof r[h] === 'bigint' || r[h] === null));
    out.out(renderTable(headers, rows.map((r) => headers.map((h) => cell(r[h]))), { right }));
    out.out(`(${plural(rows.length, 'row')})\n`);
  }

  // -------------------------------------------------------------------------------------------
  // help, banner, completion

  help(words: string[]): string {
    if (words.length === 0) {
      const rows = COMMANDS.flatMap((c) => c.usage.map((u, i) => [u, i === 0 ? c.summary : '']));
      const width = Math.max(...rows.map(([u]) => u!.length)) + 2;
      return ['Commands:', ...rows.map(([u, s]) => `  ${u!.padEnd(width)}${s}`.trimEnd()), '', '`help COMMAND` shows a command in detail; Tab completes commands, topics, states and flags.', ''].join('\n');
    }
    const name = words.slice(0, words[0] === 'show' ? 2 : 1).join(' ');
    if (name === 'show') return COMMANDS.filter((c) => c.name.startsWith('show ')).map(renderCommandHelp).join('\n');
    const found = commandDef(name);
    if (found) return renderCommandHelp(found);
    const close = closest(name, [...COMMAND_WORDS, ...COMMANDS.map((c) => c.name)]);
    throw new ShellError(`no command \`${name}\`${close ? ` (did you mean \`${close}\`?)` : ''}`, '`help` lists the commands');
  }

  banner(): string {
    const { plan } = this.session;
    const d = plan.dataflow;
    const bold = (t: string) => paint(this.io, 'bold', t);
    const topics = plan.topics.filter((t) => t.kind !== 'internal');
    const internal = plan.topics.length - topics.length;
    const rows = topics.map((t) => [t.id, t.kind, `${t.key ? `key ${t.key.type}, ` : ''}value ${t.value.type}`]);
    const widths = [0, 1].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
    return [
      `${bold(`ssdk run · ${d.namespace}/${d.name}@${d.version}`)} · embedded${this.stateInfo ? ` · ${this.stateInfo}` : ''}`,
      `operators (${plan.operators.length}): ${plan.operators.map((o) => o.id).join(', ')}`,
      `topics (${plan.topics.length}):`,
      ...rows.map((r) => `  ${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]}`),
      ...(internal ? [`  (+ ${plural(internal, 'internal topic')} between operators: \`show graph\` lists them)`] : []),
      ...(plan.states.length ? [`states: ${plan.states.map((s) => s.name).join(', ')}`] : []),
      `type ${bold('help')} for the commands, ${bold('exit')} or Ctrl-D to leave`,
      '',
    ].join('\n');
  }

  /** Tab completion: `[candidates, the word being completed]` (node:readline's completer form). */
  complete(line: string): [string[], string] {
    const words = splitWords(line, true);
    const atBlank = line.length === 0 || /\s$/.test(line);
    const fragment = atBlank ? '' : (words.at(-1)?.text ?? '');
    const index = atBlank ? words.length : words.length - 1;
    const prev = words[index - 1]?.text;
    const cmd = words[0]?.text;
    const match = (candidates: readonly string[]) => [[...new Set(candidates)].filter((c) => c.startsWith(fragment)).sort(), fragment] as [string[], string];
    if (index === 0) return match(COMMAND_WORDS);
    const { plan } = this.session;
    const def = cmd === 'show' ? commandDef(`show ${words[1]?.text ?? ''}`) : cmd ? commandDef(cmd) : undefined;
    const flagOf = (w: string | undefined) => (w && def ? Object.entries(def.flags).find(([n, f]) => w === `--${n}` || (f.short !== undefined && w === `-${f.short}`))?.[1] : undefined);
    const prevFlag = flagOf(prev);
    if (prevFlag?.kind === 'string' && prev === '--file') return completePath(fragment, this.io.cwd);
    if (prevFlag?.kind === 'string') return [[], fragment];
    if (fragment.startsWith('-') && def) return match(Object.keys(def.flags).map((n) => `--${n}`));
    switch (cmd) {
      case 'help':
        return index === 1 ? match([...COMMAND_WORDS]) : index === 2 && words[1]?.text === 'show' ? match(SHOW_WHAT) : [[], fragment];
      case 'produce':
        return index === 1 ? match(this.producible()) : [[], fragment];
      case 'consume':
        return index === 1 ? match(plan.topics.map((t) => t.id)) : match(Object.keys(def?.flags ?? {}).map((n) => `--${n}`));
      case 'show':
        if (index === 1) return match(SHOW_WHAT);
        if (words[1]?.text === 'state' && index === 2) return match(plan.states.map((s) => s.name));
        return def ? match(Object.keys(def.flags).map((n) => `--${n}`)) : [[], fragment];
      case 'sql':
        return match([...plan.states.map((s) => s.table), '_tables']);
      default:
        return [[], fragment];
    }
  }
}

function renderCommandHelp(c: CommandDef): string {
  const flags = Object.entries(c.flags).map(([n, f]) => {
    const value = f.kind === 'string' ? ` ${f.valueName ?? 'VALUE'}` : f.kind === 'optional-time' ? ` [${f.valueName ?? 'T'}]` : '';
    return [`${f.short ? `-${f.short}, ` : ''}--${n}${value}`, f.description];
  });
  const width = Math.max(0, ...flags.map(([f]) => f!.length)) + 2;
  return [
    ...c.usage.map((u, i) => `${i === 0 ? 'usage: ' : '       '}${u}`),
    '',
    `${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.`,
    ...(c.details.length ? ['', ...c.details] : []),
    ...(flags.length ? ['', 'flags:', ...flags.map(([f, d]) => `  ${f!.padEnd(width)}${d}`)] : []),
    ...(c.examples.length ? ['', 'examples:', ...c.examples.map((e) => `  ${e}`)] : []),
    '',
  ].join('\n');
}

function usage(def: CommandDef, message: string): ShellError {
  return new ShellError(message, `usage: ${def.usage.join(' | ')}`);
}

function isUserError(err: unknown): boolean {
  return err instanceof Error && (err as { domain?: unknown }).domain === 'user';
}

function toProduceRecord(r: JsonRecord): ProduceRecord {
  const key = r.key;
  return {
    ...(typeof key === 'string' || typeof key === 'number' || typeof key === 'boolean' ? { key } : {}),
    value: r.value,
    ...(r.timestamp !== undefined ? { timestamp: r.timestamp } : {}),
    ...(r.headers ? { headers: r.headers } : {}),
  };
}

/** Whether a printed type (`string`, `sentence`) is, through named types, the primitive `name`. */
function resolvesTo(plan: PhysicalPlan, typeName: string, name: string): boolean {
  let t: PlanType | undefined = { kind: 'named', name: typeName };
  for (let hops = 0; t && hops < 16; hops++) {
    if (t.kind === 'primitive') return t.name === name;
    if (t.kind !== 'named') return false;
    const target: string = t.name;
    if (target === name) return true;
    t = plan.types.find((x) => x.name === target)?.type;
  }
  return false;
}

/** File names for `--file`: entries of the fragment's directory that start with its last part. */
function completePath(fragment: string, cwd: string): [string[], string] {
  const dirPart = fragment.endsWith('/') ? fragment : dirname(fragment) === '.' && !fragment.startsWith('./') ? '' : dirname(fragment) + '/';
  const base = fragment.endsWith('/') ? '' : basename(fragment);
  try {
    const dir = resolve(cwd, dirPart || '.');
    const names = readdirSync(dir)
      .filter((n) => n.startsWith(base) && (base.startsWith('.') || !n.startsWith('.')))
      .map((n) => dirPart + n + (isDir(join(dir, n)) ? '/' : ''))
      .sort();
    return [names, fragment];
  } catch {
    return [[], fragment];
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

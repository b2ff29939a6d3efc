/**
 * The shell on real streams. On a terminal: a prompt, history (`.ssdk/history`, loaded at start,
 * each command appended), tab completion, Ctrl-C clears the line (twice on an empty line leaves),
 * Ctrl-D leaves. Piped: commands are read line by line, with no prompt and no echo.
 */
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface, type Interface } from 'node:readline/promises';
import type { Session } from '../embedded-session.ts';
import type { CliIo } from '../io.ts';
import { Shell, type LineSource } from './shell.ts';

/** A CliIo that may carry its own stdin (tests pipe commands in-process; default: process.stdin). */
export interface ShellIo extends CliIo {
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
}

export interface StartShellOptions {
  /** Where history is kept (interactive only); none: no history is written. */
  historyFile?: string;
  stateInfo?: string;
  idleTimeoutMs?: number;
}

const HISTORY_LINES = 1000;
const PROMPT = 'ssdk> ';

/** Runs the shell on the io's stdin until `exit` or the end of input; returns the exit code. */
export async function startShell(session: Session, io: ShellIo, o: StartShellOptions = {}): Promise<number> {
  const input = io.stdin ?? process.stdin;
  const interactive = Boolean(input.isTTY);
  if (!interactive) {
    const rl = createInterface({ input, terminal: false, crlfDelay: Infinity });
    // Ctrl-C on a piped run stops reading, so the dataflow stops and the state closes cleanly;
    // a second one ends the process as usual.
    const onSigint = () => {
      process.off('SIGINT', onSigint);
      rl.close();
    };
    if (input === process.stdin) process.on('SIGINT', onSigint);
    try {
      const lines: LineSource = { [Symbol.asyncIterator]: () => rl[Symbol.asyncIterator]() };
      return await new Shell({ session, io, lines, interactive: false, ...shellExtras(o) }).run();
    } finally {
      process.off('SIGINT', onSigint);
      rl.close();
    }
  }

  const history = o.historyFile ? await loadHistory(o.historyFile) : [];
  const rl = createInterface({
    input,
    output: process.stdout,
    terminal: true,
    prompt: PROMPT,
    history: [...history].reverse(),
    historySize: HISTORY_LINES,
    removeHistoryDuplicates: true,
    completer: (line: string) => shell.complete(line),
  });
  const shell: Shell = new Shell({ session, io, lines: terminalLines(rl, o.historyFile), interactive: true, ...shellExtras(o) });
  let armed = false;
  rl.on('SIGINT', () => {
    if (rl.line.length > 0) {
      rl.write(null, { ctrl: true, name: 'e' });
      rl.write(null, { ctrl: true, name: 'u' });
      process.stdout.write('\n');
      rl.prompt();
    } else if (armed) rl.close();
    else {
      armed = true;
      process.stdout.write('\n(press Ctrl-C again, Ctrl-D or type exit to leave)\n');
      rl.prompt();
    }
  });
  rl.on('line', () => (armed = false));
  rl.on('close', () => {
    // Ctrl-D leaves the cursor after the prompt: end that line.
    if (!shell.hasExited) process.stdout.write('\n');
  });
  try {
    return await shell.run();
  } finally {
    rl.close();
  }
}

function shellExtras(o: StartShellOptions) {
  return { ...(o.stateInfo ? { stateInfo: o.stateInfo } : {}), ...(o.idleTimeoutMs !== undefined ? { idleTimeoutMs: o.idleTimeoutMs } : {}) };
}

/** The terminal's lines, each non-blank one appended to the history file as it is run. */
function terminalLines(rl: Interface, historyFile: string | undefined): LineSource {
  return {
    prompt: () => rl.prompt(),
    async *[Symbol.asyncIterator]() {
      let last: string | undefined;
      for await (const line of rl) {
        const entry = line.trim();
        if (historyFile && entry && entry !== last) {
          await appendFile(historyFile, entry + '\n').catch(() => undefined);
          last = entry;
        }
        yield line;
      }
    },
  };
}

/** The history file's lines, oldest first; trimmed to the last HISTORY_LINES when longer. */
export async function loadHistory(file: string): Promise<string[]> {
  await mkdir(dirname(file), { recursive: true });
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return [];
  }
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length > HISTORY_LINES) {
    const kept = lines.slice(-HISTORY_LINES);
    await writeFile(file, kept.join('\n') + '\n').catch(() => undefined);
    return kept;
  }
  return lines;
}

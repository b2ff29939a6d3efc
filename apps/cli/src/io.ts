/**
 * Where a command writes. Commands never touch `process` directly, so tests run them in-process
 * and capture what a user would see.
 */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  cwd: string;
  /** Colour only for a terminal that wants it (NO_COLOR is honoured). */
  color: boolean;
  /** Present when stderr is a terminal (a status line may be redrawn there): its width now. */
  terminal?: { columns(): number | undefined };
}

export function processIo(): CliIo {
  return {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    cwd: process.cwd(),
    color: Boolean(process.stderr.isTTY) && !process.env['NO_COLOR'],
    ...(process.stderr.isTTY ? { terminal: { columns: () => process.stderr.columns } } : {}),
  };
}

export function bufferIo(cwd = process.cwd()): CliIo & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    cwd,
    color: false,
    stdout: () => out,
    stderr: () => err,
  };
}

const codes = { red: 31, yellow: 33, green: 32, dim: 2, bold: 1 } as const;
export function paint(io: CliIo, color: keyof typeof codes, text: string): string {
  return io.color ? `\u001b[${codes[color]}m${text}\u001b[0m` : text;
}

import { describe, expect, it } from 'vitest';
import { Kind, Parser, type ParserEvent } from '@nats-io/transport-node';
import { parseSplitMessagesOnce } from './nats-parser.ts';

const encoder = new TextEncoder();

/** An HMSG as the server sends it: `payload` with one header, and what the parser hands over for it (headers + payload). */
function hmsg(sid: number, payload: Uint8Array): { wire: Uint8Array; message: Uint8Array } {
  const headers = encoder.encode('NATS/1.0\r\nNats-Msg-Id: m\r\n\r\n');
  const message = new Uint8Array(headers.length + payload.length);
  message.set(headers);
  message.set(payload, headers.length);
  const line = encoder.encode(`HMSG t.0 ${sid} r.${sid} ${headers.length} ${message.length}\r\n`);
  const wire = new Uint8Array(line.length + message.length + 2);
  wire.set(line);
  wire.set(message, line.length);
  wire.set(encoder.encode('\r\n'), line.length + message.length);
  return { wire, message };
}

function payloadOf(size: number, seed: number): Uint8Array {
  const p = new Uint8Array(size);
  for (let i = 0; i < size; i++) p[i] = (i * 31 + seed) & 0xff;
  return p;
}

/** `wire` fed to a parser in reads of `chunk` bytes, each a buffer of its own (as a socket gives them); the messages handed over. */
function parseInReads(wire: Uint8Array, chunk: number): { data: Uint8Array; read: ArrayBufferLike | undefined }[] {
  const reads: Uint8Array[] = [];
  for (let at = 0; at < wire.length; at += chunk) reads.push(wire.slice(at, at + chunk));
  const out: { data: Uint8Array; read: ArrayBufferLike | undefined }[] = [];
  let current: Uint8Array | undefined;
  const parser = new Parser({
    push: (e: ParserEvent) => {
      if (e.kind === Kind.MSG) out.push({ data: e.data!, read: current?.buffer });
    },
  });
  for (const r of reads) {
    current = r;
    parser.parse(r);
  }
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}

describe('nats.js parser: a message split over reads', () => {
  parseSplitMessagesOnce();

  it('is copied into one buffer of its own size, not a grown one', () => {
    // A frame of ~1 000 Nexmark events, read 64 KiB at a time as Node reads a socket.
    const { wire, message } = hmsg(1, payloadOf(285_000, 1));
    const [m] = parseInReads(wire, 65_536);
    expect(Buffer.compare(m!.data, message)).toBe(0);
    expect(m!.data.byteOffset).toBe(0);
    // nats.js's own buffer grows to twice its capacity and what comes: 458 648 bytes here.
    expect(m!.data.buffer.byteLength).toBe(message.length);
  });

  it('hands over every message intact, split anywhere (in its line, headers or payload) or whole', () => {
    const sizes = [0, 1, 100, 65_000, 65_536, 70_000, 131_072, 300_001, 5];
    const messages = sizes.map((size, i) => hmsg(i + 1, payloadOf(size, i)));
    const wire = concat(messages.map((m) => m.wire));
    for (const chunk of [7, 1_000, 4_096, 65_536, 100_003, wire.length]) {
      const got = parseInReads(wire, chunk);
      expect(got.map((g) => g.data.length), `reads of ${chunk}`).toEqual(messages.map((m) => m.message.length));
      got.forEach((g, i) => expect(Buffer.compare(g.data, messages[i]!.message), `message ${i}, reads of ${chunk}`).toBe(0));
    }
    // A byte a read: every state of the parser ends a read somewhere.
    const small = messages.slice(0, 3);
    const got = parseInReads(concat(small.map((m) => m.wire)), 1);
    expect(got.map((g) => Buffer.compare(g.data, small[got.indexOf(g)]!.message))).toEqual([0, 0, 0]);
  });

  it('still hands over a message within one read as a view of that read', () => {
    const { wire, message } = hmsg(1, payloadOf(1_000, 3));
    const [m] = parseInReads(wire, 65_536);
    expect(m!.data).toEqual(message);
    expect(m!.data.buffer).toBe(m!.read);
  });
});

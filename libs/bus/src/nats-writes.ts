/**
 * What a connection writes goes to its socket without first being copied into one buffer when
 * it holds a large payload: the payload itself is handed to the socket, the small pieces around
 * it (protocol lines, headers, CRLFs, small messages) gathered as before, all in one corked
 * write (one writev).
 *
 * nats.js (3.4) keeps what a connection has to send as a list of buffers and, to flush it,
 * allocates one buffer of their total size and copies every one into it (`DataBuffer.pack`). With
 * writes gathered up to 1 MiB (`PUBLISH_COALESCE_BYTES`), a unit publishing a hop's frames
 * allocated a fresh, zero-filled MiB for every MiB it sent and copied the frames into it; on this
 * kind of VM the fresh pages cost more than the copy. Publishing q7's hop (184 000 bids in 200
 * frames, 47 MB) through the bus: 0.194-0.252 → 0.100-0.119 CPU s (5 alternating pairs, every one
 * lower; page faults 5-11k → under 200).
 *
 * Installed on nats.js's protocol handler once per process (`connectNats` calls it), like
 * nats-parser.ts. A buffer handed to the socket is written later than the publish call returns
 * when the socket is busy: the bus's callers hand over frames they do not change afterwards (each
 * publish encodes its own), as nats.js already assumed for a flush of a single buffer.
 */
import type { Socket } from 'node:net';
import { DataBuffer, ProtocolHandler } from '@nats-io/transport-node';

/** A buffer at least this large is written as it is; smaller ones are copied together, as nats.js does. */
export const WRITE_AS_IS_BYTES = 16 * 1024;

let installed = false;

/** Makes every nats.js connection of this process write large payloads without packing them (idempotent). */
export function writeLargePayloadsAsTheyAre(): void {
  if (installed) return;
  installed = true;
  // `flushPending` is private in nats.js's types: the one method this replaces.
  const handler = ProtocolHandler.prototype as unknown as { flushPending(this: ProtocolHandler): void };
  const flushPending = handler.flushPending;
  handler.flushPending = function flushLargeAsTheyAre(this: ProtocolHandler): void {
    const socket = (this.transport as { socket?: Partial<Socket> }).socket;
    const pending = this.outbound.buffers;
    if (!this.infoReceived || !this.connected || typeof socket?.cork !== 'function' || typeof socket.uncork !== 'function' || !pending.some(isLarge)) {
      flushPending.call(this);
      return;
    }
    const buffers = pending.slice();
    this.outbound.reset();
    socket.cork();
    try {
      let small: Uint8Array[] = [];
      for (const b of buffers) {
        if (!isLarge(b)) {
          small.push(b);
          continue;
        }
        if (small.length > 0) this.transport.send(small.length === 1 ? small[0]! : DataBuffer.concat(...small));
        small = [];
        this.transport.send(b);
      }
      if (small.length > 0) this.transport.send(small.length === 1 ? small[0]! : DataBuffer.concat(...small));
    } finally {
      socket.uncork();
    }
  };
}

function isLarge(b: Uint8Array): boolean {
  return b.byteLength >= WRITE_AS_IS_BYTES;
}

/**
 * @ssdk/records — the record, the one binary frame format for batches of records, and the
 * key partitioner. Shared by the bus adapters, the engine and the WebAssembly boundary. Also
 * `redact`, the one rule that keeps credentials out of messages, logs and status (every lib uses it).
 *
 * @example
 * import { encodeRecords, decodeFrame, partitionOf } from '@ssdk/records';
 * const frame = encodeRecords([{ key: null, value: new TextEncoder().encode('{"n":1}'), timestamp: Date.now() }]);
 * decodeFrame(frame); // { kind: 'data', records: [...] }
 */
export * from './record.ts';
export * from './frame.ts';
export * from './partitioner.ts';
export * from './jsonl.ts';
export * from './utf8.ts';
export * from './redact.ts';

/**
 * @ssdk/bus — topics as partitioned logs of record frames. One interface, two adapters:
 * in-memory (embedded mode, here) and NATS JetStream (distributed mode).
 *
 * @example
 * import { createMemoryBus } from '@ssdk/bus';
 * const bus = createMemoryBus();
 * await bus.ensureTopic({ name: 'sentences', partitions: 8 });
 * await bus.publish('sentences', 0, [{ data: frame, msgId: 'split:0:41:0' }]);
 * const messages = await bus.read('sentences', 0, { afterSeq: 0 }).fetch(100, 1000);
 */
export * from './bus.ts';
export { createMemoryBus, type MemoryBusOptions } from './memory.ts';

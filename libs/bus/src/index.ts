/**
 * @ssdk/bus — topics as partitioned logs of record frames. One interface, two adapters:
 * in-memory (embedded mode) and NATS JetStream (distributed mode: one stream per topic, a
 * subject per partition, deterministic `Nats-Msg-Id`s for de-duplication).
 *
 * @example
 * import { createMemoryBus, createNatsBus } from '@ssdk/bus';
 * const bus = process.env.NATS_URL ? await createNatsBus({ replicas: 3 }) : createMemoryBus();
 * await bus.ensureTopic({ name: 'sentences', partitions: 8 });
 * await bus.publish('sentences', 0, [{ data: frame, msgId: 'split:0:41:0' }]);
 * const reader = bus.read('sentences', 0, { afterSeq: committedSeq });
 * const messages = await reader.fetch(100, 1000);
 * await reader.ack(messages.at(-1)!.seq);
 */
export * from './bus.ts';
export * from './errors.ts';
export { createMemoryBus, type MemoryBusOptions } from './memory.ts';
export { createNatsBus, type NatsBus } from './nats.ts';
export { compileNatsBusOptions, type CompiledNatsBusOptions, type NatsBusOptions } from './nats-options.ts';
export {
  compileNatsConnection,
  DEFAULT_NATS_URL,
  describeServers,
  NATS_ENV,
  natsConnectionEnv,
  type CompiledNatsConnection,
  type NatsConnectionOptions,
} from './nats-connection.ts';
export { connectControl, NoResponderError, RemoteError, type ControlConnection, type ControlOptions, type ControlRequestOptions, type Served } from './nats-control.ts';
export { openArtifactStore, artifactBucket, sha256Hex, type ArtifactStore, type ArtifactStoreOptions } from './nats-artifacts.ts';

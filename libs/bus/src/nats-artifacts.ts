/**
 * Deployment artifacts in the NATS object store: content-addressed blobs (a plan document, a
 * compiled function, a WebAssembly component of ~12 MB — chunked by the object store, so NATS'
 * max_payload does not bound it). An object's name is the sha256 (hex) of its bytes, so a name
 * says what it holds: a reader checks what it got, and an unchanged artifact is never stored
 * twice. One bucket per subject prefix (`<prefix>-artifacts`), like the streams.
 */
import { DEFAULT_SUBJECT_PREFIX } from '@ssdk/settings';
import { createHash } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { ArtifactCorruptError, ArtifactMissingError, BusUnavailableError } from './errors.ts';
import { closeWithoutTrace, compileNatsConnection, connectNats, type NatsConnectionOptions } from './nats-connection.ts';
import { isTransientNatsError } from './retry.ts';

/** The connection (servers, credentials, TLS from the options or `NATS_*`, as every other NATS client of ssdk), then the store's own. */
export interface ArtifactStoreOptions extends NatsConnectionOptions {
  /** The stack's subject prefix: the bucket is `<prefix>-artifacts`. @default 'ssdk' */
  subjectPrefix?: string;
  /** Connection name (shown by the server). */
  name?: string;
  /** @internal tests: the environment to read `NATS_*` from. @default process.env */
  env?: Record<string, string | undefined>;
}

export interface ArtifactStore {
  readonly bucket: string;
  /** Stores `bytes` under their sha256 (hex) and returns it; a blob already there is not sent again. */
  put(bytes: Uint8Array): Promise<string>;
  /** The blob named `hash`, checked against it; `ArtifactMissingError` when there is none. */
  get(hash: string): Promise<Uint8Array>;
  has(hash: string): Promise<boolean>;
  close(): Promise<void>;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** `<prefix>-artifacts`, in the characters a bucket name may hold. */
export function artifactBucket(subjectPrefix: string): string {
  return `${subjectPrefix.replace(/[^A-Za-z0-9_-]/g, '_')}-artifacts`;
}

export async function openArtifactStore(o: ArtifactStoreOptions = {}): Promise<ArtifactStore> {
  const bucket = artifactBucket(o.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX);
  // A refused credential is a BusAuthError, a server away a BusUnavailableError, both redacted.
  const nc: NatsConnection = await connectNats(compileNatsConnection(o, o.env ?? process.env), { name: o.name ?? 'ssdk-artifacts', timeout: 5_000, noAsyncTraces: true });
  let os: ObjectStore;
  try {
    os = await new Objm(nc).create(bucket, { description: 'ssdk deployment artifacts by sha256' });
  } catch (err) {
    await closeWithoutTrace(nc).catch(() => {});
    if (isTransientNatsError(err)) throw new BusUnavailableError(`the object store ${bucket} is not available: ${(err as Error).message}`, { cause: err });
    throw err;
  }
  return {
    bucket,
    async put(bytes) {
      const hash = sha256Hex(bytes);
      if (!(await os.info(hash))) await os.putBlob({ name: hash }, bytes);
      return hash;
    },
    async get(hash) {
      const bytes = await os.getBlob(hash);
      if (!bytes) throw new ArtifactMissingError(`artifact ${hash} is not in the object store bucket ${bucket}: deploy the dataflow again (\`ssdk deploy FILE\`) against this NATS server`);
      const got = sha256Hex(bytes);
      if (got !== hash) throw new ArtifactCorruptError(`artifact ${hash} in ${bucket} holds bytes that hash to ${got}`);
      return bytes;
    },
    async has(hash) {
      const info = await os.info(hash);
      return info !== null && !info.deleted;
    },
    async close() {
      await closeWithoutTrace(nc).catch(() => {});
    },
  };
}

/**
 * nexmark-source: the Nexmark benchmark's events generated in the connector, exactly what
 * `ssdk nexmark` writes (value = the event, timestamp = its event time), so a benchmark needs no
 * file. A finite source: after `events` events it marks the end of its topic's input (as
 * `ssdk produce --end` does) and returns.
 *
 * Nothing is lost and nothing is repeated: event n is a pure function of the settings and n.
 * Events go out in batches aligned on `first` (batch k holds events first + k·batch ..), each
 * under an id made of the settings and its first event's number, and after each batch the
 * number of the next event is saved as the source's position (on the bus, as a polling
 * postgres-source keeps its own). A source killed between a publish and the save starts again
 * at the saved batch, regenerates the same batch under the same id, and the bus drops it.
 */
import type { NexmarkSourceConfig } from '@ssdk/spec';
import { compileNexmarkOptions, nexmarkEvent, nexmarkEventTime } from '@ssdk/nexmark';
import { endSourceInput, publishSourceGroup, type ConnectorHost, type PositionStore, type SourceRecord, type SourceTopic } from './runtime.ts';

/** The saved position: the next event to publish, and the settings whose stream it belongs to. */
interface NexmarkPosition {
  next: number;
  stream: string;
}

export async function runNexmarkSource(host: ConnectorHost, config: NexmarkSourceConfig, topic: SourceTopic, positions: PositionStore): Promise<void> {
  const options = compileNexmarkOptions({ seed: config.seed, eventsPerSecond: config.rate, ...(config.baseTime !== undefined ? { baseTime: config.baseTime } : {}) });
  const stream = nexmarkStream(config, options.baseTime);
  const end = config.first + config.events;
  const next = await resumeAt(host, config, stream, positions);
  host.log(next === config.first ? `events ${config.first} to ${end - 1} (seed ${config.seed})` : `events ${config.first} to ${end - 1} (seed ${config.seed}): resuming at event ${next}`);
  for (let start = next; start < end; start += config.batch) {
    if (host.signal.aborted) return;
    const stop = Math.min(start + config.batch, end);
    const records: SourceRecord[] = [];
    for (let n = start; n < stop; n++) {
      const event = nexmarkEvent(n, options);
      records.push({ value: JSON.stringify(event), timestamp: nexmarkEventTime(event) });
    }
    // Batch k always goes to partition k mod partitions: a batch published again lands where it first did.
    const batchNumber = Math.floor((start - config.first) / config.batch);
    await publishSourceGroup(host, topic, batchNumber % topic.partitions, records, `nexmark|${stream}|${start}`);
    await positions.save(0, JSON.stringify({ next: stop, stream } satisfies NexmarkPosition));
    // Embedded, the dataflow shares this thread: let it take the batch before the next is made.
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (host.signal.aborted) return;
  await endSourceInput(host, topic, `nexmark|${stream}`);
  host.log(`published events ${config.first} to ${end - 1}; the input of \`${topic.name}\` ends here`);
}

/**
 * What the events depend on, apart from how many: a position (or a message id) of other
 * settings belongs to another stream. `events` is left out, so a source given more events
 * continues where the shorter one stopped.
 */
function nexmarkStream(config: NexmarkSourceConfig, baseTime: number): string {
  return `s${config.seed}-r${config.rate}-t${baseTime}-f${config.first}-b${config.batch}`;
}

/** The event to start at: the saved position when it belongs to these settings, else `first`. */
async function resumeAt(host: ConnectorHost, config: NexmarkSourceConfig, stream: string, positions: PositionStore): Promise<number> {
  const text = await positions.load(0);
  if (text === undefined) return config.first;
  let saved: Partial<NexmarkPosition> | undefined;
  try {
    saved = JSON.parse(text) as Partial<NexmarkPosition>;
  } catch {
    saved = undefined;
  }
  if (saved?.stream !== stream || typeof saved.next !== 'number' || !Number.isSafeInteger(saved.next) || saved.next < config.first) {
    host.log(`the saved position (${text}) belongs to other settings: starting at event ${config.first}`);
    return config.first;
  }
  return saved.next;
}

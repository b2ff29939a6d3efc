/**
 * What the commands of the distributed runtime share (`operator`, `produce`, `consume`, `up`):
 * the server and isolation flags and their environment variables, the plan as operators see it
 * (same plan options, so the subjects match), and a topic of it opened on NATS.
 */
import { createNatsBus, NATS_ENV, type NatsBus } from '@ssdk/bus';
import { planOrThrow, type ServicesFilePlan } from '@ssdk/plan';
import { ensurePlanTopics, planTopology, type IsolationChoice, type RuntimeTopic, type Topology } from '@ssdk/runtime';
import { compileStackSettings, SettingsError, type StackSettings } from '@ssdk/settings';
import { UsageError, type OptionSpec, type ParsedCommand } from './args.ts';

/**
 * NATS credentials and TLS as flags, each the file or name its `nats` CLI variable holds. A
 * password or token has no flag: on a command line `ps` shows it to every user of the host;
 * give them as NATS_PASSWORD / NATS_TOKEN (or in a creds file).
 */
const natsAuthFlags = {
  'nats-user': 'user',
  'nats-nkey': 'nkeyFile',
  'nats-creds': 'credsFile',
  'nats-ca': 'caFile',
  'nats-cert': 'certFile',
  'nats-key': 'keyFile',
} as const;

/** Flags every distributed command takes. */
export const serverOptions: Record<string, OptionSpec> = {
  nats: { type: 'string', valueName: 'URL', description: 'NATS server (default: $NATS_URL, else nats://127.0.0.1:4222); a password goes in $NATS_PASSWORD, not here' },
  'nats-user': { type: 'string', valueName: 'NAME', description: 'NATS user, with the password in $NATS_PASSWORD (default: $NATS_USER)' },
  'nats-nkey': { type: 'string', valueName: 'FILE', description: 'NATS nkey seed file (default: $NATS_NKEY)' },
  'nats-creds': { type: 'string', valueName: 'FILE', description: 'NATS creds file: user JWT and seed (default: $NATS_CREDS)' },
  'nats-ca': { type: 'string', valueName: 'FILE', description: 'CA certificate the NATS server\'s must chain to (TLS; default: $NATS_CA)' },
  'nats-cert': { type: 'string', valueName: 'FILE', description: 'client certificate for NATS (mutual TLS; default: $NATS_CERT)' },
  'nats-key': { type: 'string', valueName: 'FILE', description: 'private key of --nats-cert (default: $NATS_KEY)' },
  'subject-prefix': { type: 'string', valueName: 'PREFIX', description: 'first subject token(s) and stream-name prefix (default: $SSDK_SUBJECT_PREFIX, else ssdk)' },
  partitions: { type: 'string', valueName: 'N', description: 'partitions per topic, a plan option: every process of a dataflow must agree (default: $SSDK_PARTITIONS, else the file\'s, else 8)' },
};

/** Where operator processes run functions; without a flag, `SSDK_ISOLATION`, else as the plan says. */
export const isolationOptions: Record<string, OptionSpec> = {
  native: { type: 'boolean', description: 'run every function natively in V8 (trusted code; fastest): no WebAssembly sandbox, no build (default: $SSDK_ISOLATION, else as the file says)' },
  sandbox: { type: 'boolean', description: 'run every function as a WebAssembly component, `isolation: native` ones too (default: $SSDK_ISOLATION, else as the file says — sandboxed unless `isolation: native`)' },
};

/** `--native` / `--sandbox` (not both); neither: undefined, and the processes read `SSDK_ISOLATION`. */
export function isolationOf(cmd: ParsedCommand, command: string): IsolationChoice | undefined {
  if (cmd.values['native'] && cmd.values['sandbox']) throw new UsageError('--native and --sandbox contradict each other: give one', command);
  return cmd.values['native'] ? 'native' : cmd.values['sandbox'] ? 'sandbox' : undefined;
}

export interface ServerFlags {
  natsUrl: string;
  subjectPrefix: string;
  partitions?: number;
}

/**
 * The server flags of a command. The `--nats-*` credential flags are put in this process's
 * environment under the `nats` CLI's names: every NATS connection of the process reads them
 * there, and every child process inherits them — never on its command line.
 */
export function serverFlags(cmd: ParsedCommand, command: string): ServerFlags {
  for (const [flag, field] of Object.entries(natsAuthFlags)) {
    const value = cmd.values[flag];
    if (typeof value === 'string') process.env[NATS_ENV[field]] = value;
  }
  const { natsUrl, subjectPrefix, partitions } = stackSettings(cmd, command);
  return { natsUrl, subjectPrefix, ...(partitions !== undefined ? { partitions } : {}) };
}

/**
 * The stack's settings of a command: its flags, else this process's environment, else the
 * defaults — the one rule of @ssdk/settings, a bad value a usage error of the command.
 */
export function stackSettings(cmd: ParsedCommand, command: string): StackSettings {
  const flag = (name: string) => (typeof cmd.values[name] === 'string' ? (cmd.values[name] as string) : undefined);
  try {
    return compileStackSettings({ natsUrl: flag('nats'), databaseUrl: flag('postgres'), subjectPrefix: flag('subject-prefix'), controlSchema: flag('control-schema'), partitions: flag('partitions') }, process.env);
  } catch (err) {
    if (err instanceof SettingsError) throw new UsageError(err.message, command);
    throw err;
  }
}

/**
 * The plan flags again, as a child process's arguments. The servers are not among them: a child
 * gets NATS_URL (and any credentials) by environment, where `ps` does not show them.
 */
export function serverArgs(flags: ServerFlags): string[] {
  return ['--subject-prefix', flags.subjectPrefix, ...(flags.partitions !== undefined ? ['--partitions', String(flags.partitions)] : [])];
}

export interface OpenTopic {
  loaded: ServicesFilePlan;
  topology: Topology;
  topic: RuntimeTopic;
  bus: NatsBus;
}

/** Plans the file, finds TOPIC (by id or stream name), connects and makes sure the topic exists. */
export async function openTopic(file: string, topicName: string, flags: ServerFlags, command: string): Promise<OpenTopic> {
  const loaded = await planOrThrow(file, { subjectPrefix: flags.subjectPrefix, ...(flags.partitions !== undefined ? { partitions: flags.partitions } : {}) });
  const topology = await planTopology(loaded.plan);
  const topic = topology.topics.get(topicName) ?? [...topology.topics.values()].find((t) => t.name === topicName);
  if (!topic) throw new UsageError(`${file} has no topic \`${topicName}\`: its topics are ${[...topology.topics.keys()].map((k) => `\`${k}\``).join(', ')}`, command);
  const bus = await createNatsBus({ servers: flags.natsUrl, subjectPrefix: flags.subjectPrefix, name: `ssdk ${command}` });
  try {
    await ensurePlanTopics(bus, loaded.plan, [topic.id]);
    // The topic as the stack made it wins: a reader of another partition count would ask for
    // partitions that are not there, a writer would put keys where the operators do not look.
    const stored = await bus.topic(topic.name);
    if (stored && stored.partitions !== topic.partitions) {
      throw new UsageError(
        `topic \`${topic.id}\` has ${stored.partitions} partitions on NATS, and this command planned ${topic.partitions}: pass --partitions ${stored.partitions} (or set SSDK_PARTITIONS=${stored.partitions}), as the stack's other processes have it`,
        command,
      );
    }
  } catch (err) {
    await bus.close();
    throw err;
  }
  return { loaded, topology, topic, bus };
}

/**
 * `ssdk compose FILE`: a docker-compose file for any dataflow: the servers (NATS with JetStream on
 * a volume, PostgreSQL, Jaeger taking OTLP over HTTP), the planner, a one-shot `deploy-dataflow`
 * job that deploys the user's services file and `functions/` (their folder mounted read-only),
 * one service per operator unit of its plan (`ssdk operator --dataflow NS/NAME --operator ID`:
 * the deployed bundle is all it needs), scalable with `--scale`, one per inline connector
 * (`ssdk connector run`), and the dashboard scraping them.
 *
 * Beside the compose file goes `.env` (mode 0600, never printed, never overwritten): the project
 * name (`COMPOSE_PROJECT_NAME`, from the dataflow, so two dataflows are two stacks) and the
 * PostgreSQL password, random per stack, and the stack's plan-signing key (an nkey seed: the deploy
 * job signs every deployment with it; the planner and the operators trust only its public key,
 * `SSDK_TRUSTED_KEYS`, also in `.env`), and a random NATS password per role. The stack's NATS
 * runs `nats-server.conf`, also written beside the compose file (no secret in it: the roles'
 * permissions of `natsRolesConfig`, passwords as `$SSDK_NATS_<ROLE>_PASSWORD`), so anonymous
 * clients are refused and each service connects as its role alone: planner, deployer (the deploy
 * job), operator (operators and connectors), consumer (the dashboard). The compose file names the secrets only as
 * `${POSTGRES_PASSWORD}` (compose substitutes it from `.env` itself), so `docker compose config`
 * reads the file without `.env` (a fresh clone); `up` without it fails safe: PostgreSQL refuses
 * an empty password and nothing that depends on it starts. Published ports listen on 127.0.0.1 unless
 * `--publish-address` says otherwise. Every string YAML 1.1 could misread is quoted, so Compose
 * v1 (PyYAML) and v2 (yaml.v3) read what v1.2 readers read. Deterministic: the same file and flags
 * give the same text, so a committed compose file can be checked against it.
 */
import { randomBytes } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { Document, isScalar, isSeq, visit } from 'yaml';
import { scalingRefusal } from '@ssdk/connectors';
import { NATS_ROLES, natsRolePasswordEnv, natsRolesConfig, newNatsRolePassword, type NatsRole } from '@ssdk/control-plane';
import { planOrThrow } from '@ssdk/plan';
import { newSigningSeed, publicKeyOf } from '@ssdk/runtime';
import { inlineConnectors, type Connector } from '@ssdk/spec';
import { UsageError, type CommandSpec, type ParsedCommand } from '../args.ts';
import { isolationOf, isolationOptions } from '../distributed.ts';
import { EXIT_OK } from '../exit-codes.ts';
import type { CliIo } from '../io.ts';

export const composeSpec: CommandSpec = {
  name: 'compose',
  summary: 'Generate a docker-compose stack for a dataflow: NATS, PostgreSQL, Jaeger, the planner, a deploy job, one service per operator, the dashboard.',
  usage:
    'ssdk compose FILE [--scale OPERATOR=N...] [--partitions N] [--native | --sandbox] [--image NAME] [--publish-address ADDR] [--port-offset N] [--fragment] [--output PATH]',
  options: {
    ...isolationOptions,
    scale: { type: 'string', multiple: true, valueName: 'OPERATOR=N', description: 'replicas of an operator (its id or its compose service name) or of a connector (connector-NAME: N services, each --replica I/N); repeatable' },
    partitions: { type: 'string', valueName: 'N', description: 'partitions per topic, passed to the deploy job (default: the file\'s, else 8)' },
    image: { type: 'string', valueName: 'NAME', description: `the ssdk image every ssdk service runs (default: ${'ssdk:local'}, built by \`npm run docker:image\` in the ssdk repository)` },
    'publish-address': { type: 'string', valueName: 'ADDR', description: 'host interface the published ports listen on (default: 127.0.0.1, this machine only)' },
    'port-offset': { type: 'string', valueName: 'N', description: 'added to every published host port (4222, 5432, …), for a second stack or servers already running on this host (default: 0)' },
    fragment: { type: 'boolean', description: 'only the dataflow\'s services (deploy job and operators), to merge into an existing compose file' },
    output: { type: 'string', short: 'o', valueName: 'PATH', description: 'write the file here instead of stdout (`.env` goes beside it)' },
  },
  minPositionals: 1,
  maxPositionals: 1,
  examples: [
    'ssdk compose services.yaml -o docker-compose.yml && docker compose up -d',
    'ssdk compose examples/word-count/services.yaml --scale count-words.add-to-total=3 -o docker-compose.yml',
    'ssdk compose services.yaml --port-offset 10000 -o docker-compose.yml   # NATS on 127.0.0.1:14222, …',
    'docker compose up -d --scale count-words-add-to-total=3',
  ],
};

const DEFAULT_IMAGE = 'ssdk:local';
/** Where the user's dataflow folder is mounted (read-only) in the deploy job and the dashboard. */
const DATAFLOW_MOUNT = '/dataflow';
/** The compose file's neighbour holding the project name and the secrets (compose reads it itself). */
const ENV_FILE = '.env';
/**
 * The secret as compose's own variable substitution (from the shell, else `.env`): never its value
 * in this file, and no `env_file:` entry, which compose refuses to read when the file is missing.
 */
const PASSWORD_VARIABLE = '${POSTGRES_PASSWORD:-}';
const DATABASE_URL = `postgres://postgres:${PASSWORD_VARIABLE}@postgres:5432/ssdk`;
/**
 * Signed plans: the deploy job signs each deployment with the stack's key (an nkey seed in `.env`,
 * substituted into that one service only), the planner and every operator trust its public key
 * (also in `.env`) and run nothing else. Empty without `.env`: nothing is signed nor checked.
 */
const SIGNING_KEY = { SSDK_SIGNING_KEY: '${SSDK_SIGNING_KEY:-}' };
const TRUSTED_KEYS = { SSDK_TRUSTED_KEYS: '${SSDK_TRUSTED_KEYS:-}' };
/**
 * The NATS roles' permissions (`natsRolesConfig`), beside the compose file like `.env`, mounted into
 * the nats container. Passwords are `$SSDK_NATS_<ROLE>_PASSWORD` there, resolved from the nats
 * container's environment, which compose fills from `.env`.
 */
const NATS_CONFIG_FILE = 'nats-server.conf';
const NATS_CONFIG_MOUNT = '/etc/nats/ssdk-roles.conf';
/** A service's NATS credential: its role and that role's password, by compose's substitution from `.env`. */
const natsAs = (role: NatsRole) => ({ NATS_USER: role, NATS_PASSWORD: `\${${natsRolePasswordEnv(role)}:-}` });
/** Every operator container serves Prometheus metrics here; each has its own address, so replicas never collide. */
const METRICS_PORT = 9464;
const DASHBOARD_PORT = 8080;

/** Where the deploy job writes its builds (the image's home of the `node` user, writable). */
const DEPLOY_HOME = '/home/node/.ssdk';
/** Built components, shared by the deploy job and every operator container (one build per stack, not per container). */
const COMPONENTS = { volume: 'components', path: '/var/cache/ssdk/components' };

interface Ports {
  address: string;
  offset: number;
}

const publish = (ports: Ports, port: number) => `${ports.address}:${port + ports.offset}:${port}`;

const header = (file: string, args: string, project: string, ports: Ports) =>
  [
    `# Generated by \`ssdk compose ${file}${args}\`: regenerate rather than edit (a test checks it matches).`,
    `# \`ssdk compose\` also writes ${ENV_FILE} beside this file (mode 0600, kept if present): the project name`,
    `# (${project}), the PostgreSQL password, the stack's plan-signing key and a NATS password per role, which this file names only`,
    '# as ${POSTGRES_PASSWORD}, ${SSDK_NATS_<ROLE>_PASSWORD} and ${SSDK_SIGNING_KEY} (the deploy job signs; planner and operators trust',
    `# \${SSDK_TRUSTED_KEYS}, its public key), and ${NATS_CONFIG_FILE} (the roles' NATS permissions, no secret): \`config\``,
    '# reads this file without .env, `up` needs it (PostgreSQL and NATS refuse to start without passwords). Image: `npm run docker:image`.',
    '#   docker compose up -d                                  # servers, planner, deploy job, operators, dashboard',
    '#   docker compose up -d --scale <operator service>=3     # replicas of one operator share its partitions',
    `#   export NATS_URL=nats://127.0.0.1:${4222 + ports.offset} NATS_USER=producer NATS_PASSWORD=<SSDK_NATS_PRODUCER_PASSWORD of ${ENV_FILE}>`,
    '#   # ssdk produce as producer, consume as consumer, status and deploy as deployer (docs/security.md)',
    `# Dashboard http://127.0.0.1:${DASHBOARD_PORT + ports.offset}, traces http://127.0.0.1:${16686 + ports.offset}.`,
    '# Without a Docker engine, `ssdk up FILE` runs the same topology as local processes.',
    '',
  ].join('\n');

export async function runCompose(cmd: ParsedCommand, io: CliIo): Promise<number> {
  const given = cmd.positionals[0]!;
  const partitions = wholeNumber(cmd, 'partitions', 1);
  const offset = wholeNumber(cmd, 'port-offset', 0) ?? 0;
  if (offset + 16686 > 65535) throw new UsageError(`--port-offset ${offset} puts the published ports past 65535`, 'compose');
  const address = typeof cmd.values['publish-address'] === 'string' ? cmd.values['publish-address'] : '127.0.0.1';
  const image = typeof cmd.values['image'] === 'string' ? cmd.values['image'] : DEFAULT_IMAGE;
  const ports: Ports = { address, offset };
  const servicesFile = resolve(io.cwd, given);
  const { plan, dataflow: parsed } = await planOrThrow(servicesFile, partitions !== undefined ? { partitions } : {});
  const dataflow = `${plan.dataflow.namespace}/${plan.dataflow.name}`;
  const project = projectName(plan.dataflow.namespace, plan.dataflow.name);

  // Paths in the file are relative to its folder, as compose reads them.
  const output = typeof cmd.values['output'] === 'string' ? resolve(io.cwd, cmd.values['output']) : undefined;
  const composeDir = output ? dirname(output) : io.cwd;
  const dataflowDir = relativeFrom(composeDir, dirname(servicesFile));
  const dataflowVolume = `${dataflowDir}:${DATAFLOW_MOUNT}:ro`;
  const fileInContainer = `${DATAFLOW_MOUNT}/${basename(servicesFile)}`;

  const isolation = isolationOf(cmd, 'compose');
  const connectors = inlineConnectors(parsed);
  // Connectors are named `connector-<name>` (a key no operator id can be: ids hold a dot).
  const allNames = serviceNames([...plan.operators.map((op) => op.id), ...connectors.map((c) => `connector-${c.name}`)]);
  const names = new Map(plan.operators.map((op) => [op.id, allNames.get(op.id)!]));
  const connectorService = (c: Connector) => allNames.get(`connector-${c.name}`)!;
  const connectorNames = new Map(connectors.map((c) => [`connector-${c.name}`, connectorService(c)]));
  const scaled = parseScale((cmd.values['scale'] as string[] | undefined) ?? [], new Map([...names, ...connectorNames]));
  const replicas = new Map([...scaled].filter(([id]) => names.has(id)));
  // DATABASE_URL names the password by variable: its value is in the env file only.
  const environment = { NATS_URL: 'nats://nats:4222', DATABASE_URL, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318', OTEL_SERVICE_NAME: 'ssdk' };
  const ssdk = { image };
  const services: Record<string, unknown> = {};
  if (!cmd.values['fragment']) {
    Object.assign(services, servers(ports, relativeFrom(composeDir, resolve(composeDir, NATS_CONFIG_FILE))));
    services['planner'] = { ...ssdk, command: ['ssdk', 'planner'], environment: { ...environment, ...natsAs('planner'), ...TRUSTED_KEYS }, depends_on: SERVERS_HEALTHY, restart: 'unless-stopped' };
  }
  services['deploy-dataflow'] = {
    ...ssdk,
    command: ['ssdk', 'deploy', fileInContainer, ...(partitions !== undefined ? ['--partitions', String(partitions)] : [])],
    environment: {
      ...environment,
      ...natsAs('deployer'),
      // The deploy builds what it ships: its work goes to the container's home (the user's folder
      // is mounted read-only), the component to the stack's cache (a redeploy of the same code is a hit).
      SSDK_HOME: DEPLOY_HOME,
      SSDK_COMPONENT_CACHE: COMPONENTS.path,
      ...(isolation ? { SSDK_ISOLATION: isolation } : {}),
      ...SIGNING_KEY,
    },
    volumes: [dataflowVolume, `${COMPONENTS.volume}:${COMPONENTS.path}`],
    depends_on: { planner: { condition: 'service_started' } },
    // Until the planner answers, the job fails and is tried again.
    restart: 'on-failure',
  };
  for (const op of plan.operators) {
    const name = names.get(op.id)!;
    services[name] = {
      ...ssdk,
      command: ['ssdk', 'operator', '--dataflow', dataflow, '--operator', op.id],
      environment: {
        ...environment,
        ...natsAs('operator'),
        OTEL_SERVICE_NAME: `ssdk-${name}`,
        SSDK_METRICS_PORT: String(METRICS_PORT),
        // Every interface of the container: the dashboard scrapes it over the compose network
        // (the endpoint binds 127.0.0.1 by default; nothing publishes this port on the host).
        SSDK_METRICS_HOST: '0.0.0.0',
        SSDK_COMPONENT_CACHE: COMPONENTS.path,
        ...(isolation ? { SSDK_ISOLATION: isolation } : {}),
        ...TRUSTED_KEYS,
      },
      volumes: [`${COMPONENTS.volume}:${COMPONENTS.path}`],
      depends_on: { 'deploy-dataflow': { condition: 'service_completed_successfully' } },
      // An operator that exits 0 has seen the end of its inputs: it stays down, as with `ssdk up`.
      restart: 'on-failure',
      ...(replicas.has(op.id) ? { deploy: { replicas: replicas.get(op.id) } } : {}),
    };
  }
  // Inline connectors: a service each, observed as operators are (metrics, traces). Scaled, a
  // connector is N services, not `deploy.replicas` (whose containers are alike): each is told its
  // index (`--replica I/N`), which is how replicas divide partitions or join a shared subscription.
  const connectorServices: string[] = [];
  for (const c of connectors) {
    const count = scaled.get(`connector-${c.name}`) ?? 1;
    const listen = c.settings.type === 'http-source' && c.settings.mode === 'webhook' ? webhookAddress(c.settings.listen) : undefined;
    if (count > 1) {
      const why = listen ? 'a webhook publishes its port on the host, which one container holds; scale it behind a load balancer of your own' : scalingRefusal(c);
      if (why !== undefined) throw new UsageError(`--scale connector-${c.name}=${count}: connector \`${c.name}\` cannot run as several replicas: ${why}`, 'compose');
    }
    if (listen && listen.host !== '0.0.0.0' && listen.host !== '::') {
      io.err(`${toPosix(relative(io.cwd, servicesFile))}: connector \`${c.name}\` listens on ${listen.host}:${listen.port}, which in its container is the container alone: give it \`listen: 0.0.0.0:${listen.port}\` to take POSTs through the published port\n`);
    }
    for (let index = 0; index < count; index++) {
      const name = count === 1 ? connectorService(c) : `${connectorService(c)}-${index}`;
      connectorServices.push(name);
      services[name] = {
        ...ssdk,
        command: ['ssdk', 'connector', 'run', fileInContainer, '--connector', c.name, ...(partitions !== undefined ? ['--partitions', String(partitions)] : []), ...(count > 1 ? ['--replica', `${index}/${count}`] : [])],
        environment: {
          ...environment,
          // The operator role: a connector reads and writes user topics and makes its own
          // (dead letters, positions), which producer and consumer may not; nothing of the control plane.
          ...natsAs('operator'),
          OTEL_SERVICE_NAME: `ssdk-${name}`,
          SSDK_METRICS_PORT: String(METRICS_PORT),
          SSDK_METRICS_HOST: '0.0.0.0',
          // Its secrets by compose's substitution, from .env or the shell: never their values here.
          ...Object.fromEntries(c.secrets.map((secret) => [secret, `\${${secret}}`])),
        },
        ...(listen ? { ports: [publish(ports, listen.port)] } : {}),
        volumes: [dataflowVolume],
        depends_on: { 'deploy-dataflow': { condition: 'service_completed_successfully' } },
        restart: 'on-failure',
      };
    }
  }
  const scraped = [...plan.operators.map((op) => names.get(op.id)!), ...connectorServices];
  if (!cmd.values['fragment']) {
    services['dashboard'] = {
      ...ssdk,
      // Each operator service's name resolves to all its replicas; the dashboard scrapes every one.
      command: ['ssdk-dashboard', fileInContainer, '--scrape', scraped.map((name) => `http://${name}:${METRICS_PORT}/metrics`).join(',')],
      environment: { ...environment, ...natsAs('consumer'), OTEL_SERVICE_NAME: 'ssdk-dashboard', SSDK_DASHBOARD_PORT: String(DASHBOARD_PORT), SSDK_DASHBOARD_HOST: '0.0.0.0', JAEGER_URL: `http://127.0.0.1:${16686 + offset}` },
      ports: [publish(ports, DASHBOARD_PORT)],
      volumes: [dataflowVolume],
      depends_on: { 'deploy-dataflow': { condition: 'service_completed_successfully' } },
      restart: 'unless-stopped',
    };
  }
  const volumes = { ...(cmd.values['fragment'] ? {} : { 'nats-data': null, 'pg-data': null }), [COMPONENTS.volume]: null };
  const args = [
    ...(partitions !== undefined ? [` --partitions ${partitions}`] : []),
    ...((cmd.values['scale'] as string[] | undefined) ?? []).map((s) => ` --scale ${s}`),
    isolation ? ` --${isolation}` : '',
    image !== DEFAULT_IMAGE ? ` --image ${image}` : '',
    address !== '127.0.0.1' ? ` --publish-address ${address}` : '',
    offset !== 0 ? ` --port-offset ${offset}` : '',
    cmd.values['fragment'] ? ' --fragment' : '',
  ].join('');
  const text = header(toPosix(relative(composeDir, servicesFile)), args, project, ports) + toYaml({ services, volumes });
  const env = await writeEnvFile(resolve(composeDir, ENV_FILE), project);
  // The roles' permissions for this dataflow (the operator role may use its subjects only).
  if (!cmd.values['fragment']) await writeFile(resolve(composeDir, NATS_CONFIG_FILE), natsRolesConfig({ dataflows: [plan.dataflow] }));
  if (env.kept) io.err(`${ENV_FILE}: keeps its COMPOSE_PROJECT_NAME=${env.kept} (this dataflow's would be ${project})\n`);
  if (output) {
    await writeFile(output, text);
    io.err(`wrote ${cmd.values['output']}: ${plan.operators.length} operator services${connectors.length ? ` and ${connectors.length} connector${connectors.length === 1 ? '' : 's'}` : ''} of ${dataflow}, project ${env.kept ?? project}${env.wrote ? `; ${ENV_FILE} with new passwords and signing key (mode 0600)` : ''}${cmd.values['fragment'] ? '' : `; ${NATS_CONFIG_FILE}`}\n`);
  } else {
    io.out(text);
    if (env.wrote) io.err(`wrote ${relativeFrom(io.cwd, resolve(composeDir, ENV_FILE))}: project ${project}, new PostgreSQL and NATS passwords and plan-signing key (mode 0600); keep it beside the compose file, with ${NATS_CONFIG_FILE}\n`);
  }
  return EXIT_OK;
}

const SERVERS_HEALTHY = { nats: { condition: 'service_healthy' }, postgres: { condition: 'service_healthy' } };

/**
 * Health probes: frequent, so dependants start soon after the servers are up, and patient, so a
 * probe on a loaded machine finishes rather than being killed at its timeout (30 tries: a minute).
 */
const PROBE = { interval: '2s', timeout: '10s', retries: 30 };

/**
 * nats-server reads an empty `$SSDK_NATS_<ROLE>_PASSWORD` as an empty password, which a client
 * giving none matches: without `.env` (a fresh clone) it would let anyone in as any role. So the
 * server starts only when every role has a password (as PostgreSQL refuses an empty one).
 */
const NATS_START = [
  `for p in ${NATS_ROLES.map((role) => `"$$${natsRolePasswordEnv(role)}"`).join(' ')}; do`,
  `[ -n "$$p" ] || { echo 'no NATS role passwords: run ssdk compose, which writes them to ${ENV_FILE}' >&2; exit 1; }; done;`,
  `exec nats-server -c ${NATS_CONFIG_MOUNT} -js -sd /data -m 8222`,
].join(' ');

function servers(ports: Ports, natsConfig: string): Record<string, unknown> {
  return {
    nats: {
      image: 'nats:2.10-alpine',
      command: ['sh', '-c', NATS_START],
      // The passwords the configuration refers to, from .env (empty without it: then it does not start).
      environment: Object.fromEntries(NATS_ROLES.map((role) => [natsRolePasswordEnv(role), `\${${natsRolePasswordEnv(role)}:-}`])),
      // An init as PID 1 reaps what the probes leave behind (see postgres).
      init: true,
      ports: [publish(ports, 4222), publish(ports, 8222)],
      volumes: ['nats-data:/data', `${natsConfig}:${NATS_CONFIG_MOUNT}:ro`],
      healthcheck: { test: ['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8222/healthz?js-enabled-only=true'], ...PROBE },
    },
    postgres: {
      image: 'postgres:15-alpine',
      // Docker's init as PID 1, not the postmaster. A probe killed at its timeout leaves its child
      // (pg_isready) to PID 1; when that orphan then writes to the probe's closed pipe it dies of
      // SIGPIPE, and a postmaster reaping it takes it for a crashed backend: every connection is
      // cut and the server runs crash recovery (the stack's operators then back off and retry).
      init: true,
      // Substituted from the env file; empty without it, and PostgreSQL then refuses to start.
      environment: { POSTGRES_USER: 'postgres', POSTGRES_PASSWORD: PASSWORD_VARIABLE, POSTGRES_DB: 'ssdk' },
      ports: [publish(ports, 5432)],
      volumes: ['pg-data:/var/lib/postgresql/data'],
      // Quiet: a probe that writes nothing cannot die of a closed pipe.
      healthcheck: { test: ['CMD', 'pg_isready', '-q', '-U', 'postgres', '-d', 'ssdk'], ...PROBE },
    },
    jaeger: {
      image: 'jaegertracing/all-in-one:1.62.0',
      environment: { COLLECTOR_OTLP_ENABLED: 'true' },
      ports: [publish(ports, 16686), publish(ports, 4318)],
    },
  };
}

/**
 * The compose project of a dataflow: `ssdk-<namespace>-<name>` in the characters compose allows
 * (lowercase letters, digits, `-`, `_`), so two dataflows never share containers or volumes.
 */
export function projectName(namespace: string, name: string): string {
  return `ssdk-${namespace}-${name}`.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/-+/g, '-').replace(/-$/, '');
}

/**
 * `.env` beside the compose file: what it lacks of the project name, the PostgreSQL password,
 * the signing key pair and the NATS roles' passwords is added (the compose file builds DATABASE_URL from the password); nothing in it changes (a stack's volume keeps the
 * password it was made with). Mode 0600: it holds a secret. The password is printed nowhere.
 */
async function writeEnvFile(path: string, project: string): Promise<{ wrote: boolean; kept?: string }> {
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const has = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) has.set(m[1]!, m[2]!);
  }
  const password = has.get('POSTGRES_PASSWORD') ?? randomBytes(24).toString('hex');
  // The stack's signing key, made once; its public key is what the planner and operators trust.
  const seed = has.get('SSDK_SIGNING_KEY') || newSigningSeed();
  const wanted: Array<[string, string]> = [
    ['COMPOSE_PROJECT_NAME', project],
    ['POSTGRES_PASSWORD', password],
    ['SSDK_SIGNING_KEY', seed],
    ['SSDK_TRUSTED_KEYS', publicKeyOf(seed)],
    ...NATS_ROLES.map((role): [string, string] => [natsRolePasswordEnv(role), newNatsRolePassword()]),
  ];
  const missing = wanted.filter(([k]) => !has.has(k));
  const keptProject = has.get('COMPOSE_PROJECT_NAME');
  const kept = keptProject !== undefined && keptProject !== project ? keptProject : undefined;
  if (missing.length === 0) return kept !== undefined ? { wrote: false, kept } : { wrote: false };
  const intro = text === '' ? '# Written by `ssdk compose`: the compose project and its secrets. Keep it private (mode 0600).\n' : text.endsWith('\n') ? '' : '\n';
  await writeFile(path, text + intro + missing.map(([k, v]) => `${k}=${v}\n`).join(''), { mode: 0o600 });
  await chmod(path, 0o600);
  return kept !== undefined ? { wrote: true, kept } : { wrote: true };
}

function wholeNumber(cmd: ParsedCommand, option: string, min: number): number | undefined {
  const text = cmd.values[option];
  if (typeof text !== 'string') return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`--${option} takes a whole number of ${min} or more, got \`${text}\``, 'compose');
  return n;
}

/** A webhook's `HOST:PORT` (`[::]:PORT` too). */
function webhookAddress(listen: string | undefined): { host: string; port: number } | undefined {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(listen ?? '');
  return m ? { host: m[1]!, port: Number(m[2]) } : undefined;
}

/** Compose service names: the operator id with dots as dashes, made unique. */
export function serviceNames(ids: string[]): Map<string, string> {
  const taken = new Set(['nats', 'postgres', 'jaeger', 'planner', 'deploy-dataflow', 'dashboard']);
  const out = new Map<string, string>();
  for (const id of ids) {
    const base = id.toLowerCase().replace(/[^a-z0-9_-]+/g, '-');
    let name = base;
    for (let n = 2; taken.has(name); n++) name = `${base}-${n}`;
    taken.add(name);
    out.set(id, name);
  }
  return out;
}

function parseScale(specs: string[], names: Map<string, string>): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of specs) {
    const m = /^(.+)=(\d+)$/.exec(s);
    if (!m) throw new UsageError(`--scale takes OPERATOR=N, got \`${s}\``, 'compose');
    const id = names.has(m[1]!) ? m[1]! : [...names].find(([, n]) => n === m[1])?.[0];
    if (!id) throw new UsageError(`--scale: no operator or connector \`${m[1]}\`; they are ${[...names.keys()].join(', ')}`, 'compose');
    const n = Number(m[2]);
    if (n < 1) throw new UsageError(`--scale ${s}: at least 1 replica`, 'compose');
    out.set(id, n);
  }
  return out;
}

/** A bind-mount source as compose wants it: relative to the compose file's folder, starting `./` or `../`. */
function relativeFrom(from: string, to: string): string {
  const rel = toPosix(relative(from, to));
  if (isAbsolute(rel)) return rel;
  return rel === '' ? '.' : rel.startsWith('..') ? rel : `./${rel}`;
}

function toPosix(p: string): string {
  return p.split(sep).join('/');
}

/**
 * A string stays plain only when every YAML reader takes it for that string: a name or path
 * (`ssdk`, `/data`, `count-words-split-sentence`) that is no YAML 1.1 boolean or null (`on`,
 * `no`, `y`). Everything else — numbers, `5s`, `4222:4222` (base 60 in YAML 1.1), `-js`, a URL
 * with `?` or `,` inside a `[...]` list — is double-quoted.
 */
export function plainIsSafe(s: string): boolean {
  return /^[A-Za-z_/][A-Za-z0-9_./-]*$/.test(s) && !/^(y|n|yes|no|on|off|true|false|null)$/i.test(s);
}

/** Block style, with lists of plain values (commands, ports) on one line, and no anchors. */
export function toYaml(value: unknown): string {
  const doc = new Document(value, { aliasDuplicateObjects: false });
  visit(doc, {
    Seq(_key, node) {
      if (isSeq(node) && node.items.every((item) => isScalar(item))) node.flow = true;
    },
    Scalar(_key, node) {
      if (typeof node.value === 'string' && !plainIsSafe(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  return doc.toString({ lineWidth: 0, nullStr: '' });
}

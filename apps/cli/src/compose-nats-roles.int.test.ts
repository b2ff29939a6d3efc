/**
 * The NATS of a stack `ssdk compose` writes, on a real nats-server (no Docker: the server the
 * container would run, with the configuration compose wrote beside the compose file and the
 * environment `docker-compose config` hands the nats container from `.env`). Anonymous clients are
 * refused; every service's credential, as docker-compose resolves it, is its own role's; the
 * producer's, the consumer's (the dashboard), and the operators' cannot deploy or undeploy (the
 * server drops the request before the planner sees it); the deploy job's can. The whole stack on
 * Docker with these credentials is `compose.acceptance.test.ts`.
 */
import { execFile, spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BusAuthError, connectControl } from '@ssdk/bus';
import { NATS_ROLES, natsRolePasswordEnv, natsRolesConfig, plannerSubject } from '@ssdk/control-plane';
import { PrivateNatsServer } from '@ssdk/testing';
import { bufferIo } from './io.ts';
import { main } from './main.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const run = promisify(execFile);

interface Service {
  command?: string[];
  environment?: Record<string, string>;
}

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** word-count as a user's dataflow `acme/<name>` in a folder of its own, composed there. */
async function composed(name: string): Promise<{ dir: string; services: Record<string, Service>; text: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'ssdk-compose-roles-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await cp(join(ROOT, 'examples/word-count'), join(dir, 'flow'), { recursive: true, filter: (src) => !src.includes('/expected') });
  const file = join(dir, 'flow/services.yaml');
  await writeFile(file, (await readFile(file, 'utf8')).replace('name: word-count', `name: ${name}`).replace('namespace: examples', 'namespace: acme'));
  const io = bufferIo(dir);
  expect(await main(['compose', 'flow/services.yaml', '-o', 'docker-compose.yml'], io), io.stderr()).toBe(0);
  // What docker-compose hands each container, `.env` substituted.
  const { stdout } = await run('docker-compose', ['-f', 'docker-compose.yml', 'config'], { cwd: dir, env: { ...process.env, COMPOSE_PROJECT_NAME: '' } });
  return { dir, services: (parse(stdout) as { services: Record<string, Service> }).services, text: await readFile(join(dir, 'docker-compose.yml'), 'utf8') };
}

describe('ssdk compose - the stack\'s NATS roles', () => {
  it('compose - on a real nats-server with the written configuration: anonymous refused; producer, consumer (dashboard) and operator credentials cannot deploy or undeploy; the deploy job\'s can', async () => {
    const { dir, services } = await composed('roles');
    const config = await readFile(join(dir, 'nats-server.conf'), 'utf8');
    // The roles' permissions from the one place that defines them, the operator's for this dataflow only.
    expect(config).toBe(natsRolesConfig({ dataflows: [{ namespace: 'acme', name: 'roles' }] }));
    const env = Object.fromEntries((await readFile(join(dir, '.env'), 'utf8')).split('\n').filter((l) => /^\w+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    // The nats container gets every role's password from .env, so the configuration resolves them.
    const natsEnv = services['nats']!.environment!;
    for (const role of NATS_ROLES) expect(natsEnv[natsRolePasswordEnv(role)], role).toMatch(/^p[0-9a-f]{48}$/);
    expect(new Set(NATS_ROLES.map((role) => natsEnv[natsRolePasswordEnv(role)])).size).toBe(NATS_ROLES.length);

    const server = new PrivateNatsServer('ssdk-compose-roles', { config, env: natsEnv });
    cleanups.push(() => server.dispose());
    await server.start();
    const as = (service: string) => {
      const e = services[service]!.environment!;
      return { servers: server.url, user: e['NATS_USER'], password: e['NATS_PASSWORD'], env: {}, connectTimeoutMs: 5_000 };
    };

    await expect(connectControl({ servers: server.url, connectTimeoutMs: 5_000 }), 'anonymous').rejects.toBeInstanceOf(BusAuthError);
    // A role's name with another role's password (the one the operators hold) is no way in.
    await expect(connectControl({ ...as('dashboard'), user: 'deployer' })).rejects.toBeInstanceOf(BusAuthError);

    const asked: string[] = [];
    const planner = await connectControl(as('planner'));
    cleanups.push(() => planner.close());
    planner.serve('ssdk.planner.>', async (_body, subject) => {
      asked.push(subject);
      return 'done';
    });
    const deployer = await connectControl(as('deploy-dataflow'));
    expect(await deployer.request(plannerSubject('ssdk', 'deploy'), {})).toBe('done');
    expect(await deployer.request(plannerSubject('ssdk', 'undeploy'), {})).toBe('done');
    await deployer.close();
    expect(asked).toEqual([plannerSubject('ssdk', 'deploy'), plannerSubject('ssdk', 'undeploy')]);

    const operators = Object.keys(services).filter((name) => services[name]!.command?.[1] === 'operator');
    expect(operators).toHaveLength(5);
    const producer = { servers: server.url, user: 'producer', password: env[natsRolePasswordEnv('producer')], env: {}, connectTimeoutMs: 5_000 };
    for (const [who, credential] of [['producer (from .env)', producer], ['dashboard', as('dashboard')], ...operators.map((name) => [name, as(name)] as const)] as const) {
      const client = await connectControl(credential);
      try {
        for (const verb of ['deploy', 'undeploy'] as const) {
          const refused = client.request(plannerSubject('ssdk', verb), {}, { timeoutMs: 2_000 });
          await expect(refused, `${who} ${verb}`).rejects.toBeInstanceOf(BusAuthError);
        }
      } finally {
        await client.close();
      }
    }
    expect(asked).toHaveLength(2);
  });

  it('compose - each service holds its own role\'s password only; the nats container will not start without every role\'s password (a fresh clone: no .env)', async () => {
    const { services, text } = await composed('fresh');
    const roleOf: Record<string, string> = { planner: 'planner', 'deploy-dataflow': 'deployer', dashboard: 'consumer' };
    for (const [name, svc] of Object.entries(parse(text).services as Record<string, Service>)) {
      if (name === 'nats' || name === 'postgres' || name === 'jaeger') continue;
      const role = roleOf[name] ?? (svc.command?.[1] === 'operator' ? 'operator' : undefined);
      expect(role, name).toBeDefined();
      expect(svc.environment!['NATS_USER'], name).toBe(role);
      expect(svc.environment!['NATS_PASSWORD'], name).toBe(`\${${natsRolePasswordEnv(role as 'operator')}:-}`);
      // No other role's password reaches it, by any variable.
      const others = NATS_ROLES.filter((r) => r !== role).map(natsRolePasswordEnv);
      expect(JSON.stringify(svc.environment), name).not.toMatch(new RegExp(others.join('|')));
    }
    // The nats service's command as its container's shell runs it (compose turns `$$` into `$`).
    const command = services['nats']!.command!;
    expect(command.slice(0, 2)).toEqual(['sh', '-c']);
    const script = command[2]!.replace(/\$\$/g, '$');
    const passwords = Object.fromEntries(NATS_ROLES.map((role) => [natsRolePasswordEnv(role), `pw-${role}`]));
    const start = (env: Record<string, string>) =>
      new Promise<{ code: number | null; err: string }>((resolve) => {
        const child = spawn('sh', ['-c', script], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        child.stderr.on('data', (b: Buffer) => (err += b.toString()));
        child.on('exit', (code) => resolve({ code, err }));
      });
    const none = await start({});
    expect(none.code).toBe(1);
    expect(none.err).toContain('no NATS role passwords: run ssdk compose');
    const oneEmpty = await start({ ...passwords, [natsRolePasswordEnv('operator')]: '' });
    expect(oneEmpty.code).toBe(1);
    // With every password the check passes and nats-server is started (here it finds no configuration at the container's path).
    const all = await start(passwords);
    expect(all.err).not.toContain('no NATS role passwords');
    expect(all.err).toContain('/etc/nats/ssdk-roles.conf');
  });
});

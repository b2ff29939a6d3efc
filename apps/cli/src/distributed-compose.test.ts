/**
 * The committed docker-compose.yml is what `ssdk compose examples/word-count/services.yaml`
 * writes, and its structure is a runnable stack (no Docker engine here to run it): the servers,
 * the planner, a deploy job, and one operator service per unit of the plan, each naming a unit
 * that exists.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadPlan } from '@ssdk/runtime';
import { bufferIo } from './io.ts';
import { main } from './main.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const FILE = 'examples/word-count/services.yaml';

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  restart?: string;
  ports?: string[];
  deploy?: { replicas: number };
  volumes?: string[];
}

async function compose(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = bufferIo(ROOT);
  const code = await main(['compose', FILE, ...args], io);
  return { code, out: io.stdout(), err: io.stderr() };
}

const optionAfter = (command: string[], flag: string) => command[command.indexOf(flag) + 1];

describe('ssdk compose', () => {
  it('compose - the committed docker-compose.yml is what `ssdk compose` generates for word-count', async () => {
    const { code, out } = await compose([]);
    expect(code).toBe(0);
    expect(out).toBe(await readFile(`${ROOT}/docker-compose.yml`, 'utf8'));
  });

  it('compose - servers, planner, deploy job and one operator service per unit of the plan', async () => {
    const doc = parse(await readFile(`${ROOT}/docker-compose.yml`, 'utf8')) as { services: Record<string, Service>; volumes: Record<string, unknown> };
    const { plan } = await loadPlan(`${ROOT}/${FILE}`);
    const s = doc.services;
    expect(s['nats']!.command).toContain('-js');
    expect(s['postgres']!.image).toMatch(/^postgres:/);
    expect(s['jaeger']!.ports).toContain('4318:4318');
    expect(s['planner']!.command).toEqual(['node', 'bin/ssdk.js', 'planner']);
    expect(s['deploy-dataflow']!.command).toEqual(['node', 'bin/ssdk.js', 'deploy', FILE]);
    const operators = Object.entries(s).filter(([, svc]) => svc.command?.[2] === 'operator');
    // Each operator service runs a unit that exists in the plan, of this dataflow; every unit has one.
    expect(operators.map(([, svc]) => optionAfter(svc.command!, '--operator')).sort()).toEqual(plan.operators.map((op) => op.id).sort());
    for (const [name, svc] of operators) {
      expect(optionAfter(svc.command!, '--dataflow'), name).toBe(`${plan.dataflow.namespace}/${plan.dataflow.name}`);
      expect(svc.environment, name).toMatchObject({ NATS_URL: 'nats://nats:4222', DATABASE_URL: expect.stringMatching(/@postgres:5432\//), OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318' });
      expect(svc.depends_on, name).toEqual({ 'deploy-dataflow': { condition: 'service_completed_successfully' } });
      // Scalable: nothing a second replica would collide on.
      expect(svc.ports, name).toBeUndefined();
      expect(svc.restart, name).toBe('on-failure');
      // One component build per stack: every operator container sees the same cache.
      expect(svc.volumes, name).toEqual([`components:${svc.environment!['SSDK_COMPONENT_CACHE']}`]);
    }
    // Every service an ssdk service depends on exists, and every named volume is declared.
    for (const [name, svc] of Object.entries(s)) {
      for (const dep of Object.keys(svc.depends_on ?? {})) expect(s[dep], `${name} depends on ${dep}`).toBeDefined();
    }
    for (const [name, svc] of Object.entries(s)) {
      for (const v of svc.volumes ?? []) expect(Object.keys(doc.volumes), `${name} mounts ${v}`).toContain(v.split(':')[0]);
    }
    expect(Object.keys(doc.volumes).sort()).toEqual(['components', 'nats-data', 'pg-data']);
  });

  it('compose - --scale sets replicas (by unit id or service name); --fragment leaves out the servers', async () => {
    const { code, out } = await compose(['--scale', 'count-words.add-to-total=3', '--scale', 'top-words-count-in-window=2', '--fragment']);
    expect(code).toBe(0);
    const s = (parse(out) as { services: Record<string, Service> }).services;
    expect(s['count-words-add-to-total']!.deploy).toEqual({ replicas: 3 });
    expect(s['top-words-count-in-window']!.deploy).toEqual({ replicas: 2 });
    expect(s['count-words-split-sentence']!.deploy).toBeUndefined();
    expect(Object.keys(s)).not.toContain('nats');
    expect(Object.keys(s)).toContain('deploy-dataflow');
  });

  it('compose - --native sets SSDK_ISOLATION on every operator service (none without it: as the plan says)', async () => {
    const native = (parse((await compose(['--native', '--fragment'])).out) as { services: Record<string, Service> }).services;
    const plain = (parse((await compose(['--fragment'])).out) as { services: Record<string, Service> }).services;
    const operators = Object.keys(native).filter((n) => native[n]!.command?.[2] === 'operator');
    expect(operators.length).toBeGreaterThan(0);
    for (const n of operators) {
      expect(native[n]!.environment!['SSDK_ISOLATION'], n).toBe('native');
      expect(plain[n]!.environment!['SSDK_ISOLATION'], n).toBeUndefined();
    }
    expect((await compose(['--native', '--sandbox'])).code).toBe(2);
  });

  it('compose - an unknown operator in --scale is the user\'s mistake (exit 2), naming the operators', async () => {
    const { code, err } = await compose(['--scale', 'count-words.nope=2']);
    expect(code).toBe(2);
    expect(err).toContain('no operator `count-words.nope`');
    expect(err).toContain('count-words.add-to-total');
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { natsRolePermissions, natsRolesConfig, newNatsRolePassword } from './nats-roles.ts';

const EXAMPLE = new URL('../../../nats-server.conf', import.meta.url);

describe('runtime - NATS roles config', () => {
  it('runtime - the example server config (nats-server.conf, beside docker-compose.yml) is the generated one for word-count', () => {
    expect(readFileSync(EXAMPLE, 'utf8')).toBe(natsRolesConfig({ subjectPrefix: 'ssdk', dataflows: [{ namespace: 'examples', name: 'word-count' }] }));
  });

  it('runtime - no role but the planner and the deployer reaches deploy, undeploy or stream deletion', () => {
    const p = natsRolePermissions({ subjectPrefix: 'acme' });
    for (const role of ['operator', 'producer', 'consumer'] as const) {
      expect(p[role].publish.allow).not.toContain('acme.planner.>');
      expect(p[role].publish.deny).toEqual(expect.arrayContaining(['acme.planner.deploy', 'acme.planner.undeploy', '$JS.API.STREAM.DELETE.>', '$O.>']));
    }
    expect(p.producer.publish.allow).toContain('acme.topic.>');
    expect(p.consumer.publish.allow).not.toContain('acme.topic.>');
  });

  it('runtime - a new role password is a string to nats-server: a letter, then 48 hex digits, never two alike', () => {
    const made = Array.from({ length: 200 }, () => newNatsRolePassword());
    for (const p of made) expect(p).toMatch(/^p[0-9a-f]{48}$/);
    expect(new Set(made).size).toBe(made.length);
  });
});

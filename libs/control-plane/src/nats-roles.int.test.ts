// The roles' NATS permissions on a real nats-server started with the generated configuration:
// anonymous clients are refused, a producer or an operator cannot reach the planner's deploy or
// undeploy (the server drops the request before any planner sees it), a producer cannot delete
// a stream, and each role can still do its own work.
import { BusAuthError, connectControl, createNatsBus, type ControlConnection } from '@ssdk/bus';
import { PrivateNatsServer } from '@ssdk/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plannerSubject } from './protocol.ts';
import { NATS_ROLES, natsRolePasswordEnv, natsRolesConfig, type NatsRole } from './nats-roles.ts';

const prefix = 'ssdk_roles';
const passwords = Object.fromEntries(NATS_ROLES.map((role) => [role, `pw-${role}-${process.pid}`])) as Record<NatsRole, string>;
// The shape `ssdk compose` writes (`newNatsRolePassword`), with hex that alone would stop
// nats-server (`606e3e…` parses as a broken number): the leading letter keeps it a string.
passwords.operator = 'p606e3e198e8860a30516d2abf678b8f867a8e6b21603a38d';
const server = new PrivateNatsServer('ssdk-nats-roles', {
  config: natsRolesConfig({ subjectPrefix: prefix, dataflows: [{ namespace: 'acme', name: 'flow' }] }),
  env: Object.fromEntries(NATS_ROLES.map((role) => [natsRolePasswordEnv(role), passwords[role]])),
});
const as = (role: NatsRole) => ({ servers: server.url, user: role, password: passwords[role], env: {} });

describe('runtime - NATS roles', () => {
  const asked: string[] = [];
  let planner: ControlConnection;

  beforeAll(async () => {
    await server.start();
    planner = await connectControl(as('planner'));
    planner.serve(`${prefix}.planner.>`, async (_body, subject) => {
      asked.push(subject);
      return 'done';
    });
  });

  afterAll(async () => {
    await planner?.close();
    await server.dispose();
  });

  it('runtime - anonymous clients and wrong passwords are refused', async () => {
    await expect(connectControl({ servers: server.url, connectTimeoutMs: 3_000 })).rejects.toBeInstanceOf(BusAuthError);
    await expect(createNatsBus({ servers: server.url, user: 'operator', password: 'guess', env: {} })).rejects.toBeInstanceOf(BusAuthError);
  });

  it('runtime - only the deployer deploys and undeploys: a producer or an operator is stopped by the server', async () => {
    const deployer = await connectControl(as('deployer'));
    expect(await deployer.request(plannerSubject(prefix, 'deploy'), {})).toBe('done');
    expect(await deployer.request(plannerSubject(prefix, 'undeploy'), {})).toBe('done');
    await deployer.close();
    expect(asked).toEqual([plannerSubject(prefix, 'deploy'), plannerSubject(prefix, 'undeploy')]);

    for (const role of ['producer', 'operator', 'consumer'] as const) {
      const client = await connectControl(as(role));
      try {
        for (const verb of ['deploy', 'undeploy'] as const) {
          const refused = client.request(plannerSubject(prefix, verb), {}, { timeoutMs: 1_500 });
          await expect(refused, `${role} ${verb}`).rejects.toBeInstanceOf(BusAuthError);
          await expect(refused).rejects.toThrow(`does not let these credentials publish to ${plannerSubject(prefix, verb)}`);
        }
      } finally {
        await client.close();
      }
    }
    expect(asked).toHaveLength(2);
  });

  it('runtime - a producer writes user topics of existing streams, and cannot delete them', async () => {
    const admin = await createNatsBus({ ...as('deployer'), subjectPrefix: prefix });
    const producer = await createNatsBus({ ...as('producer'), subjectPrefix: prefix, retryTimeoutMs: 1_000 });
    const consumer = await createNatsBus({ ...as('consumer'), subjectPrefix: prefix, retryTimeoutMs: 1_000 });
    try {
      await admin.ensureTopic({ name: 'events', partitions: 1 });
      await producer.ensureTopic({ name: 'events', partitions: 1 });
      await producer.publish('events', 0, [{ data: new TextEncoder().encode('x'), msgId: 'p1' }]);
      await consumer.ensureTopic({ name: 'events', partitions: 1 });
      const reader = consumer.read('events', 0);
      expect((await reader.fetch(1, 5_000)).map((m) => new TextDecoder().decode(m.data))).toEqual(['x']);
      await reader.close();
      await expect(producer.deleteTopic('events')).rejects.toThrow(/permission|timeout|unavailable/i);
      await expect(consumer.publish('events', 0, [{ data: new TextEncoder().encode('y'), msgId: 'c1' }])).rejects.toThrow();
      // A stream the producer may not create (no planner made it).
      await expect(producer.ensureTopic({ name: 'other', partitions: 1 })).rejects.toThrow();
    } finally {
      await producer.close();
      await consumer.close();
      await admin.destroy();
    }
  });
});

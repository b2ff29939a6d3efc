/**
 * Least privilege on the bus: the NATS permissions of each role of a stack, written as a
 * nats-server configuration (`authorization { users: [...] }`). The subjects are the ones the
 * planner, the operators and the CLI really use (`plannerSubject`, `heartbeatSubject`, the
 * plan's topic subjects), so the rules live where the subjects do.
 *
 * - `planner`: serves `<prefix>.planner.*`, creates and deletes streams (deploy, undeploy).
 * - `deployer`: asks the planner (deploy, undeploy, status, list) and writes the object store;
 *   the administrator of the stack.
 * - `operator`: reads and writes user topics and its dataflows' own subjects, reads streams,
 *   publishes heartbeats and lifecycle events; may not deploy, undeploy, delete or purge streams, or write objects.
 * - `producer` / `consumer`: user topics only (`<prefix>.topic.>`), reading through consumers
 *   of existing streams; nothing of the control plane.
 *
 * Passwords are environment references (`$SSDK_NATS_<ROLE>_PASSWORD`), resolved by nats-server
 * when it starts, so the file itself holds no secret. Anyone not listed is refused.
 */
import { DEFAULT_SUBJECT_PREFIX } from '@ssdk/settings';
import { randomBytes } from 'node:crypto';
import { subjectToken } from '@ssdk/plan';
import { heartbeatSubject, lifecycleSubject, plannerSubject } from './protocol.ts';

export type NatsRole = 'planner' | 'deployer' | 'operator' | 'producer' | 'consumer';
export const NATS_ROLES: readonly NatsRole[] = ['planner', 'deployer', 'operator', 'producer', 'consumer'];

export interface NatsRolesOptions {
  /** @default 'ssdk' */
  subjectPrefix?: string;
  /** Dataflows the operator role may run (`{namespace, name}`); none: any dataflow of the prefix. */
  dataflows?: { namespace: string; name: string }[];
}

/** The environment variable holding a role's password, as the configuration refers to it. */
export function natsRolePasswordEnv(role: NatsRole): string {
  return `SSDK_NATS_${role.toUpperCase()}_PASSWORD`;
}

/**
 * A new random password for a role, as `$SSDK_NATS_<ROLE>_PASSWORD` can hold it. nats-server
 * parses a variable's value as a configuration value, so a hex string such as `606e3e19…` (a
 * number with an exponent, then garbage) stops the server ("could not be parsed") and an
 * all-digit one would be a number: a leading letter keeps every value a string.
 */
export function newNatsRolePassword(): string {
  return `p${randomBytes(24).toString('hex')}`;
}

interface Permissions {
  publish: { allow: string[]; deny?: string[] };
  subscribe: { allow: string[]; deny?: string[] };
}

/** What each role may publish and subscribe to. */
export function natsRolePermissions(options: NatsRolesOptions = {}): Record<NatsRole, Permissions> {
  const p = options.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX;
  const topics = `${p}.topic.>`;
  const inbox = '_INBOX.>';
  const own = options.dataflows?.length ? options.dataflows.map((d) => `${p}.${subjectToken(d.namespace)}.${subjectToken(d.name)}.>`) : [`${p}.*.*.>`];
  // Reading a stream: look it up, make a consumer, fetch, ack, and answer a push consumer's flow
  // control (`$JS.FC`: an ordered consumer reading an object, a plan's artifact, waits for it). No stream is changed.
  const readStreams = [
    '$JS.API.INFO',
    '$JS.API.STREAM.INFO.*',
    '$JS.API.STREAM.NAMES',
    '$JS.API.STREAM.LIST',
    '$JS.API.STREAM.MSG.GET.*',
    '$JS.API.DIRECT.GET.>',
    '$JS.API.CONSUMER.>',
    '$JS.ACK.>',
    '$JS.FC.>',
  ];
  const control = [plannerSubject(p, 'deploy'), plannerSubject(p, 'undeploy')];
  const changeStreams = ['$JS.API.STREAM.DELETE.>', '$JS.API.STREAM.PURGE.>', '$JS.API.STREAM.UPDATE.>', '$JS.API.STREAM.MSG.DELETE.>'];
  return {
    planner: {
      publish: { allow: [inbox, '$JS.API.>', `${p}.>`] },
      subscribe: { allow: [inbox, `${p}.planner.>`, heartbeatSubject(p), lifecycleSubject(p)] },
    },
    deployer: {
      publish: { allow: [inbox, `${p}.planner.>`, '$JS.API.>', '$O.>', topics] },
      subscribe: { allow: [inbox, `${p}.>`] },
    },
    operator: {
      // Creating a missing stream of its plan (a log topic) is allowed; changing one is not.
      publish: { allow: [inbox, topics, ...own, heartbeatSubject(p), lifecycleSubject(p), ...readStreams, '$JS.API.STREAM.CREATE.*'], deny: [...control, ...changeStreams, '$O.>'] },
      subscribe: { allow: [inbox] },
    },
    producer: {
      publish: { allow: [inbox, topics, ...readStreams], deny: [...control, ...changeStreams, '$O.>'] },
      subscribe: { allow: [inbox] },
    },
    consumer: {
      publish: { allow: [inbox, ...readStreams], deny: [...control, ...changeStreams, '$O.>'] },
      subscribe: { allow: [inbox] },
    },
  };
}

/** The nats-server configuration: one user per role, passwords from the environment. */
export function natsRolesConfig(options: NatsRolesOptions = {}): string {
  const permissions = natsRolePermissions(options);
  const list = (subjects: string[]) => `[${subjects.map((s) => JSON.stringify(s)).join(', ')}]`;
  const rule = (r: { allow: string[]; deny?: string[] }) => `{ allow: ${list(r.allow)}${r.deny ? `, deny: ${list(r.deny)}` : ''} }`;
  const users = NATS_ROLES.map((role) =>
    [
      `    {`,
      `      user: ${role}, password: $${natsRolePasswordEnv(role)}`,
      `      permissions: {`,
      `        publish: ${rule(permissions[role].publish)}`,
      `        subscribe: ${rule(permissions[role].subscribe)}`,
      `      }`,
      `    }`,
    ].join('\n'),
  );
  return [
    `# NATS permissions per role of an ssdk stack (subject prefix \`${options.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX}\`), generated by ssdk.`,
    '# Passwords come from the environment nats-server starts with (SSDK_NATS_<ROLE>_PASSWORD);',
    '# a client that is none of these users is refused. See docs/security.md.',
    'authorization {',
    '  users: [',
    users.join('\n'),
    '  ]',
    '}',
    '',
  ].join('\n');
}

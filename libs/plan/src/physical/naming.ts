/** Names the plan derives: NATS subjects and PostgreSQL table names. */
import { sha256Hex } from '../hash.ts';

/**
 * A NATS subject token: letters, digits, `_` and `-` (no `.`, spaces or wildcards). A name that
 * had to change gets a hash of the exact name, so two names never share subjects (`pipe.a` →
 * `pipe_a_3f1c9a2e`, `pipe_a` → `pipe_a`), as stream names do in the bus.
 */
export function subjectToken(s: string): string {
  if (s === '') return '_'; // no namespace
  const clean = s.replace(/[^A-Za-z0-9_-]/g, '_');
  return clean === s ? s : `${clean}_${sha256Hex(s).slice(0, 8)}`;
}

/** `<prefix>.topic.<name>.{partition}`: user topics, shared by every dataflow that names them. */
export function userTopicSubject(prefix: string, name: string): string {
  return `${prefix}.topic.${subjectToken(name)}.{partition}`;
}

/** `<prefix>.<namespace>.<dataflow>.<kind>.<service>[.<local>].{partition}`: topics a dataflow owns. */
export function serviceTopicSubject(
  prefix: string,
  dataflow: { namespace: string; name: string },
  kind: 'internal' | 'dead-letter' | 'late-events' | 'schedule',
  service: string,
  local?: string,
): string {
  const tokens = [prefix, subjectToken(dataflow.namespace), subjectToken(dataflow.name), kind, subjectToken(service)];
  if (local !== undefined) tokens.push(subjectToken(local));
  return `${tokens.join('.')}.{partition}`;
}

const MAX_IDENTIFIER = 63; // PostgreSQL's NAMEDATALEN - 1

/**
 * Hands out table names `<service>_<state>`: lowercase `[a-z0-9_]`, starting with a letter or
 * `_`, at most 63 characters (a long name keeps a hash of the full one), unique in call order
 * (`_2`, `_3`, … on a clash) — so the same file always yields the same names.
 */
export function tableNamer(): (service: string, state: string) => string {
  const taken = new Set<string>();
  return (service, state) => {
    let base = `${service}_${state}`
      .toLowerCase()
      .replace(/[^a-z0-9_]+/g, '_')
      .replace(/_+/g, '_')
      .replace(/^_+|_+$/g, '');
    if (!/^[a-z_]/.test(base)) base = `s_${base}`;
    if (base.length > MAX_IDENTIFIER) base = `${base.slice(0, MAX_IDENTIFIER - 9)}_${sha256Hex(`${service}.${state}`).slice(0, 8)}`;
    let name = base;
    for (let n = 2; taken.has(name); n++) {
      const suffix = `_${n}`;
      name = `${base.slice(0, MAX_IDENTIFIER - suffix.length)}${suffix}`;
    }
    taken.add(name);
    return name;
  };
}

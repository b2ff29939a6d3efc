/**
 * What a redeploy does to the records between units. A unit's committed offsets are positions in
 * the topics it reads, kept under the unit's id and the topic's id: they carry over to the new
 * version only where the same unit still reads the same stream. Where they do not — an internal
 * topic the new plan no longer has (a step added or removed, an upgrade that lays units out
 * otherwise), or one now read by another unit — the records between the units would be lost (no
 * one reads the topic any more) or read again (the new reader has no position in it and starts at
 * its first record). The planner counts them (planner.ts) and refuses such a redeploy unless
 * there are none. Pure: plain data in, plain data out.
 */
import type { PhysicalPlan, PlanTopic } from '@ssdk/plan';

export interface Handover {
  /** An internal topic of the deployed plan. */
  topic: PlanTopic;
  /** A unit of the deployed plan that reads it, whose position in it the new plan does not keep. */
  reader: string;
  /** The units of the new plan that read the same stream instead (none: the topic is gone). */
  newReaders: string[];
}

/** The reads of internal topics whose committed positions do not carry over from `deployed` to `next`. */
export function readsThatDoNotCarryOver(deployed: PhysicalPlan, next: PhysicalPlan): Handover[] {
  const out: Handover[] = [];
  for (const topic of deployed.topics) {
    if (topic.kind !== 'internal') continue;
    const kept = next.topics.some((t) => t.id === topic.id && t.name === topic.name);
    const readers = readersOf(deployed, topic.id);
    const readersNow = kept ? readersOf(next, topic.id) : [];
    const newReaders = readersNow.filter((r) => !readers.includes(r));
    for (const reader of readers) if (!readersNow.includes(reader)) out.push({ topic, reader, newReaders });
  }
  return out;
}

/**
 * The units that write the topic, the units that write theirs, and so on: until they have
 * stopped for the new version, what they have not read yet may still reach the topic.
 */
export function unitsUpstreamOf(plan: PhysicalPlan, topicId: string): string[] {
  const found: string[] = [];
  const wanted = [topicId];
  const seenTopics = new Set<string>();
  while (wanted.length > 0) {
    const t = wanted.pop()!;
    if (seenTopics.has(t)) continue;
    seenTopics.add(t);
    for (const op of plan.operators) {
      const writes = op.outputs.includes(t) || (op.branches ?? []).some((b) => b.outputs.includes(t));
      if (!writes || found.includes(op.id)) continue;
      found.push(op.id);
      wanted.push(...op.inputs.map((i) => i.topic));
    }
  }
  return found;
}

function readersOf(plan: PhysicalPlan, topicId: string): string[] {
  return plan.operators.filter((op) => op.inputs.some((i) => i.topic === topicId)).map((op) => op.id);
}

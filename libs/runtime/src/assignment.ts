/**
 * Which input partitions a replica of an operator unit should own (pure: no I/O). Every replica
 * computes the same answer from the same sorted member list, so they agree without talking;
 * leases (fenced, in PostgreSQL) settle the moments when they momentarily disagree.
 *
 * - `divided`: partition p goes to member p mod n: replicas share the work, and when one joins
 *   or dies every replica's share moves at once by the same rule.
 * - `singleton`: one replica runs every partition and the others stand by (Flink's `windowAll`
 *   has parallelism 1 for the same reason): a unit whose window flush aggregates over every key
 *   must see all partitions' state when it closes a window. The replica holding partition 0's
 *   lease is the active one; whoever gets it first keeps it, so a joining replica causes no churn.
 */

export type AssignmentMode = 'divided' | 'singleton';

/** The partitions `self` should own in `divided` mode; empty when `self` is not (yet) a live member. */
export function dividedShare(members: readonly string[], partitions: number, self: string): number[] {
  const sorted = [...new Set(members)].sort();
  const at = sorted.indexOf(self);
  if (at < 0) return [];
  const share: number[] = [];
  for (let p = 0; p < partitions; p++) if (p % sorted.length === at) share.push(p);
  return share;
}

export interface RebalancePlan {
  /** Owned partitions to give up (drain, commit, release). */
  release: number[];
  /** Partitions to try to lease (a holder that has not released yet refuses, and we retry). */
  acquire: number[];
}

/** The moves from what a replica owns to what it should own. */
export function rebalance(owned: Iterable<number>, target: readonly number[]): RebalancePlan {
  const have = new Set(owned);
  const want = new Set(target);
  return {
    release: [...have].filter((p) => !want.has(p)).sort((a, b) => a - b),
    acquire: [...want].filter((p) => !have.has(p)).sort((a, b) => a - b),
  };
}

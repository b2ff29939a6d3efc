/** "Did you mean" suggestions and name lists for messages. */
import { editDistance, kebabCase } from '@ssdk/spec';

/**
 * The candidate closest to `name` (compared in kebab-case, so `CarEvnt` finds `car-event`), if it
 * is close enough to be a plausible typo: at most a third of the name's length, and at least 1.
 */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  const wanted = kebabCase(name);
  const limit = Math.max(1, Math.floor(wanted.length / 3));
  let best: { name: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(wanted, kebabCase(candidate));
    if (distance <= limit && (!best || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}

/** `` `a`, `b`, `c` `` — names in backticks for messages. */
export function quoteList(names: readonly string[]): string {
  return names.map((n) => `\`${n}\``).join(', ');
}

/**
 * A hint for a name that was not found: "did you mean …?" when one is close, else the list of
 * what exists (or `none` when nothing does).
 */
export function suggestionHint(name: string, candidates: readonly string[], what: string, none: string): string {
  const near = closest(name, candidates);
  if (near !== undefined) return `did you mean \`${near}\`?`;
  if (candidates.length === 0) return none;
  return `the declared ${what} are ${quoteList(candidates)}`;
}

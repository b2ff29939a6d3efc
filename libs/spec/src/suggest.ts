/**
 * "Did you mean" suggestions for misspelt keys, operators and enum values.
 */

/**
 * Optimal string alignment distance: Levenshtein plus adjacent transpositions (`sourcse` →
 * `sources` is 1). Every "did you mean" of ssdk measures with this one.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, at(i - 2, j - 2) + 1);
      }
      d[i * cols + j] = best;
    }
  }
  return at(a.length, b.length);
}

/** The candidate closest to `word`, if it is close enough to be a plausible misspelling. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const needle = word.toLowerCase().replace(/_/g, '-');
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(needle, candidate.toLowerCase().replace(/_/g, '-'));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const limit = Math.max(1, Math.floor(needle.length / 3));
  return bestDistance <= limit ? best : undefined;
}

/** `` `a`, `b`, `c` `` */
export function listNames(names: Iterable<string>): string {
  return [...names].map((name) => `\`${name}\``).join(', ');
}

/** A hint naming the closest candidate, else listing what is allowed. */
export function suggestionHint(word: string, candidates: readonly string[], allowedLabel: string): string {
  const match = closest(word, candidates);
  return match !== undefined ? `did you mean \`${match}\`?` : `${allowedLabel}: ${listNames(candidates)}`;
}

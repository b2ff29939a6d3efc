/**
 * Humane durations: `500ms`, `20s`, `5m`, `1h`, `2d`, combinations such as `1m30s`, and plain
 * integers, which are milliseconds (that is what a YAML number in a duration field means).
 */

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

// Sticky, so consecutive components must follow each other with nothing unparsed in between.
const COMPONENT = /\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)/y;

/** What a user should write instead of an invalid duration. */
export const DURATION_HINT =
  'write a number with a unit, such as `500ms`, `20s`, `5m`, `1h` or `1m30s` (a plain number means milliseconds)';

/**
 * Milliseconds for a duration as written in a services file, or `undefined` when it is not one.
 * @example parseDuration('1m30s') // 90000
 */
export function parseDuration(input: string | number): number | undefined {
  if (typeof input === 'number') {
    return Number.isInteger(input) && input >= 0 ? input : undefined;
  }
  const text = input.trim();
  if (/^\d+$/.test(text)) return Number(text);
  let total = 0;
  let components = 0;
  COMPONENT.lastIndex = 0;
  while (COMPONENT.lastIndex < text.length) {
    const match = COMPONENT.exec(text);
    if (match === null) return undefined;
    total += Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? Number.NaN);
    components += 1;
  }
  return components > 0 && Number.isFinite(total) ? Math.round(total) : undefined;
}

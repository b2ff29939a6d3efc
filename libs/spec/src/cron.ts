/**
 * Cron expressions of `schedule:` entries, in UTC: five fields (minute hour day-of-month month
 * day-of-week, as crontab), or six and seven with seconds first and a year last (as the Rust
 * `cron` crate that Fluvio's files are written for). Each field takes `*`, `?`, numbers, names
 * (`JAN`, `MON`), ranges `a-b`, steps `*∕n` `a-b/n` `a/n` and lists `a,b`. When day-of-month and
 * day-of-week are both restricted, a day matching either fires (crontab's rule).
 */

export interface CronSchedule {
  readonly expression: string;
  /** The first fire time strictly after `afterMs` (epoch ms), or undefined when none comes within 5 years. */
  next(afterMs: number): number | undefined;
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const SECOND: FieldSpec = { name: 'second', min: 0, max: 59 };
const MINUTE: FieldSpec = { name: 'minute', min: 0, max: 59 };
const HOUR: FieldSpec = { name: 'hour', min: 0, max: 23 };
const DAY: FieldSpec = { name: 'day-of-month', min: 1, max: 31 };
const MONTH: FieldSpec = { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] };
// 0 and 7 are both Sunday.
const WEEKDAY: FieldSpec = { name: 'day-of-week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] };
const YEAR: FieldSpec = { name: 'year', min: 1970, max: 2199 };

export const CRON_SHAPE = 'a cron expression has five fields: minute hour day-of-month month day-of-week (six or seven with seconds first and a year last)';

/** A parsed cron expression, or every problem with it as one message. */
export function parseCron(expression: string): CronSchedule | { error: string } {
  const fields = expression.trim().split(/\s+/);
  let specs: FieldSpec[];
  if (fields.length === 5) specs = [MINUTE, HOUR, DAY, MONTH, WEEKDAY];
  else if (fields.length === 6) specs = [SECOND, MINUTE, HOUR, DAY, MONTH, WEEKDAY];
  else if (fields.length === 7) specs = [SECOND, MINUTE, HOUR, DAY, MONTH, WEEKDAY, YEAR];
  else return { error: CRON_SHAPE };
  const sets: Array<Set<number>> = [];
  const errors: string[] = [];
  specs.forEach((spec, i) => {
    const set = parseField(fields[i]!, spec);
    if (typeof set === 'string') errors.push(set);
    else sets.push(set);
  });
  if (errors.length > 0) return { error: errors.join('; ') };
  const withSeconds = fields.length >= 6;
  const at = (spec: FieldSpec) => {
    const i = specs.indexOf(spec);
    return i < 0 ? undefined : sets[i];
  };
  const seconds = at(SECOND) ?? new Set([0]);
  const minutes = at(MINUTE)!;
  const hours = at(HOUR)!;
  const days = at(DAY)!;
  const months = at(MONTH)!;
  const weekdays = at(WEEKDAY)!;
  if (weekdays.has(7)) weekdays.add(0);
  const years = at(YEAR);
  const dayStar = isStar(fields[specs.indexOf(DAY)]!);
  const weekdayStar = isStar(fields[specs.indexOf(WEEKDAY)]!);
  const dayMatches = (d: Date) => {
    const dom = days.has(d.getUTCDate());
    const dow = weekdays.has(d.getUTCDay());
    if (dayStar && weekdayStar) return true;
    if (dayStar) return dow;
    if (weekdayStar) return dom;
    return dom || dow;
  };
  return {
    expression,
    next(afterMs) {
      const step = withSeconds ? 1000 : 60_000;
      const d = new Date((Math.floor(afterMs / step) + 1) * step);
      const limit = afterMs + 5 * 366 * 86_400_000;
      while (d.getTime() <= limit) {
        if ((years && !years.has(d.getUTCFullYear())) || !months.has(d.getUTCMonth() + 1)) {
          d.setUTCMonth(d.getUTCMonth() + 1, 1);
          d.setUTCHours(0, 0, 0, 0);
        } else if (!dayMatches(d)) {
          d.setUTCDate(d.getUTCDate() + 1);
          d.setUTCHours(0, 0, 0, 0);
        } else if (!hours.has(d.getUTCHours())) {
          d.setUTCHours(d.getUTCHours() + 1, 0, 0, 0);
        } else if (!minutes.has(d.getUTCMinutes())) {
          d.setUTCMinutes(d.getUTCMinutes() + 1, 0, 0);
        } else if (!seconds.has(d.getUTCSeconds())) {
          d.setUTCSeconds(d.getUTCSeconds() + 1, 0);
        } else return d.getTime();
      }
      return undefined;
    },
  };
}

function isStar(field: string): boolean {
  return field === '*' || field === '?';
}

function parseField(field: string, spec: FieldSpec): Set<number> | string {
  const out = new Set<number>();
  for (const part of field.split(',')) {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(part);
    if (!m) return `${spec.name} \`${field}\` is not a value, range or step`;
    const step = m[2] === undefined ? 1 : Number(m[2]);
    if (step < 1) return `${spec.name} \`${field}\`: a step must be 1 or more`;
    let from: number;
    let to: number;
    if (isStar(m[1]!)) {
      from = spec.min;
      to = spec === WEEKDAY ? 6 : spec.max;
    } else {
      const range = m[1]!.split('-');
      if (range.length > 2) return `${spec.name} \`${field}\` is not a value, range or step`;
      const values = range.map((v) => valueOf(v, spec));
      const bad = values.findIndex((v) => v === undefined);
      if (bad >= 0) return `${spec.name} \`${range[bad]}\` is not between ${spec.min} and ${spec.max}${spec.names ? ` (or ${spec.names[0]}–${spec.names.at(-1)})` : ''}`;
      from = values[0]!;
      // `a/n` runs from a to the field's end, as in crontab.
      to = values.length === 2 ? values[1]! : m[2] !== undefined ? spec.max : from;
      if (to < from) return `${spec.name} range \`${m[1]}\` runs backwards`;
    }
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return out;
}

function valueOf(text: string, spec: FieldSpec): number | undefined {
  const named = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  if (named >= 0) return spec === MONTH ? named + 1 : named;
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= spec.min && n <= spec.max ? n : undefined;
}

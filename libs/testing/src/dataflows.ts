/**
 * Dataflows that tests of several projects run, embedded and as operator services, so both
 * runtimes are held to the same file.
 */

/**
 * `ctx.sql`: `tally` keeps a running total per word (state table `tally_totals`); `leaders`
 * closes a window per tick and reads the top two words from that table with SQL; `vandal`
 * tries to write through `ctx.sql` (its record is dead-lettered) and passes a read through to
 * `written`.
 */
export const CTX_SQL_SERVICES = `apiVersion: 0.5.0
meta: {name: sql-probe, namespace: tests, version: 0.1.0}
# A query is the function's time: on a busy machine it may wait for commits ahead of it.
config: {function-timeout: 30s}
types:
  standing:
    type: object
    properties:
      word: {type: string}
      total: {type: u32}
  leaders:
    type: list
    items: {type: standing}
topics:
  words: {schema: {value: {type: string}}}
  ticks: {schema: {value: {type: string}}}
  attempts: {schema: {value: {type: string}}}
  leaders: {schema: {value: {type: leaders}}}
  written: {schema: {value: {type: string}}}
services:
  tally:
    sources: [{type: topic, id: words}]
    states:
      totals:
        type: keyed-state
        properties:
          key: {type: string}
          value: {type: u32}
    partition:
      assign-key:
        run: |
          function byWord(w: string): string {
            return w;
          }
      update-state:
        run: |
          function count(w: string, ctx: Ctx): void {
            ctx.state('totals').increment();
          }
  leaders:
    sources: [{type: topic, id: ticks}]
    window:
      tumbling: {duration: 10s}
      assign-timestamp:
        run: |
          function tickTime(t: string, eventTime: number): number {
            return eventTime;
          }
      flush:
        run: |
          function topTwo(ctx: Ctx): Leaders {
            const rows = ctx.sql('SELECT key, value FROM tally_totals ORDER BY value DESC, key LIMIT $1', [2]);
            return rows.map((r) => ({ word: String(r['key']), total: Number(r['value']) }));
          }
    sinks: [{type: topic, id: leaders}]
  vandal:
    sources: [{type: topic, id: attempts}]
    transforms:
      - operator: map
        run: |
          function erase(what: string, ctx: Ctx): string {
            ctx.sql(what);
            return what;
          }
    sinks: [{type: topic, id: written}]
`;

/**
 * `ctx.http` from a function granted one host (`base`, e.g. `http://127.0.0.1:40800`): each
 * `calls` record is `URL` or `URL|post` / `URL|small` (1000-byte limit) / `URL|slow` (300 ms per
 * attempt); `answers` gets
 * `STATUS BODY`. `stray` has no http grant at all.
 */
export function ctxHttpServices(base: string): string {
  const host = new URL(base).host;
  return `apiVersion: 0.5.0
meta: {name: http-probe, namespace: tests, version: 0.1.0}
topics:
  calls: {schema: {value: {type: string}}}
  answers: {schema: {value: {type: string}}}
  strays: {schema: {value: {type: string}}}
  stray-answers: {schema: {value: {type: string}}}
services:
  caller:
    sources: [{type: topic, id: calls}]
    transforms:
      - operator: map
        grants: [{http: ["${host}"]}]
        # Waiting for a host is not the function's time; a slow machine still gets no split batch.
        function-timeout: 30s
        run: |
          function call(line: string, ctx: Ctx): string {
            const [url, option] = line.split('|');
            const r = ctx.http(url!, {
              ...(option === 'slow' ? { timeoutMs: 300 } : {}),
              headers: { 'X-Probe': 'yes' },
              ...(option === 'post' ? { body: { n: 1 } } : {}),
              ...(option === 'small' ? { maxBytes: 1000 } : {}),
            });
            return r.status + ' ' + r.body;
          }
    sinks: [{type: topic, id: answers}]
  stray:
    sources: [{type: topic, id: strays}]
    transforms:
      - operator: map
        run: |
          function ungranted(url: string, ctx: Ctx): string {
            return ctx.http(url).body;
          }
    sinks: [{type: topic, id: stray-answers}]
`;
}

/**
 * A trunk (flat-map, then a map that throws on `x`) split into three sinks, two with a map of
 * their own: `upper` changes its item in place and throws on `boom`, `lengths` makes a number
 * its topic refuses for `bad`, `all` has no transforms. Fused, the trunk's unit runs the sinks'
 * transforms as branches.
 */
export const BRANCHES_SERVICES = `apiVersion: 0.5.0
meta: {name: branches, namespace: test, version: 0.1.0}
types:
  item:
    type: object
    properties:
      w: {type: string}
topics:
  words: {schema: {value: {type: string}}}
  upper: {schema: {value: {type: item}}}
  lengths: {schema: {value: {type: u32}}}
  all: {schema: {value: {type: item}}}
services:
  split:
    sources: [{type: topic, id: words}]
    transforms:
      - operator: flat-map
        run: |
          function parts(w: string): string[] {
            return w === 'drop' ? [] : w.split('+');
          }
      - operator: map
        run: |
          function toItem(w: string): Item {
            if (w === 'x') throw new Error('no x');
            return { w };
          }
    sinks:
      - type: topic
        id: upper
        transforms:
          - operator: map
            run: |
              function shout(i: Item): Item {
                if (i.w === 'boom') throw new Error('no boom');
                i.w = i.w.toUpperCase();
                return i;
              }
      - type: topic
        id: lengths
        transforms:
          - operator: map
            run: |
              function lengthOf(i: Item): number {
                return (i.w === 'bad' ? 'not a number' : i.w.length) as number;
              }
      - type: topic
        id: all
`;

/**
 * The ticks dataflow of the schedule tests: a 200 ms schedule whose each tick's fire time becomes a
 * key of `seen`, incremented once per tick that ran. With `sink`, the fire times also go to `fired`.
 */
export function ticksServices({ sink }: { sink: boolean }): string {
  return `apiVersion: 0.6.0
meta: {name: ticks, namespace: test, version: 0.1.0}
schedule:
  fast: {interval: 200ms}
${sink ? 'topics:\n  fired: {schema: {value: {type: i64}}}\n' : ''}services:
  ticker:
    sources: [{type: schedule, id: fast}]
    states:
      seen:
        type: keyed-state
        properties: {key: {type: string}, value: {type: u32}}
    transforms:
      - operator: map
        run: |
          function fireTime(tick: any): number {
            return tick.time;
          }
    partition:
      assign-key:
        run: |
          function byTime(t: number): string {
            return String(t);
          }
      update-state:
        run: |
          function countTick(t: number, ctx: Ctx): void {
            ctx.state('seen').increment(1);
          }
${sink ? '    sinks: [{type: topic, id: fired}]\n' : ''}`;
}

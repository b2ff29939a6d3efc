/**
 * Cycles between services. Services only connect through topics, so every cycle runs through
 * topics. Fluvio accepts such loops, but they are almost always bugs, so here they are errors:
 * each record's descendants would circle through the loop again and again, a service's
 * watermark is the minimum over its inputs — its own output among them — so the windows in the
 * loop could never close, and a bounded run (`--until-idle`) would never become idle.
 */
import type { Diagnostic } from '@ssdk/spec';
import { diagnostic } from '../diagnostics.ts';
import type { DataflowGraph } from '../graph.ts';
import { quoteList } from '../names.ts';
import { cyclicComponents } from '../scc.ts';

export function checkTopicCycles(graph: DataflowGraph): Diagnostic[] {
  const byName = new Map(graph.services.map((s) => [s.name, s]));
  // Topics meet on the bus by name: two ids with one `name:` are one topic, and a loop through them is a loop.
  const busName = new Map(graph.topics.map((t) => [t.id, t.topic.name]));
  const readersOn = new Map<string, string[]>();
  for (const t of graph.topics) readersOn.set(t.topic.name, [...(readersOn.get(t.topic.name) ?? []), ...t.readers]);
  const next = (service: string): string[] => (byName.get(service)?.writes ?? []).flatMap((t) => readersOn.get(busName.get(t) ?? t) ?? []);
  return cyclicComponents([...byName.keys()], next).map((cycle) => {
    const members = new Set(cycle);
    const readNames = new Set(graph.topics.filter((t) => t.readers.some((r) => members.has(r))).map((t) => t.topic.name));
    const writtenNames = new Set(graph.topics.filter((t) => t.writers.some((w) => members.has(w))).map((t) => t.topic.name));
    const topics = graph.topics.filter(
      (t) => (t.writers.some((w) => members.has(w)) && readNames.has(t.topic.name)) || (t.readers.some((r) => members.has(r)) && writtenNames.has(t.topic.name)),
    );
    const first = byName.get(cycle[0] ?? '');
    // Point at the first sink (in file order) that closes the loop: that is where to cut it.
    const sink = first?.service.sinks.find((s) => topics.some((t) => t.id === s.topic));
    const pos = sink?.pos ?? first?.service.pos ?? graph.dataflow.meta.pos;
    const ids = topics.map((t) => t.id);
    const aliases = topics.filter((t) => t.topic.name !== t.id).map((t) => `\`${t.id}\` is \`${t.topic.name}\` on the bus`);
    const message =
      (cycle.length === 1
        ? `service \`${cycle[0]}\` reads topic${ids.length > 1 ? 's' : ''} ${quoteList(ids)} that it writes itself`
        : `services ${quoteList(cycle)} form a cycle through topics ${quoteList(ids)}`) + (aliases.length ? ` (${aliases.join(', ')})` : '');
    return diagnostic(
      'topic-cycle',
      pos,
      message,
      'records would circle forever and windows in the loop could never close; write to a new topic that no service in the loop reads',
    );
  });
}

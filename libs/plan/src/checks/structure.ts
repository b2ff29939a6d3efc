/**
 * The shape of each service: what stands where, windows that make sense, services that have
 * something to read and somewhere for their work to go.
 */
import type { Diagnostic, JoinSpec, Service, WindowSpec } from '@ssdk/spec';
import { diagnostic } from '../diagnostics.ts';
import { formatMs } from '../duration.ts';
import type { DataflowGraph, ServiceNode } from '../graph.ts';
import { operatorTraits } from '../operators.ts';
import { allowedOperators, describePlace, pipelineSteps } from '../pipeline.ts';

export function checkStructure(graph: DataflowGraph): Diagnostic[] {
  return graph.services.flatMap((node) => [
    ...serviceShape(node.service),
    ...(node.service.window ? windowRules(node.name, node.service.window) : []),
    ...(node.service.join ? joinRules(node.name, node.service.join) : []),
    ...misplacedOperators(node),
    ...unreachableSinks(node),
  ]);
}

function serviceShape(service: Service): Diagnostic[] {
  const name = service.name;
  const out: Diagnostic[] = [];
  if (service.partition && service.window) {
    out.push(
      diagnostic(
        'partition-and-window',
        service.window.pos,
        `service \`${name}\` has both \`partition\` and \`window\``,
        'move the partition inside the window (`window.partition`), or split the service in two',
      ),
    );
  }
  if (service.partition && !service.partition.assignKey) {
    out.push(
      diagnostic(
        'partition-missing-assign-key',
        service.partition.pos,
        `the partition of service \`${name}\` has no \`assign-key\``,
        'add `assign-key:` with a function that returns the key to partition by',
      ),
    );
  }
  if (service.sources.length === 0) {
    out.push(diagnostic('service-no-source', service.pos, `service \`${name}\` has no sources`, 'add `sources: [{type: topic, id: …}]`'));
  }
  if (service.sinks.length === 0 && !service.states.some((s) => s.kind === 'owned')) {
    out.push(
      diagnostic(
        'service-no-effect',
        service.pos,
        `service \`${name}\` has no sinks and owns no state: it would do nothing`,
        'add a sink, or a state that an `update-state` step writes',
      ),
    );
  }
  return out;
}

function windowRules(service: string, w: WindowSpec): Diagnostic[] {
  const out: Diagnostic[] = [];
  const what = `the ${w.kind} window of service \`${service}\``;
  if (!w.assignTimestamp) {
    out.push(
      diagnostic(
        'window-missing-assign-timestamp',
        w.pos,
        `${what} has no \`assign-timestamp\``,
        "add `assign-timestamp:` with a function that returns the record's event time (epoch ms)",
      ),
    );
  }
  // An error, not a warning: window state lives per window and is dropped when the window
  // closes, right after its flush. Without a flush every record the window takes in is
  // aggregated and then thrown away, and no sink ever receives anything (`sink-unreachable`).
  if (!w.flush) {
    out.push(
      diagnostic(
        'window-missing-flush',
        w.pos,
        `${what} has no \`flush\`: nothing would be emitted`,
        "add `flush:` with a function that reads the window's state and returns the result",
      ),
    );
  }
  if (w.kind === 'session') {
    if (!(w.gapMs !== undefined && w.gapMs > 0)) out.push(diagnostic('window-invalid-gap', w.pos, `${what} has no positive \`gap\``, 'give it a positive `gap`, such as `10s`'));
    return out;
  }
  if (!(w.durationMs > 0)) {
    out.push(diagnostic('window-invalid-duration', w.pos, `${what} lasts ${formatMs(w.durationMs)}`, 'give it a positive `duration`, such as `20s`'));
    return out; // slide and offset are measured against the duration
  }
  const duration = formatMs(w.durationMs);
  if (w.kind === 'sliding') {
    const slide = w.slideMs;
    if (slide === undefined || !(slide > 0) || slide > w.durationMs) {
      const got = slide === undefined ? 'has no `slide`' : `slides by ${formatMs(slide)}`;
      out.push(
        diagnostic('window-invalid-slide', w.pos, `${what} ${got}`, `a slide must be positive and at most the duration (${duration})`),
      );
    }
  } else if (w.offsetMs < 0 || w.offsetMs >= w.durationMs) {
    out.push(
      diagnostic(
        'window-invalid-offset',
        w.pos,
        `${what} has offset ${formatMs(w.offsetMs)}, not within its duration ${duration}`,
        `an offset must be at least 0 and shorter than the duration (${duration})`,
      ),
    );
  }
  return out;
}

function joinRules(service: string, j: JoinSpec): Diagnostic[] {
  const out: Diagnostic[] = [];
  const what = `the ${j.kind} join of service \`${service}\``;
  if (!j.assignKey) {
    out.push(diagnostic('join-missing-assign-key', j.pos, `${what} has no \`assign-key\``, 'add `assign-key:` with a function that returns the join key of a record of either side'));
  }
  // The joined records are `{side: value}` objects the runtime makes; the first of these steps is
  // where the join runs (its unit keeps the join's state), so there must be one.
  if (j.transforms.length === 0) {
    out.push(
      diagnostic(
        'join-missing-transforms',
        j.pos,
        `${what} has no \`transforms\``,
        `add \`transforms:\` with a \`map\` that takes the joined record (\`{${j.left}, ${j.right}}\`) and returns what the sinks write`,
      ),
    );
  }
  if (j.left === j.right) {
    out.push(diagnostic('join-invalid-side', j.sidesPos, `${what} joins \`${j.left}\` with itself`, 'name two different variants of the enum the join receives'));
  }
  if (j.kind === 'interval' && (j.lowerMs ?? 0) > (j.upperMs ?? 0)) {
    out.push(diagnostic('join-invalid-interval', j.sidesPos, `${what} has \`lower\` ${formatMs(j.lowerMs ?? 0)} above \`upper\` ${formatMs(j.upperMs ?? 0)}`, 'a right record joins when left time + lower <= its time <= left time + upper'));
  }
  return out;
}

function misplacedOperators({ name, pipeline }: ServiceNode): Diagnostic[] {
  return pipelineSteps(pipeline).flatMap(({ step, place }) => {
    const allowed = allowedOperators(place);
    if (allowed.includes(step.operator)) return [];
    const slot = allowed.length === 1 ? `${describePlace(place)} takes \`${allowed[0]}\`; ` : '';
    return [
      diagnostic(
        'operator-misplaced',
        step.pos,
        `\`${step.operator}\` step \`${step.fn.name}\` cannot stand in ${describePlace(place)} of service \`${name}\``,
        `${slot}\`${step.operator}\` belongs in ${operatorTraits(step.operator).belongs}`,
      ),
    ];
  });
}

/**
 * A windowed service emits only what its window's flush returns (records that update window
 * state go no further), so without a flush its sinks receive nothing. The same cause is also
 * reported on the window (`window-missing-flush`): that line says what to add, these say which
 * outputs stay empty. (Outside a window, `update-state` passes its record on to the sinks.)
 */
function unreachableSinks({ name, service }: ServiceNode): Diagnostic[] {
  if (service.sources.length === 0 || !service.window || service.window.flush) return [];
  return service.sinks.map((sink) =>
    diagnostic(
      'sink-unreachable',
      sink.pos,
      `sink \`${sink.topic}\` of service \`${name}\` receives no records: its window has no \`flush\``,
      "a window emits only what its `flush` returns; add `flush:` to the window",
    ),
  );
}

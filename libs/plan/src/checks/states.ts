/**
 * State rules. State names are global per dataflow: a state has one writer (the service that
 * owns it) and any number of readers (ref-states, `from: <service>.<state>`).
 */
import type { Diagnostic } from '@ssdk/spec';
import { diagnostic } from '../diagnostics.ts';
import type { DataflowGraph } from '../graph.ts';
import { quoteList, suggestionHint } from '../names.ts';
import { pipelineSteps } from '../pipeline.ts';
import { isWildcard, resolveType, typeToString } from '../type-system.ts';

export function checkStates(graph: DataflowGraph): Diagnostic[] {
  const df = graph.dataflow;
  const out: Diagnostic[] = [];
  const owners = new Map<string, string>();
  for (const { name, service, pipeline } of graph.services) {
    const declared = new Set<string>();
    for (const decl of service.states) {
      if (declared.has(decl.name)) {
        out.push(diagnostic('duplicate-state', decl.pos, `service \`${name}\` declares state \`${decl.name}\` twice`, 'remove or rename one of them'));
      }
      declared.add(decl.name);
      if (decl.kind === 'owned') {
        const first = owners.get(decl.name);
        if (first !== undefined && first !== name) {
          out.push(
            diagnostic(
              'state-two-writers',
              decl.pos,
              `state \`${decl.name}\` is owned by two services, \`${first}\` and \`${name}\`: a state has one writer`,
              `rename one of them, or read the state of \`${first}\` with \`from: ${first}.${decl.name}\``,
            ),
          );
        } else {
          owners.set(decl.name, name);
        }
        if (decl.ttlMs !== undefined && service.window !== undefined) {
          out.push(
            diagnostic(
              'ttl-on-window-state',
              decl.pos,
              `state \`${decl.name}\` of service \`${name}\` has a \`ttl\`, but it is window state: it is dropped when its window closes`,
              'remove `ttl`, or keep the state in a service without a `window`',
            ),
          );
        }
        const resolved = resolveType(decl.type, df.types);
        if (!isWildcard(resolved) && resolved.kind !== 'keyed-state') {
          out.push(
            diagnostic(
              'state-not-keyed',
              decl.pos,
              `state \`${decl.name}\` of service \`${name}\` has type \`${typeToString(decl.type, df.types)}\`, not a keyed-state`,
              'declare it with `type: keyed-state` and `properties: {key: {type: …}, value: {type: …}}`',
            ),
          );
        }
        continue;
      }
      const owner = df.services[decl.fromService];
      if (!Object.hasOwn(df.services, decl.fromService) || !owner) {
        out.push(
          diagnostic(
            'ref-state-unknown-service',
            decl.pos,
            `state \`${decl.name}\` of service \`${name}\` reads from unknown service \`${decl.fromService}\``,
            suggestionHint(decl.fromService, Object.keys(df.services), 'services', 'the dataflow has no services'),
          ),
        );
        continue;
      }
      const owned = owner.states.filter((s) => s.kind === 'owned').map((s) => s.name);
      if (!owned.includes(decl.fromState)) {
        out.push(
          diagnostic(
            'ref-state-unknown-state',
            decl.pos,
            `state \`${decl.name}\` of service \`${name}\` reads \`${decl.fromService}.${decl.fromState}\`, but service \`${decl.fromService}\` owns no state \`${decl.fromState}\``,
            owned.length === 0
              ? `service \`${decl.fromService}\` owns no states`
              : `service \`${decl.fromService}\` owns ${quoteList(owned)}`,
          ),
        );
      }
    }
    if (!service.states.some((s) => s.kind === 'owned')) {
      for (const { step } of pipelineSteps(pipeline).filter((s) => s.step.operator === 'update-state')) {
        out.push(
          diagnostic(
            'update-state-without-state',
            step.pos,
            `\`update-state\` step \`${step.fn.name}\` in service \`${name}\` has no state to update`,
            "declare the state it updates under the service's `states:`",
          ),
        );
      }
    }
  }
  return out;
}

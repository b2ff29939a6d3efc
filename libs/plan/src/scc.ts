/**
 * Strongly connected components (Tarjan), for cycles among types and among services. Nodes and
 * successors come back in the order given, so diagnostics are deterministic.
 */
export function cyclicComponents(nodes: readonly string[], successors: (node: string) => readonly string[]): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let next = 0;

  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of successors(v)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop();
        if (w === undefined) break;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      const cyclic = component.length > 1 || successors(v).includes(v);
      if (cyclic) components.push(nodes.filter((n) => component.includes(n)));
    }
  };

  for (const n of nodes) if (!index.has(n)) visit(n);
  // Report in the order of each component's first node, not in Tarjan's completion order.
  return components.sort((a, b) => nodes.indexOf(a[0] ?? '') - nodes.indexOf(b[0] ?? ''));
}

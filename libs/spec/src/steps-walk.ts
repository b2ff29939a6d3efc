/**
 * Every step of a model, wherever it is written (source and sink transforms, service transforms,
 * partition and window slots), in the order records meet them.
 */
import type { Dataflow, Partition, Step } from './model.ts';

export function allSteps(dataflow: Dataflow): Step[] {
  const steps: Step[] = [];
  const partition = (p: Partition | undefined): void => {
    if (p === undefined) return;
    if (p.assignKey !== undefined) steps.push(p.assignKey);
    steps.push(...p.transforms);
    if (p.updateState !== undefined) steps.push(p.updateState);
  };
  for (const service of Object.values(dataflow.services)) {
    for (const source of service.sources) steps.push(...source.transforms);
    steps.push(...service.transforms);
    partition(service.partition);
    const window = service.window;
    if (window !== undefined) {
      if (window.assignTimestamp !== undefined) steps.push(window.assignTimestamp);
      steps.push(...window.transforms);
      partition(window.partition);
      if (window.flush !== undefined) steps.push(window.flush);
    }
    for (const sink of service.sinks) steps.push(...sink.transforms);
  }
  return steps;
}

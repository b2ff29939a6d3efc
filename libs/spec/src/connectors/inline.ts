/** The connectors written inline in a dataflow's sources and sinks, each under its topic's name on the bus. */
import type { Dataflow } from '../model.ts';
import type { Connector } from './model.ts';

export function inlineConnectors(dataflow: Dataflow): Connector[] {
  return Object.values(dataflow.services)
    .flatMap((service) => [...service.sources, ...service.sinks])
    .flatMap((endpoint) => (endpoint.kind === 'topic' && endpoint.connector ? [{ ...endpoint.connector, topic: dataflow.topics[endpoint.topic]?.name ?? endpoint.topic }] : []));
}

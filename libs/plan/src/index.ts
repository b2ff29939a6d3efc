/**
 * @ssdk/plan — the dataflow graph, type checks and the physical plan. Pure: no I/O.
 */
export {};

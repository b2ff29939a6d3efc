/**
 * Small helpers over the `yaml` package's AST, so section parsers read nodes (which carry
 * positions) rather than plain values (which do not).
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type Node, type Pair } from 'yaml';

/** Follows `*alias` references to the node they name. */
export function deref(doc: Document, node: unknown): Node | undefined {
  if (isAlias(node)) return (node.resolve(doc) as Node | undefined) ?? node;
  return isNodeLike(node) ? node : undefined;
}

function isNodeLike(value: unknown): value is Node {
  return isMap(value) || isSeq(value) || isScalar(value) || isAlias(value);
}

/** A key of a pair as text (keys are scalars in every services file). */
export function keyText(pair: Pair): string | undefined {
  const key = pair.key;
  if (isScalar(key) && key.value !== null && typeof key.value !== 'object') return String(key.value);
  return undefined;
}

/** `key:` with nothing after it. */
export function isEmpty(node: Node | undefined): boolean {
  return node === undefined || (isScalar(node) && node.value === null);
}

/** How a value reads in a message: "a mapping", "a list", "nothing", or the value in backticks. */
export function describeNode(node: Node | undefined): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (node === undefined || isEmpty(node)) return 'nothing';
  if (isScalar(node)) return `\`${String(node.value)}\``;
  return 'an alias';
}

/** A scalar's value as the text a user wrote it as (for messages). */
export function valueText(node: Node | undefined): string {
  if (isScalar(node)) return String(node.value);
  return describeNode(node);
}

/** The plain JavaScript value of a node, for zod to validate. */
export function toPlain(doc: Document, node: Node | undefined): unknown {
  if (node === undefined) return undefined;
  if (isScalar(node)) return node.value;
  return node.toJS(doc);
}

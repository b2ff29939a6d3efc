/**
 * Reading a connector file from disk, and telling a connector file from a services file (both
 * are YAML with `apiVersion` and `meta`; a connector's `meta` has a `type`, a services file has
 * `services`, `operations` or a dataflow's sections).
 */
import { readFile } from 'node:fs/promises';
import { parseDocument, isMap } from 'yaml';
import { unreadable } from '../load.ts';
import { parseConnectorFile, type ConnectorParseResult } from './parse.ts';

export async function loadConnectorFile(path: string): Promise<ConnectorParseResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return { connector: undefined, diagnostics: [unreadable(path, 'connector file', error)] };
  }
  return parseConnectorFile(text, path);
}

/** True when the text reads as a connector file rather than a services file. */
export function looksLikeConnectorFile(text: string): boolean {
  let root: unknown;
  try {
    root = parseDocument(text).contents;
  } catch {
    return false;
  }
  if (!isMap(root)) return false;
  if (root.has('services') || root.has('operations') || root.has('functions')) return false;
  const meta = root.get('meta', true);
  if (isMap(meta)) return meta.has('type') || meta.has('topic');
  // Fluvio's first format: `type`, `topic`, `parameters` at the top.
  return root.has('parameters') || (root.has('type') && root.has('topic'));
}

/**
 * Reading a connector file from disk, and telling a connector file from a services file (both
 * are YAML with `apiVersion` and `meta`; a connector's `meta` has a `type`, a services file has
 * `services`, `operations` or a dataflow's sections).
 */
import { readFile } from 'node:fs/promises';
import { parseDocument, isMap } from 'yaml';
import { parseConnectorFile, type ConnectorParseResult } from './parse.ts';

export async function loadConnectorFile(path: string): Promise<ConnectorParseResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    return {
      connector: undefined,
      diagnostics: [{ severity: 'error', code: 'file-not-found', message: missing ? `connector file \`${path}\` does not exist` : `cannot read connector file \`${path}\``, pos: { file: path, line: 1, col: 1 } }],
    };
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

/**
 * The parser's entry: YAML with positions → dialect detection → one `Dataflow` and every
 * diagnostic of the file. Pure: no I/O.
 */
import { isMap, isScalar, LineCounter, parseDocument, visit, type Document, type Node, type YAMLError } from 'yaml';
import type { ParseContext } from './context.ts';
import { parseDataflowDialect } from './dialects/dataflow.ts';
import { parsePreviewDialect } from './dialects/preview.ts';
import { parseSeedDialect } from './dialects/seed.ts';
import { Diagnostics, SpecError, hasErrors } from './diagnostics.ts';
import type { Dataflow, Diagnostic, Dialect, Package, ParseResult } from './model.ts';
import { emptyPackage, parsePackageDialect } from './dialects/package.ts';
import { Positions } from './positions.ts';
import { emptyDataflow } from './sections.ts';
import { listNames } from './suggest.ts';
import { describeNode } from './yaml-nodes.ts';

export const SUPPORTED_API_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.4.0', '0.5.0', '0.6.0'] as const;

const DIALECT_PARSERS: Readonly<Record<Dialect, (ctx: ParseContext, root: Node, dataflow: Dataflow) => void>> = {
  seed: parseSeedDialect,
  preview: parsePreviewDialect,
  dataflow: parseDataflowDialect,
};

/**
 * Reads a services file of any shape into the model. Never throws: problems are diagnostics,
 * all of them, and the model holds everything that could be read.
 * @param text the file's content
 * @param file the path diagnostics name
 */
export function parseServicesFile(text: string, file: string): ParseResult {
  const diagnostics = new Diagnostics();
  const done = (dataflow: Dataflow): ParseResult => ({ dataflow, diagnostics: diagnostics.sorted() });
  const { doc, positions, readable } = readYaml(text, file, diagnostics);
  if (!readable) return done(emptyDataflow(file));

  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) {
    diagnostics.error('empty-file', 'the services file is empty', positions.at(0), 'start with `apiVersion: 0.5.0` and a `meta` section');
    return done(emptyDataflow(file));
  }
  if (!isMap(root)) {
    diagnostics.error('invalid-type', `the services file must be a mapping, found ${describeNode(root)}`, positions.of(root));
    return done(emptyDataflow(file));
  }

  const versions = `supported versions: ${listNames(SUPPORTED_API_VERSIONS)}`;
  const versionNode = root.get('apiVersion', true);
  if (versionNode === undefined) {
    diagnostics.error('missing-key', 'missing key `apiVersion` in the services file', positions.of(root), versions);
    return done(emptyDataflow(file));
  }
  if (!isScalar(versionNode) || versionNode.value === null || typeof versionNode.value === 'object') {
    diagnostics.error('invalid-type', `\`apiVersion\` must be a version such as \`0.5.0\`, found ${describeNode(versionNode as Node)}`, positions.of(versionNode as Node), versions);
    return done(emptyDataflow(file));
  }
  const apiVersion = String(versionNode.value);
  const dialect = detectDialect(apiVersion, root.has('operations'));
  if (dialect === undefined) {
    diagnostics.error('unsupported-api-version', `unsupported apiVersion \`${apiVersion}\``, positions.of(versionNode), versions);
    return done(emptyDataflow(file));
  }

  const ctx: ParseContext = {
    file,
    source: text,
    doc,
    positions,
    diagnostics,
    dialect,
    apiVersion,
    types: {},
    functions: {},
    schedules: new Map(),
  };
  const dataflow = emptyDataflow(file, dialect, apiVersion);
  DIALECT_PARSERS[dialect](ctx, root, dataflow);
  return done(dataflow);
}

/**
 * Parses YAML with positions and reports its syntax problems; `readable` is false when the tree
 * cannot be trusted (past a syntax error it is a guess: reading it would report problems that
 * are not there). Shared by every file ssdk reads (services files, connector files).
 */
export function readYaml(text: string, file: string, diagnostics: Diagnostics): { doc: Document; positions: Positions; readable: boolean } {
  const lineCounter = new LineCounter();
  if (!isText(text)) {
    // Echoing a binary file's bytes helps no one: one line says what it is.
    diagnostics.error('not-text', 'not a text file', { file, line: 1, col: 1 }, 'give the services file (YAML text), not a binary or compiled file');
    return { doc: parseDocument('', { lineCounter }), positions: new Positions(file, lineCounter), readable: false };
  }
  const tooDeep = nestingPastLimit(text);
  if (tooDeep !== undefined) {
    const counter = new LineCounter();
    const empty = parseDocument('', { lineCounter: counter });
    for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) counter.addNewLine(at + 1);
    const positions = new Positions(file, counter);
    diagnostics.error(
      'nesting-too-deep',
      `the file nests more than ${MAX_NESTING} levels deep`,
      positions.at(tooDeep),
      'a services file nests a few levels: look for an unclosed `[` or `{`, or generated content pasted in',
    );
    return { doc: empty, positions, readable: false };
  }
  const doc = parseDocument(text, { lineCounter });
  const positions = new Positions(file, lineCounter);
  reportYamlProblems(doc, text, positions, diagnostics);
  const readable = !doc.errors.some((error) => error.code !== 'DUPLICATE_KEY') && aliasesResolve(doc, positions, diagnostics);
  return { doc, positions, readable };
}

/** 0.1.0 is both the seed schematic (`operations`) and the first preview (`services`). */
function detectDialect(apiVersion: string, hasOperations: boolean): Dialect | undefined {
  switch (apiVersion) {
    case '0.1.0':
      return hasOperations ? 'seed' : 'preview';
    case '0.2.0':
    case '0.3.0':
      return 'preview';
    case '0.4.0':
    case '0.5.0':
    case '0.6.0':
      return 'dataflow';
    default:
      return undefined;
  }
}

const YAML_HINTS: Readonly<Record<string, string>> = {
  TAB_AS_INDENT: 'indent with spaces; YAML does not allow tabs for indentation',
  BAD_INDENT: 'check the indentation (spaces, the same amount at each level) and that every `[` and `{` is closed',
  MULTIPLE_DOCS: 'a services file is one YAML document: remove the extra `---`',
  // `name: a: b` — a value with `: ` in it reads as a second key on the line.
  BLOCK_AS_IMPLICIT_KEY: 'quote a value that holds `: ` (`description: "note: …"`), or put the nested mapping on lines of its own, indented',
  // `- operator filter` — a key without its colon runs into the next line.
  MULTILINE_IMPLICIT_KEY: 'a key ends with `: ` (a colon and a space): check this line and the one before for a missing colon or an unclosed quote',
  BAD_SCALAR_START: 'quote the value: a plain value cannot start with @ or `',
  BAD_DQ_ESCAPE: 'inside double quotes a backslash starts an escape (\\n, \\", \\\\): write \\\\ for a backslash, or use single quotes',
  MISSING_CHAR: 'close every `[`, `{` and quote the line opens',
  UNEXPECTED_TOKEN: 'check this line: a stray character, a missing `: ` after a key, or an unclosed `[`, `{` or quote',
  BLOCK_IN_FLOW: 'inside `[ ]` or `{ }` write items inline (`{a: 1, b: 2}`), or drop the brackets and use indented lines',
  KEY_OVER_1024_CHARS: 'a key this long is usually a missing `: ` or an unclosed quote earlier on the line',
  MULTIPLE_ANCHORS: 'give a node one `&anchor`',
  MULTIPLE_TAGS: 'give a node one `!tag`',
  BAD_PROP_ORDER: 'write the `&anchor` or `!tag` before the value',
  NON_STRING_KEY: 'keys are plain names: quote the key or write it as a name',
  TAG_RESOLVE_FAILED: 'remove the `!` tag: a services file needs no YAML tags',
};

/** For the yaml library's rarer codes: where to look when it has no hint of its own. */
const YAML_HINT = 'the YAML here does not parse: check the indentation, the `: ` after each key and that quotes and brackets close';

/** Messages of our own where the library's would point at its API. */
const YAML_MESSAGES: Readonly<Record<string, string>> = {
  MULTIPLE_DOCS: 'the file holds more than one YAML document',
};

/** An `*alias` without its `&anchor` cannot be read (the yaml library reports it only when converting). */
function aliasesResolve(doc: Document, positions: Positions, diagnostics: Diagnostics): boolean {
  let resolved = true;
  visit(doc, {
    Alias(_key, alias) {
      if (alias.resolve(doc) === undefined) {
        diagnostics.error('yaml-syntax', `unknown alias \`*${alias.source}\``, positions.of(alias), 'define the anchor (`&name`) before using the alias');
        resolved = false;
      }
    },
  });
  return resolved;
}

function reportYamlProblems(doc: Document, text: string, positions: Positions, diagnostics: Diagnostics): void {
  for (const error of doc.errors) {
    const pos = positions.at(error.pos[0]);
    if (error.code === 'DUPLICATE_KEY') {
      const key = keyAt(text, error.pos[0]);
      diagnostics.error('duplicate-key', `duplicate key \`${key}\``, pos, 'a key may appear once in a mapping: merge the two entries or remove one');
    } else if (error.code === 'MISSING_CHAR' && /closing (["'])quote/.test(error.message)) {
      // The library notices an unclosed quote where the file ends; the user needs where it opens.
      const quote = /closing (["'])quote/.exec(error.message)![1] as '"' | "'";
      const open = unclosedQuote(text, quote);
      diagnostics.error(
        'yaml-syntax',
        `unclosed ${quote === '"' ? 'double' : 'single'} quote: the string that starts here never ends`,
        open === undefined ? pos : positions.at(open),
        `close it with ${quote}, or remove the ${quote} if the value is not meant to be quoted`,
      );
    } else {
      diagnostics.error('yaml-syntax', YAML_MESSAGES[error.code] ?? yamlMessage(error), pos, YAML_HINTS[error.code] ?? YAML_HINT);
    }
  }
  for (const warning of doc.warnings) {
    diagnostics.warning('yaml-warning', yamlMessage(warning), positions.at(warning.pos[0]), YAML_HINTS[warning.code]);
  }
}

/** The yaml library's message without its position suffix and source excerpt, in our style. */
function yamlMessage(error: YAMLError): string {
  const first = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '').replace(/[.:]$/, '');
  return first.charAt(0).toLowerCase() + first.slice(1);
}

/** Text, as opposed to a binary file read as UTF-8: no NUL bytes, few undecodable ones. */
function isText(text: string): boolean {
  const head = text.slice(0, 8192);
  if (head.includes('\u0000')) return false;
  let bad = 0;
  for (const c of head) if (c === '\uFFFD') bad++;
  return bad <= head.length / 100;
}

/** Deeper than any services file goes, and well short of where the YAML library runs out of stack. */
export const MAX_NESTING = 100;

/**
 * The offset where the nesting passes `MAX_NESTING` levels, counting open flow brackets (`[`,
 * `{`) and indentation steps, or undefined. A cheap scan before the recursive parse.
 */
function nestingPastLimit(text: string): number | undefined {
  const indents: number[] = [];
  let flow = 0;
  let lineStart = 0;
  while (lineStart < text.length) {
    let end = text.indexOf('\n', lineStart);
    if (end < 0) end = text.length;
    const line = text.slice(lineStart, end);
    const indent = line.length - line.trimStart().length;
    if (line.trim() !== '' && !line.trimStart().startsWith('#')) {
      while (indents.length > 0 && indents[indents.length - 1]! >= indent) indents.pop();
      indents.push(indent);
      if (indents.length > MAX_NESTING) return lineStart + indent;
    }
    let quote: string | undefined;
    for (let i = indent; i < line.length; i++) {
      const c = line[i]!;
      if (quote !== undefined) {
        if (c === quote) quote = undefined;
      } else if (c === '"' || c === "'") quote = startsScalar(line, i) ? c : undefined;
      else if (c === '#' && (i === 0 || line[i - 1] === ' ')) break;
      else if (c === '[' || c === '{') {
        if (++flow + indents.length > MAX_NESTING) return lineStart + i;
      } else if (c === ']' || c === '}') flow = Math.max(0, flow - 1);
    }
    lineStart = end + 1;
  }
  return undefined;
}

/** Whether a quote at `i` opens a quoted scalar (after `: `, `- `, `[`, `{`, `,`, or first on its line). */
function startsScalar(line: string, i: number): boolean {
  const before = line.slice(0, i).trimEnd();
  return before === '' || /[:\-[{,?]$/.test(before);
}

/** Where the quoted scalar that never closes opens, or undefined when the scan cannot tell. */
function unclosedQuote(text: string, quote: '"' | "'"): number | undefined {
  let i = 0;
  let lineStart = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') lineStart = i + 1;
    else if (c === '#' && (i === lineStart || /\s/.test(text[i - 1]!))) {
      const end = text.indexOf('\n', i);
      i = end < 0 ? text.length : end;
      continue;
    } else if ((c === '"' || c === "'") && startsScalar(text.slice(lineStart, i + 1), i - lineStart)) {
      const open = i;
      for (i++; i < text.length; i++) {
        if (text[i] === '\\' && c === '"') i++;
        else if (text[i] === c && c === "'" && text[i + 1] === "'") i++;
        else if (text[i] === c) break;
      }
      if (i >= text.length) return c === quote ? open : undefined;
      lineStart = text.lastIndexOf('\n', i) + 1;
    }
    i++;
  }
  return undefined;
}

function keyAt(text: string, offset: number): string {
  const line = text.slice(offset, text.indexOf('\n', offset) < 0 ? undefined : text.indexOf('\n', offset));
  const key = /^\s*(?:"([^"]*)"|'([^']*)'|([^:#]*?))\s*:(?:\s|$)/.exec(line);
  return (key?.[1] ?? key?.[2] ?? key?.[3] ?? line).trim();
}

/**
 * Like `parseServicesFile`, for callers that prefer an exception: returns the model, or throws a
 * `SpecError` carrying every diagnostic when the file has errors.
 */
export function parseOrThrow(text: string, file: string): Dataflow {
  const result = parseServicesFile(text, file);
  if (hasErrors(result.diagnostics)) throw new SpecError(result.diagnostics);
  return result.dataflow;
}

/** What parsing a package file returns: the package as complete as the file allows, and every problem found. */
export interface PackageParseResult {
  pkg: Package;
  diagnostics: Diagnostic[];
}

/** Reads an `sdf-package.yaml`. Pure and never throws, like `parseServicesFile`. */
export function parsePackageFile(text: string, file: string): PackageParseResult {
  const diagnostics = new Diagnostics();
  const done = (pkg: Package): PackageParseResult => ({ pkg, diagnostics: diagnostics.sorted() });
  const { doc, positions, readable } = readYaml(text, file, diagnostics);
  if (!readable) return done(emptyPackage(file));
  const root = doc.contents;
  if (root === null || !isMap(root)) {
    diagnostics.error('invalid-type', `the package file must be a mapping, found ${describeNode(root as Node)}`, positions.at(0), 'start with `apiVersion: 0.5.0` and a `meta` section');
    return done(emptyPackage(file));
  }
  const versions = `supported versions: ${listNames(PACKAGE_API_VERSIONS)}`;
  const versionNode = root.get('apiVersion', true) as Node | undefined;
  const apiVersion = versionNode !== undefined && isScalar(versionNode) ? String(versionNode.value) : undefined;
  if (apiVersion === undefined || !(PACKAGE_API_VERSIONS as readonly string[]).includes(apiVersion)) {
    diagnostics.error(
      versionNode === undefined ? 'missing-key' : 'unsupported-api-version',
      versionNode === undefined ? 'missing key `apiVersion` in the package file' : `unsupported package apiVersion \`${apiVersion}\``,
      versionNode === undefined ? positions.of(root) : positions.of(versionNode),
      versions,
    );
    return done(emptyPackage(file));
  }
  const ctx: ParseContext = { file, source: text, doc, positions, diagnostics, dialect: 'dataflow', apiVersion, types: {}, functions: {}, schedules: new Map() };
  const pkg = emptyPackage(file, apiVersion);
  parsePackageDialect(ctx, root, pkg);
  return done(pkg);
}

/** Packages came with Stateful DataFlow (0.4.0). */
export const PACKAGE_API_VERSIONS = ['0.4.0', '0.5.0', '0.6.0'] as const;

/**
 * A package file, as opposed to a services file: its top level has `functions` (or `meta` with
 * `types` or `states`) but no `services` or `operations`.
 */
export function looksLikePackageFile(text: string): boolean {
  const keys = new Set([...text.matchAll(/^([A-Za-z][\w-]*)\s*:/gm)].map((m) => m[1]));
  if (keys.has('services') || keys.has('operations') || keys.has('topics')) return false;
  return keys.has('meta') && (keys.has('functions') || keys.has('types') || keys.has('states'));
}

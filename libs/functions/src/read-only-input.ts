/**
 * Where a step's function changes the value it was given in place. A step that passes its record
 * on (filter, assign-key, assign-timestamp, update-state) gets a value it may only read, as
 * Fluvio SDF gives such steps `&T`: natively the change would go on with the record (the same
 * object), sandboxed the record goes on as it came (the guest answers "unchanged"), so the two
 * runtimes would disagree. Refusing it where it is written makes both refuse alike.
 *
 * What it sees: an assignment to the value or to anything reached from it by property or index
 * (`r.n = …`, `r.a.b += …`, `r.list[0] = …`, a destructuring assignment's targets, a `for (r.x of
 * …)` target), `r.n++` / `--r.n`, `delete r.x`, an array's mutating methods on anything reached
 * from it (`r.tags.push(…)`, a `bytes` value's `set`) and the global functions that change their first
 * argument (`Object.assign(r, …)`, `Object.defineProperty`, `Object.freeze`, `Reflect.set`, …). A destructured parameter's names are the
 * value's parts: `({ tags }) => tags.push(…)` changes it too. What it cannot see: an alias (`const
 * a = r; a.n = 1`), a callback's parameter (`r.items.forEach((i) => { i.n = 1 })`), a helper
 * function given the value — the documented difference that stays (docs/services-file.md).
 */
import type * as TypeScript from 'typescript';

/** The methods that change an array (or a typed array, `bytes`: `set` copies into it) in place. */
const MUTATING_METHODS: ReadonlySet<string> = new Set(['push', 'pop', 'shift', 'unshift', 'splice', 'sort', 'reverse', 'fill', 'copyWithin', 'set']);

/**
 * The global functions that change their first argument: its properties, its prototype, or whether
 * it may change at all (a frozen value would make a later step's own change throw natively, while
 * sandboxed the next step gets a fresh copy).
 */
const MUTATING_GLOBALS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['Object', new Set(['assign', 'defineProperty', 'defineProperties', 'setPrototypeOf', 'freeze', 'seal', 'preventExtensions'])],
  ['Reflect', new Set(['set', 'deleteProperty', 'defineProperty', 'setPrototypeOf', 'preventExtensions'])],
]);

export interface InPlaceChange {
  /** Where it is written: the start of the changing expression. */
  node: TypeScript.Node;
  /** The change as written, shortened (`r.n = …`, `r.tags.push(…)`, `delete r.x`). */
  what: string;
}

/** A step's function, as far as the checker can find one: its declaration or the function an export names. */
export type StepFunction = TypeScript.FunctionDeclaration | TypeScript.FunctionExpression | TypeScript.ArrowFunction | TypeScript.MethodDeclaration;

/** The function a symbol stands for (through an `export { a as b }` alias, a `const f = (…) => …`, `export default (…) => …`). */
export function functionOfSymbol(ts: typeof TypeScript, checker: TypeScript.TypeChecker, symbol: TypeScript.Symbol): StepFunction | undefined {
  const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  for (const d of target.declarations ?? []) {
    const fn = functionOfNode(ts, ts.isVariableDeclaration(d) ? d.initializer : ts.isExportAssignment(d) ? d.expression : d);
    if (fn) return fn;
  }
  return undefined;
}

function functionOfNode(ts: typeof TypeScript, node: TypeScript.Node | undefined): StepFunction | undefined {
  while (node && (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isSatisfiesExpression(node))) node = node.expression;
  if (!node) return undefined;
  if (ts.isFunctionDeclaration(node) || ts.isFunctionExpression(node) || ts.isArrowFunction(node) || ts.isMethodDeclaration(node)) return node;
  return undefined;
}

/** Every in-place change `fn` makes to its first parameter (the value), in source order. */
export function inPlaceChanges(ts: typeof TypeScript, checker: TypeScript.TypeChecker, fn: StepFunction): InPlaceChange[] {
  const param = fn.parameters[0];
  if (!param || !fn.body) return [];
  const roots = new Set<TypeScript.Symbol>();
  const bind = (name: TypeScript.BindingName): void => {
    if (ts.isIdentifier(name)) {
      const symbol = checker.getSymbolAtLocation(name);
      if (symbol) roots.add(symbol);
      return;
    }
    for (const element of name.elements) if (!ts.isOmittedExpression(element)) bind(element.name);
  };
  bind(param.name);
  if (roots.size === 0) return [];

  const file = fn.getSourceFile();
  const unwrap = (e: TypeScript.Expression): TypeScript.Expression => {
    while (ts.isParenthesizedExpression(e) || ts.isNonNullExpression(e) || ts.isAsExpression(e) || ts.isTypeAssertionExpression(e) || ts.isSatisfiesExpression(e)) e = e.expression;
    return e;
  };
  /** The value itself, or anything reached from it by property or index. */
  const reached = (e: TypeScript.Expression): boolean => {
    const x = unwrap(e);
    if (ts.isIdentifier(x)) {
      const symbol = checker.getSymbolAtLocation(x);
      return symbol !== undefined && roots.has(symbol);
    }
    if (ts.isPropertyAccessExpression(x) || ts.isElementAccessExpression(x)) return reached(x.expression);
    return false;
  };
  /** A place inside the value (`r.n`, `r[i]`): writing it changes the value; writing the parameter's own name does not. */
  const inside = (e: TypeScript.Expression): boolean => {
    const x = unwrap(e);
    return (ts.isPropertyAccessExpression(x) || ts.isElementAccessExpression(x)) && reached(x.expression);
  };
  const short = (node: TypeScript.Node): string => {
    const text = node.getText(file).replace(/\s+/g, ' ');
    return text.length <= 40 ? text : `${text.slice(0, 39)}…`;
  };

  const found: InPlaceChange[] = [];
  // A destructuring default (`[r.n = 1] = …`) is also an assignment of its own: one report a place.
  const seen = new Set<TypeScript.Node>();
  const add = (node: TypeScript.Node, what: string): void => {
    if (seen.has(node)) return;
    seen.add(node);
    found.push({ node, what });
  };
  /** The places an assignment's left side writes (a destructuring assignment writes each of its targets). */
  const targets = (left: TypeScript.Expression, node: TypeScript.Node, what: (target: TypeScript.Expression) => string): void => {
    const x = unwrap(left);
    if (ts.isArrayLiteralExpression(x)) {
      for (const el of x.elements) targets(ts.isSpreadElement(el) ? el.expression : el, el, what);
    } else if (ts.isObjectLiteralExpression(x)) {
      for (const p of x.properties) {
        if (ts.isPropertyAssignment(p)) targets(p.initializer, p.initializer, what);
        else if (ts.isSpreadAssignment(p)) targets(p.expression, p.expression, what);
      }
    } else if (ts.isBinaryExpression(x) && x.operatorToken.kind === ts.SyntaxKind.EqualsToken) {
      // A default in a destructuring target: `[r.n = 1] = …`.
      targets(x.left, x.left, what);
    } else if (inside(x)) {
      add(x, what(x));
    }
  };

  const visit = (node: TypeScript.Node): void => {
    if (ts.isBinaryExpression(node) && node.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && node.operatorToken.kind <= ts.SyntaxKind.LastAssignment) {
      const op = node.operatorToken.getText(file);
      targets(node.left, node, (t) => `${short(t)} ${op} …`);
    } else if ((ts.isPrefixUnaryExpression(node) || ts.isPostfixUnaryExpression(node)) && (node.operator === ts.SyntaxKind.PlusPlusToken || node.operator === ts.SyntaxKind.MinusMinusToken)) {
      if (inside(node.operand)) add(node, short(node));
    } else if (ts.isDeleteExpression(node)) {
      if (inside(node.expression)) add(node, short(node));
    } else if ((ts.isForOfStatement(node) || ts.isForInStatement(node)) && !ts.isVariableDeclarationList(node.initializer)) {
      targets(node.initializer, node, (t) => `for (${short(t)} ${ts.isForOfStatement(node) ? 'of' : 'in'} …)`);
    } else if (ts.isCallExpression(node)) {
      const callee = unwrap(node.expression);
      const method = ts.isPropertyAccessExpression(callee) ? callee.name.text : ts.isElementAccessExpression(callee) && ts.isStringLiteralLike(callee.argumentExpression) ? callee.argumentExpression.text : undefined;
      if (method !== undefined && (ts.isPropertyAccessExpression(callee) || ts.isElementAccessExpression(callee))) {
        const receiver = unwrap(callee.expression);
        const global = ts.isIdentifier(receiver) && MUTATING_GLOBALS.get(receiver.text)?.has(method) && isGlobal(receiver) ? receiver.text : undefined;
        if (global !== undefined) {
          if (node.arguments[0] && reached(node.arguments[0])) add(node, `${global}.${method}(${short(node.arguments[0])}, …)`);
        } else if (MUTATING_METHODS.has(method) && reached(receiver)) {
          add(node, `${short(callee.expression)}.${method}(…)`);
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  /** The global `Object` or `Reflect`, not a local of that name. */
  const isGlobal = (e: TypeScript.Identifier): boolean => {
    const declarations = checker.getSymbolAtLocation(e)?.declarations ?? [];
    return declarations.every((d) => d.getSourceFile().isDeclarationFile);
  };
  visit(fn.body);
  return found;
}

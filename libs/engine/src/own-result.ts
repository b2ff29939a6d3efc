/**
 * What a native `map`, `filter-map` or `flat-map` returned, taken as a value of the record's own:
 * a plain object is copied, field by field as it is, into an object the engine makes; anything
 * else is taken as it is.
 *
 * The value the step was given, or one of its fields (a plain object's), is the record's own
 * already: taken as it is.
 *
 * Why a copy:
 * - A function may return one object it keeps and fills again at its next call. The records of
 *   a batch are written out after the whole batch ran (the host's outputs, and the guest's, which
 *   runs this same chain), so every record of the batch went out with the last call's fields.
 *   Copied when it returns, each record keeps what its call returned.
 * - V8 decides where a literal's objects are made from the first of them it sees at a collection
 *   ("allocation-site pretenuring"). A batch holds every record's result until it is written out,
 *   so a collection during a unit's first batch finds all the function's objects so far alive,
 *   and V8 makes every later one in the old generation for the rest of the run: car-sensors'
 *   `to-car-event` made its 600 000 results a run there (~40 MB of old-generation garbage, fresh
 *   pages faulted in by the kernel: 7 000–10 000 page faults a run). Copied, the function's own
 *   object dies at once, and the copy is made by `new`, which V8 (Node 20) does not pretenure.
 *
 * The copy has the object's enumerable string keys in the same order, each the value read (a
 * getter's value), `Object.prototype` as its prototype, and nothing else: no symbol keys, no
 * property attributes (a frozen result is copied unfrozen) — what any topic would carry of it.
 * Values inside it (nested objects, lists) are shared, not copied. An object of more than 64
 * keys, or one of more shapes than are kept, is copied by spreading it.
 */

/** How many shapes (key lists) get a constructor of their own; others are copied by spreading. */
const MAX_SHAPES = 512;
/** The most keys a shape's generated constructor takes; larger objects are copied by spreading. */
const MAX_KEYS = 64;

const MISS = Symbol('miss');
type ShapeCopy = (v: object) => object | typeof MISS;

/**
 * Each shape's copier by its keys joined with NUL. Two key lists that join alike (a key holding
 * NUL) share a copier, whose key check then misses for one of them: a spread's copy.
 */
const shapes = new Map<string, ShapeCopy>();
let codeFromStrings = true;

/** Takes a step's result as a value of the record's own (see the top of this file). */
export type ResultOwner = (result: unknown, given: unknown) => unknown;

/**
 * An owner for one step's results: it tries the shape that step returned last first. One per
 * step, not one for the process: a unit whose chain has two maps of different shapes would
 * otherwise miss at every record and look the shape up by its keys (~170 against ~30 ns a result).
 */
export function resultOwner(): ResultOwner {
  let lastShape: ShapeCopy | undefined;
  return (result, given) => {
    if (typeof result !== 'object' || result === null || Object.getPrototypeOf(result) !== Object.prototype) return result;
    if (isOwnPart(result, given)) return result;
    // A step mostly returns one shape: its copier is tried first.
    if (lastShape !== undefined) {
      const copy = lastShape(result);
      if (copy !== MISS) return copy;
    }
    const shape = shapeOf(result);
    const copy = shape === undefined ? MISS : shape(result);
    // Over 64 keys, more shapes than are kept, or an inherited enumerable key: a spread's copy.
    if (copy === MISS) return { ...result };
    lastShape = shape;
    return copy;
  };
}

/** The owner of the interpreter's steps (the reference chain, and code from strings refused). */
export const ownResult: ResultOwner = resultOwner();

/**
 * Whether `result` is the value the step was given, or one of its fields (a variant's payload,
 * `event.bid`): the record's own already, never a function's object kept across calls — and
 * the host passes such a value on as the bytes it was read from when it is unchanged
 * (`ValueCodec.asRead`), which asks for that very object.
 */
function isOwnPart(result: object, given: unknown): boolean {
  if (result === given) return true;
  // A plain object's fields only (a list's items are not looked through).
  if (typeof given !== 'object' || given === null || Object.getPrototypeOf(given) !== Object.prototype) return false;
  for (const k in given) if ((given as Record<string, unknown>)[k] === result) return true;
  return false;
}

function shapeOf(v: object): ShapeCopy | undefined {
  // In the order the object lists them (integer keys first): the copy lists them so too.
  const names = Object.keys(v);
  if (names.length > MAX_KEYS || names.includes('__proto__')) return undefined;
  const id = names.join('\u0000');
  let shape = shapes.get(id);
  if (shape === undefined) {
    if (shapes.size >= MAX_SHAPES || !codeFromStrings) return undefined;
    try {
      shape = shapeCopy(names);
    } catch (error) {
      // Making code from strings is refused here (a WebAssembly guest, a CSP): spread copies.
      if ((error as Error | undefined)?.name !== 'EvalError') throw error;
      codeFromStrings = false;
      return undefined;
    }
    shapes.set(id, shape);
  }
  return shape;
}

/**
 * A generated copier for objects whose keys are exactly `names` in order (else `MISS`): the
 * keys are compared against constants, and the copy is made by a constructor of its own whose
 * prototype is `Object.prototype`. The names come from the object: written as JSON string
 * literals, they are only ever keys.
 */
function shapeCopy(names: readonly string[]): ShapeCopy {
  const key = (n: string) => JSON.stringify(n);
  const Make = new Function(...names.map((_n, i) => `p${i}`), names.map((n, i) => `this[${key(n)}] = p${i};`).join('\n')) as new (...values: unknown[]) => object;
  Make.prototype = Object.prototype;
  // V8 keeps a field that has only held numbers unboxed, a box per object for each (a time, a
  // price): one object holding null in every field first makes them hold any value, so a copy
  // shares the numbers it reads (as the codec's copiers do).
  new Make(...names.map(() => null));
  const cases = names.map((n, i) => `case ${i}: if (k !== ${key(n)}) return MISS; break;`).join('\n      ');
  const source = `return function copyShape(v) {
    let i = 0;
    for (const k in v) {
      switch (i) {
      ${cases}
      default: return MISS;
      }
      i++;
    }
    if (i !== ${names.length}) return MISS;
    return new Make(${names.map((n) => `v[${key(n)}]`).join(', ')});
  };`;
  return new Function('MISS', 'Make', source)(MISS, Make) as ShapeCopy;
}

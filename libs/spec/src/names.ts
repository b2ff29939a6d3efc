/**
 * Case conversions between the spellings a name takes on its way through ssdk: kebab-case in
 * the services file and operator ids, camelCase for TypeScript functions, snake_case for Rust
 * functions in Fluvio files, PascalCase for generated type names.
 */

/** Splits `filterSentence`, `filter_sentence`, `filter-sentence` and `HTTPServer` into lowercase words. */
function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter((word) => word.length > 0)
    .map((word) => word.toLowerCase());
}

const capitalize = (word: string): string => word.charAt(0).toUpperCase() + word.slice(1);

/** `filterSentence` → `filter-sentence` */
export function kebabCase(name: string): string {
  return words(name).join('-');
}

/** `filter-sentence` → `filter_sentence` */
export function snakeCase(name: string): string {
  return words(name).join('_');
}

/** `filter-sentence` → `filterSentence` */
export function camelCase(name: string): string {
  const [first = '', ...rest] = words(name);
  return first + rest.map(capitalize).join('');
}

/** `car-location` → `CarLocation` */
export function pascalCase(name: string): string {
  return words(name).map(capitalize).join('');
}

/** regexpu-core ships no types: the one function ssdk calls. */
declare module 'regexpu-core' {
  export default function rewritePattern(pattern: string, flags: string, options: { unicodePropertyEscapes?: 'transform' }): string;
}

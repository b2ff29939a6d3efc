// Guest stack traces -> original TypeScript lines, through the esbuild source map of the bundle.
import { prepareComponent, hostImports } from '../host/wasm-host.mjs';
import { encodeInput, decodeOutput } from '../build/frame.native.mjs';
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';
import { readFileSync } from 'node:fs';
const te = new TextEncoder();
const frame = encodeInput([{ key: null, value: te.encode(JSON.stringify({ id: 7, op: 'throw' })), timestamp: 0, headers: [] }]);

export function mapStack(stack, maps) {
  // StarlingMonkey: "fn@build/risky.sm.js:257:11"; QuickJS: "at fn (/build/risky.qjs.js:263:34)"
  return stack.replace(/([\w./-]*?([\w-]+\.(?:sm|qjs)\.js)):(\d+):(\d+)/g, (m, path, file, line, col) => {
    const map = maps[file];
    if (!map) return m;
    const p = originalPositionFor(map, { line: +line, column: +col - 1 });
    return p.source ? `${p.source.replace(/^(\.\.\/)+/, '')}:${p.line}:${p.column + 1}` : m;
  });
}
for (const be of ['sm', 'qjs']) {
  const file = `risky.${be}.js`;
  const maps = { [file]: new TraceMap(readFileSync(`build/${file}.map`, 'utf8')) };
  const inst = (await prepareComponent(readFileSync(`build/risky.${be}.wasm`))).instantiate(hostImports());
  const { errors } = decodeOutput(inst.process(frame));
  console.log(`--- ${be} raw:\n${errors[0].message}\n--- ${be} mapped:\n${mapStack(errors[0].message, maps)}`);
}

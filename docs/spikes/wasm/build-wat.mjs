// Non-JS guest: WAT -> core module (parse) -> + WIT (embed) -> component (new), all in-process
// through jco-transpile's wasm-tools (same as `jco parse`, `jco embed`, `jco new`).
import { parse, componentEmbed, componentNew } from '@bytecodealliance/jco-transpile/wasm-tools';
import { readFileSync, writeFileSync } from 'node:fs';

const COPY = `(i32.store (local.get $o) (local.get $i))
        (memory.copy (i32.add (local.get $o) (i32.const 4)) (local.get $start) (i32.sub (local.get $p) (local.get $start)))
        (local.set $q (i32.add (i32.add (local.get $o) (i32.const 4)) (i32.sub (local.get $vs) (local.get $start))))
        (local.set $o (i32.add (i32.add (local.get $o) (i32.const 4)) (i32.sub (local.get $p) (local.get $start))))
        (local.set $cnt (i32.add (local.get $cnt) (i32.const 1)))`;
const T = {
  // keep records whose value does not start with '#'
  filter: `(if (i32.or (i32.eqz (local.get $vl)) (i32.ne (i32.load8_u (local.get $vs)) (i32.const 35)))
      (then ${COPY}))`,
  // upper-case ASCII letters of the value
  map: `${COPY}
      (local.set $k (i32.const 0))
      (block $ud (loop $ul
        (br_if $ud (i32.ge_u (local.get $k) (local.get $vl)))
        (local.set $c (i32.load8_u (i32.add (local.get $q) (local.get $k))))
        (if (i32.lt_u (i32.sub (local.get $c) (i32.const 97)) (i32.const 26))
          (then (i32.store8 (i32.add (local.get $q) (local.get $k)) (i32.sub (local.get $c) (i32.const 32)))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $ul)))`,
};
const wit = readFileSync('wit/chain.wit', 'utf8');
for (const [name, body] of Object.entries(T)) {
  const t0 = performance.now();
  const wat = readFileSync('wat/template.wat', 'utf8').replace(';;TRANSFORM', body);
  writeFileSync(`build/wat-${name}.wat`, wat);
  const core = await parse(wat);
  const embedded = await componentEmbed({ binary: core, witSource: wit, world: 'chain' });
  const component = await componentNew(embedded);
  writeFileSync(`build/wat-${name}.wasm`, component);
  console.log(name, { core: core.length, component: component.length, ms: +(performance.now() - t0).toFixed(1) });
}

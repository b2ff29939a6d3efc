;; drop-comments: a filter written in WebAssembly text, no JavaScript. It implements the
;; `ssdk:dataflow/chain` world by hand with the canonical ABI (memory, cabi_realloc,
;; process(ptr, len) -> retptr, cabi_post_process) and reads "ssdk batch v1" frames: for each
;; record it finds the value's JSON text through the frame's table and keeps it unless it is a
;; string starting with `#`. A string starting with `!` hits `unreachable` (a trap), which the
;; host turns into that one record's dead letter.
;;
;; Built into drop-comments.wasm by `npx tsx tools/build-wat.ts examples/wat-filter/functions/drop-comments.wat`.
(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))

  ;; A bump allocator; everything is freed after each call (cabi_post_process).
  (func $realloc (export "cabi_realloc") (param $old i32) (param $oldsz i32) (param $align i32) (param $size i32) (result i32)
    (local $ptr i32) (local $need i32) (local $have i32)
    (local.set $ptr (i32.and (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
    (local.set $need (i32.add (local.get $ptr) (local.get $size)))
    (local.set $have (i32.shl (memory.size) (i32.const 16)))
    (if (i32.gt_u (local.get $need) (local.get $have))
      (then (if (i32.eq (memory.grow (i32.add (i32.shr_u (i32.sub (local.get $need) (local.get $have)) (i32.const 16)) (i32.const 1)))
                        (i32.const -1))
              (then unreachable))))
    (global.set $heap (local.get $need))
    (if (local.get $old) (then (memory.copy (local.get $ptr) (local.get $old) (local.get $oldsz))))
    (local.get $ptr))

  (func (export "cabi_post_process") (param i32) (global.set $heap (i32.const 1024)))

  (func (export "process") (param $in i32) (param $len i32) (result i32)
    (local $n i32) (local $table i32) (local $out i32) (local $row i32) (local $i i32)
    (local $vs i32) (local $vl i32) (local $c i32) (local $kept i32) (local $end i32)
    ;; header: version 1, count, table offset
    (if (i32.ne (i32.load (local.get $in)) (i32.const 1)) (then unreachable))
    (local.set $n (i32.load offset=4 (local.get $in)))
    (local.set $table (i32.add (local.get $in) (i32.load offset=8 (local.get $in))))
    ;; the answer: 32-byte header + one 8-byte row per kept record
    (local.set $out (call $realloc (i32.const 0) (i32.const 0) (i32.const 4)
      (i32.add (i32.const 32) (i32.shl (local.get $n) (i32.const 3)))))
    (local.set $row (i32.add (local.get $out) (i32.const 32)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $vs (i32.add (local.get $in) (i32.load (local.get $table))))
      (local.set $vl (i32.load offset=4 (local.get $table)))
      ;; the first character of a JSON string value: after its opening quote
      (local.set $c (i32.const 0))
      (if (i32.and (i32.ge_u (local.get $vl) (i32.const 2)) (i32.eq (i32.load8_u (local.get $vs)) (i32.const 34)))
        (then (local.set $c (i32.load8_u offset=1 (local.get $vs)))))
      (if (i32.eq (local.get $c) (i32.const 33)) (then unreachable)) ;; '!'
      (if (i32.ne (local.get $c) (i32.const 35)) ;; not '#': keep, value unchanged
        (then
          (i32.store (local.get $row) (local.get $i))
          (i32.store offset=4 (local.get $row) (i32.const -1))
          (local.set $row (i32.add (local.get $row) (i32.const 8)))
          (local.set $kept (i32.add (local.get $kept) (i32.const 1)))))
      (local.set $table (i32.add (local.get $table) (i32.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.set $end (i32.add (i32.const 32) (i32.shl (local.get $kept) (i32.const 3))))
    (i32.store (local.get $out) (i32.const 1))                   ;; version
    (i32.store offset=4 (local.get $out) (local.get $kept))     ;; count
    (i32.store offset=8 (local.get $out) (i32.const 32))        ;; table
    (i32.store offset=12 (local.get $out) (local.get $end))     ;; values: none
    (i32.store offset=16 (local.get $out) (i32.const 0))
    (i32.store offset=20 (local.get $out) (local.get $end))     ;; meta: none
    (i32.store offset=24 (local.get $out) (i32.const 0))
    (i32.store offset=28 (local.get $out) (i32.const 0))
    (i32.store (i32.const 8) (local.get $out))
    (i32.store (i32.const 12) (local.get $end))
    (i32.const 8))
)

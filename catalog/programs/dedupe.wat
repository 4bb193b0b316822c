;; ---
;; name = "dedupe"
;; description = "The lines of the text (argument 0) without repeats: each distinct line is kept at its first occurrence, in order, and the kept lines are joined with \\n; lines are separated by \\n (a final \\n ends the last line, it does not start an empty one) and compared byte for byte, so case and spaces count"
;; tags = ["text", "lines", "data"]
;; capabilities = ["str", "arr"]
;;
;; [[params]]
;; name = "text"
;; type = "str"
;;
;; [[results]]
;; name = "unique"
;; type = "str"
;;
;; # checked: printf 'b\na\nb\nc\na\n' | awk '!seen[$0]++' | paste -sd '|' -> b|a|c
;; [[examples]]
;; args = ["b\na\nb\nc\na\n"]
;; results = ["b\na\nc"]
;;
;; # checked: python3 -c 'import sys; print(repr("\n".join(dict.fromkeys(sys.argv[1].split("\n")))))' $'café\nCafé\n\ncafé\n😀\n\n😀' -> 'café\nCafé\n\n😀'
;; [[examples]]
;; args = ["café\nCafé\n\ncafé\n😀\n\n😀"]
;; results = ["café\nCafé\n\n😀"]
;;
;; [[examples]]
;; args = [""]
;; results = [""]
;; ---
;; Kept lines go into a hash table in memory (open addressing, 8-byte slots: the line's FNV-1a
;; hash, then its str pointer, 0 for an empty slot), so each line costs one probe rather than a
;; comparison with every kept line; str.eq settles equal hashes.
(local $text str)
(local $len i32)
(local $lines i32)
(local $count i32)
(local $capacity i32)
(local $table i32)
(local $unique i32)
(local $line str)
(local $i i32)
(local $at i32)
(local $hash i32)
(local $slot i32)
(local $kept str)
(local $joined str)
(argv 0 $text)
(check $lines (call $str.split (local.get $text) "\n"))
(local.set $count (call $arr.len (local.get $lines)))
;; After a final newline the split leaves an empty piece that is no line.
(local.set $len (i32.load (local.get $text)))
(if (local.get $len)
  (then
    (if (i32.eq (i32.load8_u offset=3 (i32.add (local.get $text) (local.get $len))) (i32.const 0x0A))
      (then (local.set $count (i32.sub (local.get $count) (i32.const 1)))))))
;; A power of two at least twice the number of lines keeps the table at most half full.
(local.set $capacity (i32.const 2))
(block $sized
  (loop $grow
    (br_if $sized (i32.ge_u (local.get $capacity) (i32.shl (local.get $count) (i32.const 1))))
    (local.set $capacity (i32.shl (local.get $capacity) (i32.const 1)))
    (br $grow)))
(check $table (call $core.alloc (i32.shl (local.get $capacity) (i32.const 3))))
(memory.fill (local.get $table) (i32.const 0) (i32.shl (local.get $capacity) (i32.const 3)))
(check $unique (call $arr.new))
(block $done
  (loop $next
    (br_if $done (i32.ge_s (local.get $i) (local.get $count)))
    (check $line (call $arr.get_str (local.get $lines) (local.get $i)))
    (local.set $hash (i32.const 0x811C9DC5))
    (local.set $at (i32.const 0))
    (block $hashed
      (loop $hash_byte
        (br_if $hashed (i32.ge_u (local.get $at) (i32.load (local.get $line))))
        (local.set $hash
          (i32.mul
            (i32.xor (local.get $hash) (i32.load8_u offset=4 (i32.add (local.get $line) (local.get $at))))
            (i32.const 0x01000193)))
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (br $hash_byte)))
    ;; Probe from the hash's slot until the line or an empty slot turns up; an empty slot means
    ;; a first occurrence, which is kept.
    (local.set $slot (i32.and (local.get $hash) (i32.sub (local.get $capacity) (i32.const 1))))
    (block $probed
      (loop $probe
        (local.set $kept (i32.load offset=4 (i32.add (local.get $table) (i32.shl (local.get $slot) (i32.const 3)))))
        (if (i32.eqz (local.get $kept))
          (then
            (i32.store (i32.add (local.get $table) (i32.shl (local.get $slot) (i32.const 3))) (local.get $hash))
            (i32.store offset=4 (i32.add (local.get $table) (i32.shl (local.get $slot) (i32.const 3))) (local.get $line))
            (check (call $arr.push_str (local.get $unique) (local.get $line)))
            (br $probed)))
        (br_if $probed
          (i32.and
            (i32.eq (i32.load (i32.add (local.get $table) (i32.shl (local.get $slot) (i32.const 3)))) (local.get $hash))
            (i32.eq (call $str.eq (local.get $line) (local.get $kept)) (i32.const 1))))
        (local.set $slot (i32.and (i32.add (local.get $slot) (i32.const 1)) (i32.sub (local.get $capacity) (i32.const 1))))
        (br $probe)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $next)))
(check $joined (call $arr.join (local.get $unique) "\n"))
(resv $joined)

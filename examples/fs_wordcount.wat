;; Count the words and lines of a text file under the jail root (argument 0 is its path).
;; run: watsmith exec examples/fs_wordcount.wat poem.txt --fs-root examples/data
;; expect: 26
;; expect: 4
(local $path str)
(local $text bytes)
(local $at i32)
(local $end i32)
(local $byte i32)
(local $in_word i32)
(local $words i64)
(local $lines i64)
(argv 0 $path)
(check $text (call $fs.read (local.get $path)))
(local.set $at (i32.add (local.get $text) (i32.const 4)))
(local.set $end (i32.add (local.get $at) (i32.load (local.get $text))))
(block $done
  (loop $next
    (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
    (local.set $byte (i32.load8_u (local.get $at)))
    (if (i32.eq (local.get $byte) (i32.const 10))
      (then (local.set $lines (i64.add (local.get $lines) (i64.const 1)))))
    ;; space, tab, newline and carriage return end a word
    (if (i32.or
          (i32.or (i32.eq (local.get $byte) (i32.const 32)) (i32.eq (local.get $byte) (i32.const 9)))
          (i32.or (i32.eq (local.get $byte) (i32.const 10)) (i32.eq (local.get $byte) (i32.const 13))))
      (then (local.set $in_word (i32.const 0)))
      (else
        (if (i32.eqz (local.get $in_word))
          (then (local.set $words (i64.add (local.get $words) (i64.const 1)))))
        (local.set $in_word (i32.const 1))))
    (local.set $at (i32.add (local.get $at) (i32.const 1)))
    (br $next)))
(resv $words)
(resv $lines)

;; ---
;; name = "levenshtein"
;; description = "The Levenshtein edit distance between two texts (arguments 0 and 1): the fewest single-character insertions, deletions and substitutions that turn one into the other, counted in Unicode characters, not bytes"
;; tags = ["text", "unicode", "distance", "dynamic-programming"]
;; capabilities = ["str"]
;;
;; [[params]]
;; name = "a"
;; type = "str"
;;
;; [[params]]
;; name = "b"
;; type = "str"
;;
;; [[results]]
;; name = "distance"
;; type = "i64"
;;
;; # checked: python3 -c 'exec("def lev(a, b):\n r = list(range(len(b) + 1))\n for i, x in enumerate(a, 1):\n  d, r[0] = r[0], i\n  for j, y in enumerate(b, 1):\n   d, r[j] = r[j], min(r[j] + 1, r[j - 1] + 1, d + (x != y))\n return r[-1]"); print(lev("kitten", "sitting"))' -> 3
;; [[examples]]
;; args = ["kitten", "sitting"]
;; results = [3]
;;
;; # checked: python3 -c 'exec("def lev(a, b):\n r = list(range(len(b) + 1))\n for i, x in enumerate(a, 1):\n  d, r[0] = r[0], i\n  for j, y in enumerate(b, 1):\n   d, r[j] = r[j], min(r[j] + 1, r[j - 1] + 1, d + (x != y))\n return r[-1]"); print(lev("café😀", "cafe"))' -> 2
;; [[examples]]
;; args = ["café😀", "cafe"]
;; results = [2]
;;
;; [[examples]]
;; args = ["", "abc"]
;; results = [3]
;;
;; [[examples]]
;; args = ["same", "same"]
;; results = [0]
;; ---
;; Decode a followed by b into one array of code points (a's come first, str.chars says how
;; many), then run the classic dynamic programme over it keeping a single row of b + 1 cells.
(local $a str)
(local $b str)
(local $both str)
(local $a_chars i32)
(local $b_chars i32)
(local $chars i32)
(local $row i32)
(local $len i32)
(local $at i32)
(local $lead i32)
(local $width i32)
(local $k i32)
(local $char i32)
(local $count i32)
(local $i i32)
(local $j i32)
(local $diagonal i32)
(local $above i32)
(local $left i32)
(local $best i32)
(local $distance i64)
(argv 0 $a)
(argv 1 $b)
(local.set $a_chars (call $str.chars (local.get $a)))
(local.set $b_chars (call $str.chars (local.get $b)))
(check $both (call $str.concat (local.get $a) (local.get $b)))
(check $chars (call $core.alloc (i32.shl (i32.add (local.get $a_chars) (local.get $b_chars)) (i32.const 2))))
(local.set $len (i32.load (local.get $both)))
(block $decoded_all
  (loop $next_char
    (br_if $decoded_all (i32.ge_u (local.get $at) (local.get $len)))
    (local.set $lead (i32.load8_u offset=4 (i32.add (local.get $both) (local.get $at))))
    (local.set $width
      (if (result i32) (i32.lt_u (local.get $lead) (i32.const 0x80))
        (then (i32.const 1))
        (else (if (result i32) (i32.lt_u (local.get $lead) (i32.const 0xE0))
          (then (i32.const 2))
          (else (select (i32.const 3) (i32.const 4) (i32.lt_u (local.get $lead) (i32.const 0xF0))))))))
    ;; A lead byte of a W-byte sequence carries 7 - W payload bits, each continuation byte 6.
    (local.set $char
      (select (local.get $lead)
        (i32.and (local.get $lead) (i32.shr_u (i32.const 0x7F) (local.get $width)))
        (i32.eq (local.get $width) (i32.const 1))))
    (local.set $k (i32.const 1))
    (block $decoded
      (loop $continuation
        (br_if $decoded (i32.ge_u (local.get $k) (local.get $width)))
        (local.set $char
          (i32.or (i32.shl (local.get $char) (i32.const 6))
            (i32.and (i32.load8_u offset=4 (i32.add (local.get $both) (i32.add (local.get $at) (local.get $k))))
              (i32.const 0x3F))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $continuation)))
    (i32.store (i32.add (local.get $chars) (i32.shl (local.get $count) (i32.const 2))) (local.get $char))
    (local.set $count (i32.add (local.get $count) (i32.const 1)))
    (local.set $at (i32.add (local.get $at) (local.get $width)))
    (br $next_char)))
;; row[j] is the distance between the first i characters of a and the first j of b; for i = 0
;; it is j (j insertions).
(check $row (call $core.alloc (i32.shl (i32.add (local.get $b_chars) (i32.const 1)) (i32.const 2))))
(block $filled
  (loop $fill
    (i32.store (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2))) (local.get $j))
    (br_if $filled (i32.ge_u (local.get $j) (local.get $b_chars)))
    (local.set $j (i32.add (local.get $j) (i32.const 1)))
    (br $fill)))
(local.set $i (i32.const 1))
(block $rows_done
  (loop $next_row
    (br_if $rows_done (i32.gt_u (local.get $i) (local.get $a_chars)))
    ;; The row is rewritten in place: $diagonal keeps the previous row's cell j - 1 once it is
    ;; gone, $left is this row's cell j - 1. Cell 0 is i (i deletions).
    (local.set $diagonal (i32.load (local.get $row)))
    (local.set $left (local.get $i))
    (i32.store (local.get $row) (local.get $i))
    (local.set $j (i32.const 1))
    (block $cells_done
      (loop $next_cell
        (br_if $cells_done (i32.gt_u (local.get $j) (local.get $b_chars)))
        (local.set $above (i32.load (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2)))))
        ;; Substitute (free when the characters match), delete from a, or insert from b.
        (local.set $best
          (i32.add (local.get $diagonal)
            (i32.ne
              (i32.load (i32.add (local.get $chars) (i32.shl (i32.sub (local.get $i) (i32.const 1)) (i32.const 2))))
              (i32.load (i32.add (local.get $chars)
                (i32.shl (i32.add (local.get $a_chars) (i32.sub (local.get $j) (i32.const 1))) (i32.const 2)))))))
        (local.set $best
          (select (local.get $best) (i32.add (local.get $above) (i32.const 1))
            (i32.le_u (local.get $best) (i32.add (local.get $above) (i32.const 1)))))
        (local.set $best
          (select (local.get $best) (i32.add (local.get $left) (i32.const 1))
            (i32.le_u (local.get $best) (i32.add (local.get $left) (i32.const 1)))))
        (i32.store (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2))) (local.get $best))
        (local.set $diagonal (local.get $above))
        (local.set $left (local.get $best))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $next_cell)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $next_row)))
(local.set $distance
  (i64.extend_i32_u (i32.load (i32.add (local.get $row) (i32.shl (local.get $b_chars) (i32.const 2))))))
(resv $distance)

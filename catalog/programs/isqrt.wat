;; ---
;; name = "isqrt"
;; description = "The integer square root floor(sqrt(n)) of a non-negative integer, exact for every i64; EBOUND for n < 0"
;; tags = ["arithmetic", "roots"]
;; capabilities = []
;;
;; [[params]]
;; name = "n"
;; type = "i64"
;; description = "a non-negative integer"
;;
;; [[results]]
;; name = "root"
;; type = "i64"
;; description = "the largest r with r * r <= n"
;;
;; [[examples]]
;; args = [0]
;; results = [0]
;;
;; [[examples]]
;; args = [15]
;; results = [3]
;;
;; [[examples]]
;; args = [16]
;; results = [4]
;;
;; # checked: python3 -c 'import math; print(math.isqrt(9223372030926249000))' -> 3037000498
;; [[examples]]
;; args = [9223372030926249000]
;; results = [3037000498]
;;
;; # checked: python3 -c 'import math; print(math.isqrt(2**63 - 1))' -> 3037000499
;; [[examples]]
;; args = [9223372036854775807]
;; results = [3037000499]
;; ---
;; The f64 square root is within one of the answer (n is rounded to 53 bits first), so it is
;; corrected with exact integer squares. Every candidate is at most 3037000500, whose square
;; still fits an unsigned 64-bit product.
(local $n i64)
(local $root i64)
(argv 0 $n)
(if (i64.lt_s (local.get $n) (i64.const 0))
  (then (return (i32.const 5))))
(local.set $root (i64.trunc_f64_u (f64.sqrt (f64.convert_i64_s (local.get $n)))))
(block $not_above
  (loop $lower
    (br_if $not_above (i64.le_u (i64.mul (local.get $root) (local.get $root)) (local.get $n)))
    (local.set $root (i64.sub (local.get $root) (i64.const 1)))
    (br $lower)))
(block $not_below
  (loop $raise
    (br_if $not_below
      (i64.gt_u (i64.mul (i64.add (local.get $root) (i64.const 1)) (i64.add (local.get $root) (i64.const 1)))
                (local.get $n)))
    (local.set $root (i64.add (local.get $root) (i64.const 1)))
    (br $raise)))
(resv $root)

;; ---
;; name = "gcd"
;; description = "The greatest common divisor of two integers (Euclid's algorithm), always non-negative; gcd(0, 0) is 0; EBOUND when the answer is 2^63 (both arguments in {0, -2^63})"
;; tags = ["number-theory", "arithmetic"]
;; capabilities = []
;;
;; [[params]]
;; name = "a"
;; type = "i64"
;;
;; [[params]]
;; name = "b"
;; type = "i64"
;;
;; [[results]]
;; name = "gcd"
;; type = "i64"
;; description = "the largest integer dividing both a and b (0 when both are 0)"
;;
;; # checked: python3 -c 'import math; print(math.gcd(12, 18))' -> 6
;; [[examples]]
;; args = [12, 18]
;; results = [6]
;;
;; [[examples]]
;; args = [-4, 0]
;; results = [4]
;;
;; [[examples]]
;; args = [0, 0]
;; results = [0]
;;
;; # checked: python3 -c 'import math; print(math.gcd(-9223372036854775808, 6))' -> 2
;; [[examples]]
;; args = [-9223372036854775808, 6]
;; results = [2]
;; ---
;; Euclid on the absolute values, read as unsigned so that |-2^63| = 2^63 still works.
(local $a i64)
(local $b i64)
(local $r i64)
(argv 0 $a)
(argv 1 $b)
(if (i64.lt_s (local.get $a) (i64.const 0))
  (then (local.set $a (i64.sub (i64.const 0) (local.get $a)))))
(if (i64.lt_s (local.get $b) (i64.const 0))
  (then (local.set $b (i64.sub (i64.const 0) (local.get $b)))))
(block $done
  (loop $step
    (br_if $done (i64.eqz (local.get $b)))
    (local.set $r (i64.rem_u (local.get $a) (local.get $b)))
    (local.set $a (local.get $b))
    (local.set $b (local.get $r))
    (br $step)))
;; Only 2^63 itself is still negative as a signed i64: it does not fit the result.
(if (i64.lt_s (local.get $a) (i64.const 0))
  (then (return (i32.const 5))))
(resv $a)

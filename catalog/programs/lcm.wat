;; ---
;; name = "lcm"
;; description = "The least common multiple of two integers, always non-negative; lcm(a, 0) is 0; EBOUND when it does not fit an i64"
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
;; name = "lcm"
;; type = "i64"
;; description = "the smallest non-negative integer that both a and b divide"
;;
;; # checked: python3 -c 'import math; print(math.lcm(4, 6))' -> 12
;; [[examples]]
;; args = [4, 6]
;; results = [12]
;;
;; [[examples]]
;; args = [-21, 6]
;; results = [42]
;;
;; [[examples]]
;; args = [0, 5]
;; results = [0]
;;
;; # checked: python3 -c 'import math; print(math.lcm(4294967296, 2147483647))' -> 9223372032559808512
;; [[examples]]
;; args = [4294967296, 2147483647]
;; results = [9223372032559808512]
;; ---
;; |a| / gcd(a, b) * |b|, dividing first so that only a result too big can overflow.
(local $a i64)
(local $b i64)
(local $x i64)
(local $y i64)
(local $r i64)
(local $quotient i64)
(local $lcm i64)
(argv 0 $a)
(argv 1 $b)
;; Absolute values, read as unsigned from here on so that |-2^63| = 2^63 is exact.
(if (i64.lt_s (local.get $a) (i64.const 0))
  (then (local.set $a (i64.sub (i64.const 0) (local.get $a)))))
(if (i64.lt_s (local.get $b) (i64.const 0))
  (then (local.set $b (i64.sub (i64.const 0) (local.get $b)))))
;; A multiple of 0 is 0 (as math.lcm has it); $lcm starts at 0.
(if (i32.or (i64.eqz (local.get $a)) (i64.eqz (local.get $b)))
  (then (resv $lcm) (br $body)))
;; Euclid for gcd(a, b), left in $x.
(local.set $x (local.get $a))
(local.set $y (local.get $b))
(block $done
  (loop $step
    (br_if $done (i64.eqz (local.get $y)))
    (local.set $r (i64.rem_u (local.get $x) (local.get $y)))
    (local.set $x (local.get $y))
    (local.set $y (local.get $r))
    (br $step)))
(local.set $quotient (i64.div_u (local.get $a) (local.get $x)))
;; quotient * b fits a signed i64 only if b <= (2^63 - 1) / quotient.
(if (i64.gt_u (local.get $b) (i64.div_u (i64.const 0x7fff_ffff_ffff_ffff) (local.get $quotient)))
  (then (return (i32.const 5))))
(local.set $lcm (i64.mul (local.get $quotient) (local.get $b)))
(resv $lcm)

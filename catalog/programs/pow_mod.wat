;; ---
;; name = "pow_mod"
;; description = "Modular exponentiation base^exp mod m for any i64 base, exp >= 0 and m >= 1 (exact for every such m: products are reduced by doubling, never overflow); the result is in [0, m); EBOUND for exp < 0 or m < 1"
;; tags = ["number-theory", "arithmetic", "modular"]
;; capabilities = []
;;
;; [[params]]
;; name = "base"
;; type = "i64"
;;
;; [[params]]
;; name = "exp"
;; type = "i64"
;; description = "the exponent, >= 0"
;;
;; [[params]]
;; name = "m"
;; type = "i64"
;; description = "the modulus, >= 1"
;;
;; [[results]]
;; name = "power"
;; type = "i64"
;; description = "base^exp mod m, in [0, m)"
;;
;; # checked: python3 -c 'print(pow(4, 13, 497))' -> 445
;; [[examples]]
;; args = [4, 13, 497]
;; results = [445]
;;
;; [[examples]]
;; args = [7, 0, 13]
;; results = [1]
;;
;; [[examples]]
;; args = [5, 0, 1]
;; results = [0]
;;
;; # checked: python3 -c 'print(pow(-3, 5, 7))' -> 2
;; [[examples]]
;; args = [-3, 5, 7]
;; results = [2]
;;
;; # checked: python3 -c 'print(pow(123456789123456789, 987654321987654321, 9223372036854775783))' -> 4239613290069329254
;; [[examples]]
;; args = [123456789123456789, 987654321987654321, 9223372036854775783]
;; results = [4239613290069329254]
;; ---
;; Left-to-right square-and-multiply, written with a single modular multiplication: each step
;; either squares the power (taking in the next bit of exp) or, when that bit is 1, multiplies
;; it by the base.
(local $base i64)
(local $exp i64)
(local $m i64)
(local $power i64)
(local $factor i64)
(local $product i64)
(local $bit i32)
(local $k i32)
(local $multiply_next i32)
(argv 0 $base)
(argv 1 $exp)
(argv 2 $m)
(if (i32.or (i64.lt_s (local.get $exp) (i64.const 0)) (i64.lt_s (local.get $m) (i64.const 1)))
  (then (return (i32.const 5))))
;; The base in [0, m), whatever its sign.
(local.set $base (i64.rem_s (local.get $base) (local.get $m)))
(if (i64.lt_s (local.get $base) (i64.const 0))
  (then (local.set $base (i64.add (local.get $base) (local.get $m)))))
;; 1 mod m, which is 0 when m is 1.
(local.set $power (i64.rem_u (i64.const 1) (local.get $m)))
;; The highest set bit of exp (-1 when exp is 0: no steps).
(local.set $bit (i32.sub (i32.const 63) (i32.wrap_i64 (i64.clz (local.get $exp)))))
(block $done
  (loop $step
    (if (local.get $multiply_next)
      (then
        (local.set $factor (local.get $base))
        (local.set $multiply_next (i32.const 0)))
      (else
        (br_if $done (i32.lt_s (local.get $bit) (i32.const 0)))
        (local.set $factor (local.get $power))
        (local.set $multiply_next
          (i32.wrap_i64 (i64.and (i64.shr_u (local.get $exp) (i64.extend_i32_u (local.get $bit))) (i64.const 1))))
        (local.set $bit (i32.sub (local.get $bit) (i32.const 1)))))
    ;; power = power * factor mod m. Both are below m < 2^63.
    (if (i64.le_u (local.get $m) (i64.const 0x1_0000_0000))
      (then
        ;; Both below 2^32: the product fits 64 bits.
        (local.set $product (i64.rem_u (i64.mul (local.get $power) (local.get $factor)) (local.get $m))))
      (else
        ;; Doubling over the bits of factor from the top; every sum stays below 2m < 2^64.
        (local.set $product (i64.const 0))
        (local.set $k (i32.sub (i32.const 63) (i32.wrap_i64 (i64.clz (local.get $factor)))))
        (block $reduced
          (loop $double
            (br_if $reduced (i32.lt_s (local.get $k) (i32.const 0)))
            (local.set $product (i64.shl (local.get $product) (i64.const 1)))
            (if (i64.ge_u (local.get $product) (local.get $m))
              (then (local.set $product (i64.sub (local.get $product) (local.get $m)))))
            (if (i32.wrap_i64 (i64.and (i64.shr_u (local.get $factor) (i64.extend_i32_u (local.get $k))) (i64.const 1)))
              (then
                (local.set $product (i64.add (local.get $product) (local.get $power)))
                (if (i64.ge_u (local.get $product) (local.get $m))
                  (then (local.set $product (i64.sub (local.get $product) (local.get $m)))))))
            (local.set $k (i32.sub (local.get $k) (i32.const 1)))
            (br $double)))))
    (local.set $power (local.get $product))
    (br $step)))
(resv $power)

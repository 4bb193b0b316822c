;; ---
;; name = "is_prime"
;; description = "Whether an integer is prime: 1 or 0 (numbers below 2 are not); exact for every i64 (deterministic Miller-Rabin with the first twelve primes as witnesses)"
;; tags = ["number-theory", "primes"]
;; capabilities = []
;;
;; [[params]]
;; name = "n"
;; type = "i64"
;;
;; [[results]]
;; name = "prime"
;; type = "i32"
;; description = "1 if n is prime, else 0"
;;
;; # checked: python3 -c 'import math; n = 97; print(int(all(n % d for d in range(2, math.isqrt(n) + 1))))' -> 1
;; [[examples]]
;; args = [97]
;; results = [1]
;;
;; [[examples]]
;; args = [1]
;; results = [0]
;;
;; [[examples]]
;; args = [-7]
;; results = [0]
;;
;; [[examples]]
;; args = [2]
;; results = [1]
;;
;; # checked: python3 -c 'import math; n = 3215031751; print(int(all(n % d for d in range(2, math.isqrt(n) + 1))))' -> 0
;; [[examples]]
;; args = [3215031751]
;; results = [0]
;;
;; [[examples]]
;; args = [2305843009213693951]
;; results = [1]
;;
;; # checked: factor 9223372036854775783 | awk '{print (NF == 2)}' -> 1
;; [[examples]]
;; args = [9223372036854775783]
;; results = [1]
;; ---
;; Trial division by the witnesses first (which also settles every n up to 37), then one
;; Miller-Rabin round per witness: with the primes 2..37 as witnesses the test has no
;; pseudoprimes below 3.3 * 10^24, so it is exact for every i64.
(local $n i64)
(local $prime i32)
(local $witnesses str)
(local $w i32)
(local $witness i64)
(local $m i64)
(local $s i32)
(local $power i64)
(local $factor i64)
(local $product i64)
(local $bit i32)
(local $k i32)
(local $multiply_next i32)
(argv 0 $n)
(local.set $witnesses "\02\03\05\07\0b\0d\11\13\17\1d\1f\25")
(if (i64.lt_s (local.get $n) (i64.const 2))
  (then (resv $prime) (br $body)))
(block $no_small_factor
  (loop $next_small
    (br_if $no_small_factor (i32.ge_u (local.get $w) (i32.load (local.get $witnesses))))
    (local.set $witness (i64.load8_u offset=4 (i32.add (local.get $witnesses) (local.get $w))))
    (if (i64.eqz (i64.rem_u (local.get $n) (local.get $witness)))
      (then
        (local.set $prime (i64.eq (local.get $n) (local.get $witness)))
        (resv $prime)
        (br $body)))
    (local.set $w (i32.add (local.get $w) (i32.const 1)))
    (br $next_small)))
;; n - 1 = d * 2^s with d odd.
(local.set $m (i64.sub (local.get $n) (i64.const 1)))
(local.set $s (i32.wrap_i64 (i64.ctz (local.get $m))))
(local.set $w (i32.const 0))
(block $all_passed
  (loop $next_witness
    (br_if $all_passed (i32.ge_u (local.get $w) (i32.load (local.get $witnesses))))
    (local.set $witness (i64.load8_u offset=4 (i32.add (local.get $witnesses) (local.get $w))))
    ;; witness^(n-1) mod n, left to right, one modular multiplication per step (squaring in the
    ;; next bit of n-1, or multiplying by the witness when that bit is 1). Once the bits left are
    ;; the s trailing zeros, the power is witness^(d * 2^j): n passes if it is n-1 for some j, or
    ;; 1 for j = 0; reaching the end without either proves n composite.
    (local.set $power (i64.const 1))
    (local.set $bit (i32.sub (i32.const 63) (i32.wrap_i64 (i64.clz (local.get $m)))))
    (local.set $multiply_next (i32.const 0))
    (block $passed
      (loop $step
        (if (local.get $multiply_next)
          (then
            (local.set $factor (local.get $witness))
            (local.set $multiply_next (i32.const 0)))
          (else
            (if (i32.lt_s (local.get $bit) (i32.const 0))
              (then
                (resv $prime)
                (br $body)))
            (local.set $factor (local.get $power))
            (local.set $multiply_next
              (i32.wrap_i64 (i64.and (i64.shr_u (local.get $m) (i64.extend_i32_u (local.get $bit))) (i64.const 1))))
            (local.set $bit (i32.sub (local.get $bit) (i32.const 1)))))
        ;; power = power * factor mod n. Both are below n < 2^63.
        (if (i64.le_u (local.get $n) (i64.const 0x1_0000_0000))
          (then
            ;; Both below 2^32: the product fits 64 bits.
            (local.set $product (i64.rem_u (i64.mul (local.get $power) (local.get $factor)) (local.get $n))))
          (else
            ;; Doubling over the bits of factor from the top; every sum stays below 2n < 2^64.
            (local.set $product (i64.const 0))
            (local.set $k (i32.sub (i32.const 63) (i32.wrap_i64 (i64.clz (local.get $factor)))))
            (block $reduced
              (loop $double
                (br_if $reduced (i32.lt_s (local.get $k) (i32.const 0)))
                (local.set $product (i64.shl (local.get $product) (i64.const 1)))
                (if (i64.ge_u (local.get $product) (local.get $n))
                  (then (local.set $product (i64.sub (local.get $product) (local.get $n)))))
                (if (i32.wrap_i64 (i64.and (i64.shr_u (local.get $factor) (i64.extend_i32_u (local.get $k))) (i64.const 1)))
                  (then
                    (local.set $product (i64.add (local.get $product) (local.get $power)))
                    (if (i64.ge_u (local.get $product) (local.get $n))
                      (then (local.set $product (i64.sub (local.get $product) (local.get $n)))))))
                (local.set $k (i32.sub (local.get $k) (i32.const 1)))
                (br $double)))))
        (local.set $power (local.get $product))
        ;; A bit position is complete once no multiplication is pending; bit + 1 is that position.
        (if (i32.and (i32.eqz (local.get $multiply_next))
                     (i32.le_s (i32.add (local.get $bit) (i32.const 1)) (local.get $s)))
          (then
            (br_if $passed (i64.eq (local.get $power) (local.get $m)))
            (br_if $passed (i32.and (i32.eq (i32.add (local.get $bit) (i32.const 1)) (local.get $s))
                                    (i64.eq (local.get $power) (i64.const 1))))))
        (br $step)))
    (local.set $w (i32.add (local.get $w) (i32.const 1)))
    (br $next_witness)))
(local.set $prime (i32.const 1))
(resv $prime)

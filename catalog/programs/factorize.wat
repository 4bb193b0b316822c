;; ---
;; name = "factorize"
;; description = "The prime factorization of an integer n >= 1 as text: primes ascending, joined by \" * \", repeated primes as p^k (\"2^2 * 3 * 5\"); \"1\" for 1; EBOUND for n < 1; exact for every i64 (trial division, Miller-Rabin and Pollard's rho)"
;; tags = ["number-theory", "primes", "factorization"]
;; capabilities = ["arr", "str"]
;;
;; [[params]]
;; name = "n"
;; type = "i64"
;; description = "the number to factor, >= 1"
;;
;; [[results]]
;; name = "factors"
;; type = "str"
;; description = "like \"2^3 * 3^2 * 5\""
;;
;; # checked: factor 60 -> 60: 2 2 3 5
;; [[examples]]
;; args = [60]
;; results = ["2^2 * 3 * 5"]
;;
;; [[examples]]
;; args = [1]
;; results = ["1"]
;;
;; [[examples]]
;; args = [97]
;; results = ["97"]
;;
;; # checked: factor 9223372036854775807 -> 9223372036854775807: 7 7 73 127 337 92737 649657
;; [[examples]]
;; args = [9223372036854775807]
;; results = ["7^2 * 73 * 127 * 337 * 92737 * 649657"]
;;
;; # checked: factor 9223371599672183183 -> 9223371599672183183: 3037000427 3037000429
;; [[examples]]
;; args = [9223371599672183183]
;; results = ["3037000427 * 3037000429"]
;;
;; # checked: factor 4611686014132420609 -> 4611686014132420609: 2147483647 2147483647
;; [[examples]]
;; args = [4611686014132420609]
;; results = ["2147483647^2"]
;; ---
;; Small factors (below 1000) by trial division; what is left has only large prime factors, and
;; goes into a work list: a piece that passes Miller-Rabin is a prime factor, any other is split
;; in two by Pollard's rho and both halves go back on the list. The primes are collected in an
;; array, sorted, and written out with their multiplicities.
(local $n i64)
(local $rest i64)
(local $d i64)
(local $primes i32)
(local $pending i32)
(local $next i32)
;; Miller-Rabin of the piece $m (as in is_prime)
(local $m i64)
(local $m_minus_1 i64)
(local $s i32)
(local $witnesses str)
(local $w i32)
(local $witness i64)
(local $power i64)
(local $bit i32)
(local $multiply_next i32)
;; modular multiplication by doubling (and a round counter)
(local $factor i64)
(local $product i64)
(local $k i32)
;; Pollard's rho with Brent's cycle finding, in Montgomery form
(local $m_inv i64)
(local $m0 i64)
(local $m1 i64)
(local $c i64)
(local $hare i64)
(local $tortoise i64)
(local $steps i64)
(local $lap i64)
(local $h0 i64)
(local $h1 i64)
(local $low i64)
(local $middle i64)
(local $high i64)
(local $q i64)
(local $q0 i64)
(local $q1 i64)
(local $qm_high i64)
;; Euclid's gcd, left in $y
(local $x i64)
(local $y i64)
(local $r i64)
;; the text
(local $text str)
(local $count i32)
(local $i i32)
(local $prime i64)
(local $times i64)
(local $same i64)
(local $piece str)
(argv 0 $n)
(if (i64.lt_s (local.get $n) (i64.const 1))
  (then (return (i32.const 5))))
(check $primes (call $arr.new))
(check $pending (call $arr.new))
(local.set $witnesses "\02\03\05\07\0b\0d\11\13\17\1d\1f\25")
(local.set $rest (local.get $n))
(local.set $d (i64.const 2))
(block $small_done
  (loop $small
    (br_if $small_done (i64.gt_u (i64.mul (local.get $d) (local.get $d)) (local.get $rest)))
    (br_if $small_done (i64.ge_u (local.get $d) (i64.const 1000)))
    (if (i64.eqz (i64.rem_u (local.get $rest) (local.get $d)))
      (then
        (check (call $arr.push_i64 (local.get $primes) (local.get $d)))
        (local.set $rest (i64.div_u (local.get $rest) (local.get $d)))
        (br $small)))
    ;; 2, then the odd numbers.
    (local.set $d (i64.add (local.get $d) (select (i64.const 1) (i64.const 2) (i64.eq (local.get $d) (i64.const 2)))))
    (br $small)))
(if (i64.gt_u (local.get $rest) (i64.const 1))
  (then (check (call $arr.push_i64 (local.get $pending) (local.get $rest)))))
(block $all_split
  (loop $next_piece
    (br_if $all_split (i32.ge_s (local.get $next) (call $arr.len (local.get $pending))))
    (check $m (call $arr.get_i64 (local.get $pending) (local.get $next)))
    (local.set $next (i32.add (local.get $next) (i32.const 1)))
    ;; A piece below 10^6 has no factor below 1000, so it is prime; so is one that passes Miller-Rabin.
    (block $is_composite
      (block $is_prime
        (br_if $is_prime (i64.lt_u (local.get $m) (i64.const 1_000_000)))
        ;; Miller-Rabin as in is_prime: m - 1 = d * 2^s, and for each witness the power
        ;; witness^(m-1) left to right, one modular multiplication per step.
        (local.set $m_minus_1 (i64.sub (local.get $m) (i64.const 1)))
        (local.set $s (i32.wrap_i64 (i64.ctz (local.get $m_minus_1))))
        (local.set $w (i32.const 0))
        (loop $next_witness
          (br_if $is_prime (i32.ge_u (local.get $w) (i32.load (local.get $witnesses))))
          (local.set $witness (i64.load8_u offset=4 (i32.add (local.get $witnesses) (local.get $w))))
          (local.set $power (i64.const 1))
          (local.set $bit (i32.sub (i32.const 63) (i32.wrap_i64 (i64.clz (local.get $m_minus_1)))))
          (local.set $multiply_next (i32.const 0))
          (block $passed
            (loop $step
              (if (local.get $multiply_next)
                (then
                  (local.set $factor (local.get $witness))
                  (local.set $multiply_next (i32.const 0)))
                (else
                  (br_if $is_composite (i32.lt_s (local.get $bit) (i32.const 0)))
                  (local.set $factor (local.get $power))
                  (local.set $multiply_next
                    (i32.wrap_i64 (i64.and (i64.shr_u (local.get $m_minus_1) (i64.extend_i32_u (local.get $bit))) (i64.const 1))))
                  (local.set $bit (i32.sub (local.get $bit) (i32.const 1)))))
              ;; power = power * factor mod m, by doubling: every sum stays below 2m < 2^64.
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
                  (br $double)))
              (local.set $power (local.get $product))
              ;; Within the trailing zeros of m - 1: m passes at m - 1, or at 1 right at d.
              (if (i32.and (i32.eqz (local.get $multiply_next))
                           (i32.le_s (i32.add (local.get $bit) (i32.const 1)) (local.get $s)))
                (then
                  (br_if $passed (i64.eq (local.get $power) (local.get $m_minus_1)))
                  (br_if $passed (i32.and (i32.eq (i32.add (local.get $bit) (i32.const 1)) (local.get $s))
                                          (i64.eq (local.get $power) (i64.const 1))))))
              (br $step)))
          (local.set $w (i32.add (local.get $w) (i32.const 1)))
          (br $next_witness)))
      (check (call $arr.push_i64 (local.get $primes) (local.get $m)))
      (br $next_piece))
    ;; Pollard's rho with Brent's cycle finding: the tortoise jumps to the hare after 1, 2, 4, ...
    ;; steps, and gcd(|hare - tortoise|, m) is taken at every step; a gcd equal to m means the
    ;; cycle closed without a split, so the walk starts again with the next c. It takes some 10^5
    ;; steps for two 31-bit primes, so it multiplies in Montgomery form (x*y / 2^64 mod m, some 40
    ;; instructions instead of 63 doublings): x -> x*x / 2^64 + c is as good a walk as x*x + c.
    ;; m_inv = 1/m mod 2^64 by Newton's iteration: m is its own inverse to 3 bits, each round doubles them.
    (local.set $m_inv (local.get $m))
    (local.set $k (i32.const 0))
    (loop $newton
      (local.set $m_inv (i64.mul (local.get $m_inv) (i64.sub (i64.const 2) (i64.mul (local.get $m) (local.get $m_inv)))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $newton (i32.lt_u (local.get $k) (i32.const 5))))
    (local.set $m0 (i64.and (local.get $m) (i64.const 0xffff_ffff)))
    (local.set $m1 (i64.shr_u (local.get $m) (i64.const 32)))
    (local.set $c (i64.const 0))
    (block $split
      (loop $next_c
        (local.set $c (i64.add (local.get $c) (i64.const 1)))
        (local.set $tortoise (i64.const 2))
        (local.set $hare (i64.const 2))
        (local.set $lap (i64.const 1))
        (local.set $steps (i64.const 0))
        (loop $rho_step
          (if (i64.eq (local.get $steps) (local.get $lap))
            (then
              (local.set $tortoise (local.get $hare))
              (local.set $lap (i64.shl (local.get $lap) (i64.const 1)))
              (local.set $steps (i64.const 0))))
          ;; hare * hare = high * 2^64 + low, the high half from 32-bit halves h1, h0.
          (local.set $h0 (i64.and (local.get $hare) (i64.const 0xffff_ffff)))
          (local.set $h1 (i64.shr_u (local.get $hare) (i64.const 32)))
          (local.set $low (i64.mul (local.get $hare) (local.get $hare)))
          (local.set $middle (i64.add (i64.mul (local.get $h1) (local.get $h0))
                                      (i64.shr_u (i64.mul (local.get $h0) (local.get $h0)) (i64.const 32))))
          (local.set $high (i64.add (i64.add (i64.mul (local.get $h1) (local.get $h1)) (i64.shr_u (local.get $middle) (i64.const 32)))
                                    (i64.shr_u (i64.add (i64.mul (local.get $h0) (local.get $h1)) (i64.and (local.get $middle) (i64.const 0xffff_ffff)))
                                               (i64.const 32))))
          ;; Montgomery reduction: q*m has the same low half as hare * hare, so
          ;; (hare * hare - q*m) / 2^64 = high - high(q*m), in (-m, m).
          (local.set $q (i64.mul (local.get $low) (local.get $m_inv)))
          (local.set $q0 (i64.and (local.get $q) (i64.const 0xffff_ffff)))
          (local.set $q1 (i64.shr_u (local.get $q) (i64.const 32)))
          (local.set $middle (i64.add (i64.mul (local.get $q1) (local.get $m0))
                                      (i64.shr_u (i64.mul (local.get $q0) (local.get $m0)) (i64.const 32))))
          (local.set $qm_high (i64.add (i64.add (i64.mul (local.get $q1) (local.get $m1)) (i64.shr_u (local.get $middle) (i64.const 32)))
                                       (i64.shr_u (i64.add (i64.mul (local.get $q0) (local.get $m1)) (i64.and (local.get $middle) (i64.const 0xffff_ffff)))
                                                  (i64.const 32))))
          (local.set $hare (i64.sub (local.get $high) (local.get $qm_high)))
          (if (i64.lt_u (local.get $high) (local.get $qm_high))
            (then (local.set $hare (i64.add (local.get $hare) (local.get $m)))))
          ;; + c, below 2m < 2^64.
          (local.set $hare (i64.add (local.get $hare) (local.get $c)))
          (if (i64.ge_u (local.get $hare) (local.get $m))
            (then (local.set $hare (i64.sub (local.get $hare) (local.get $m)))))
          (local.set $steps (i64.add (local.get $steps) (i64.const 1)))
          ;; gcd(|hare - tortoise|, m) by Euclid.
          (local.set $x (select
                          (i64.sub (local.get $hare) (local.get $tortoise))
                          (i64.sub (local.get $tortoise) (local.get $hare))
                          (i64.gt_u (local.get $hare) (local.get $tortoise))))
          (local.set $y (local.get $m))
          (block $gcd_done
            (loop $euclid
              (br_if $gcd_done (i64.eqz (local.get $x)))
              (local.set $r (i64.rem_u (local.get $y) (local.get $x)))
              (local.set $y (local.get $x))
              (local.set $x (local.get $r))
              (br $euclid)))
          (br_if $next_c (i64.eq (local.get $y) (local.get $m)))
          (br_if $split (i64.ne (local.get $y) (i64.const 1)))
          (br $rho_step))))
    (check (call $arr.push_i64 (local.get $pending) (local.get $y)))
    (check (call $arr.push_i64 (local.get $pending) (i64.div_u (local.get $m) (local.get $y))))
    (br $next_piece)))
(check (call $arr.sort (local.get $primes)))
;; Write the sorted primes, a run of equal ones as p^k.
(local.set $text "")
(local.set $count (call $arr.len (local.get $primes)))
(block $written
  (loop $next_prime
    (br_if $written (i32.ge_s (local.get $i) (local.get $count)))
    (check $prime (call $arr.get_i64 (local.get $primes) (local.get $i)))
    (local.set $times (i64.const 0))
    (block $run_done
      (loop $same
        (br_if $run_done (i32.ge_s (local.get $i) (local.get $count)))
        (check $same (call $arr.get_i64 (local.get $primes) (local.get $i)))
        (br_if $run_done (i64.ne (local.get $same) (local.get $prime)))
        (local.set $times (i64.add (local.get $times) (i64.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $same)))
    (if (call $str.len (local.get $text))
      (then (check $text (call $str.concat (local.get $text) " * "))))
    (check $piece (call $str.from_i64 (local.get $prime)))
    (check $text (call $str.concat (local.get $text) (local.get $piece)))
    (if (i64.gt_u (local.get $times) (i64.const 1))
      (then
        (check $piece (call $str.from_i64 (local.get $times)))
        (check $text (call $str.concat (local.get $text) "^"))
        (check $text (call $str.concat (local.get $text) (local.get $piece)))))
    (br $next_prime)))
;; The empty product: n = 1.
(if (i32.eqz (local.get $count))
  (then (local.set $text "1")))
(resv $text)

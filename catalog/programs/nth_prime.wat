;; ---
;; name = "nth_prime"
;; description = "The n-th prime, counting from nth_prime(1) = 2, by a sieve of Eratosthenes over the odd numbers up to Rosser's bound n(ln n + ln ln n); EBOUND for n < 1 or n above 3,000,000"
;; tags = ["number-theory", "primes", "sieve"]
;; capabilities = ["math"]
;;
;; [[params]]
;; name = "n"
;; type = "i64"
;; description = "the 1-based index of the prime, 1 to 3,000,000"
;;
;; [[results]]
;; name = "prime"
;; type = "i64"
;;
;; [[examples]]
;; args = [1]
;; results = [2]
;;
;; [[examples]]
;; args = [2]
;; results = [3]
;;
;; [[examples]]
;; args = [6]
;; results = [13]
;;
;; # checked: python3 -c 'print([p for p in range(2, 8000) if all(p % d for d in range(2, p))][999])' -> 7919
;; [[examples]]
;; args = [1000]
;; results = [7919]
;;
;; # checked: python3 -c 'n = 50000000; s = bytearray([1]) * n; s[:2] = b"\0\0"; [s.__setitem__(slice(p*p, n, p), bytes(len(range(p*p, n, p)))) for p in range(2, 7072) if s[p]]; import itertools; print(next(itertools.islice((i for i in range(n) if s[i]), 2999999, None)))' -> 49979687
;; [[examples]]
;; args = [3000000]
;; results = [49979687]
;; ---
;; One byte per odd number (byte i stands for 2i + 1, 1 when composite); the walk to the n-th
;; prime skips 8 bytes at a time by popcount until the word that holds it.
(local $n i64)
(local $prime i64)
(local $x f64)
(local $limit i32)
(local $size i32)
(local $sieve i32)
(local $p i32)
(local $at i32)
(local $end i32)
(local $left i32)
(local $in_word i32)
(argv 0 $n)
(if (i32.or (i64.lt_s (local.get $n) (i64.const 1)) (i64.gt_s (local.get $n) (i64.const 3_000_000)))
  (then (return (i32.const 5))))
(if (i64.eq (local.get $n) (i64.const 1))
  (then
    (local.set $prime (i64.const 2))
    (resv $prime)
    (br $body)))
;; The n-th prime is below n(ln n + ln ln n) for n >= 6 (Rosser); 12 covers p(5) = 11.
(local.set $limit (i32.const 12))
(if (i64.ge_s (local.get $n) (i64.const 6))
  (then
    (local.set $x (f64.convert_i64_s (local.get $n)))
    (local.set $limit
      (i32.add (i32.const 2)
        (i32.trunc_f64_u
          (f64.mul (local.get $x)
            (f64.add (call $math.ln (local.get $x)) (call $math.ln (call $math.ln (local.get $x))))))))))
;; The odd numbers below the limit, rounded up to whole 8-byte words of zeros.
(local.set $size (i32.shr_u (local.get $limit) (i32.const 1)))
(check $sieve (call $core.alloc (i32.and (i32.add (local.get $size) (i32.const 7)) (i32.const -8))))
(memory.fill (local.get $sieve) (i32.const 0) (i32.and (i32.add (local.get $size) (i32.const 7)) (i32.const -8)))
(local.set $end (i32.add (local.get $sieve) (local.get $size)))
;; 1 is not prime.
(i32.store8 (local.get $sieve) (i32.const 1))
(local.set $p (i32.const 3))
(block $sieved
  (loop $next_p
    (br_if $sieved (i32.ge_u (i32.mul (local.get $p) (local.get $p)) (local.get $limit)))
    (if (i32.eqz (i32.load8_u (i32.add (local.get $sieve) (i32.shr_u (local.get $p) (i32.const 1)))))
      (then
        ;; Odd multiples of p from p*p on: byte (p*p - 1) / 2, then every p bytes (2p apart).
        (local.set $at (i32.add (local.get $sieve) (i32.shr_u (i32.mul (local.get $p) (local.get $p)) (i32.const 1))))
        (block $marked
          (loop $mark
            (br_if $marked (i32.ge_u (local.get $at) (local.get $end)))
            (i32.store8 (local.get $at) (i32.const 1))
            (local.set $at (i32.add (local.get $at) (local.get $p)))
            (br $mark)))))
    (local.set $p (i32.add (local.get $p) (i32.const 2)))
    (br $next_p)))
;; The odd primes still to pass (2 is the first prime).
(local.set $left (i32.sub (i32.wrap_i64 (local.get $n)) (i32.const 1)))
(local.set $at (local.get $sieve))
(block $in_this_word
  (loop $word
    (local.set $in_word (i32.sub (i32.const 8) (i32.wrap_i64 (i64.popcnt (i64.load (local.get $at))))))
    (br_if $in_this_word (i32.ge_u (local.get $in_word) (local.get $left)))
    (local.set $left (i32.sub (local.get $left) (local.get $in_word)))
    (local.set $at (i32.add (local.get $at) (i32.const 8)))
    (br $word)))
(block $found
  (loop $byte
    (if (i32.eqz (i32.load8_u (local.get $at)))
      (then
        (local.set $left (i32.sub (local.get $left) (i32.const 1)))
        (br_if $found (i32.eqz (local.get $left)))))
    (local.set $at (i32.add (local.get $at) (i32.const 1)))
    (br $byte)))
(local.set $prime
  (i64.extend_i32_u (i32.add (i32.shl (i32.sub (local.get $at) (local.get $sieve)) (i32.const 1)) (i32.const 1))))
(resv $prime)

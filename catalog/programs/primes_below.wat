;; ---
;; name = "primes_below"
;; description = "The number of primes below n (pi(n - 1)), by a sieve of Eratosthenes over the odd numbers in linear memory; 0 for n <= 2; EBOUND for n above 50,000,000"
;; tags = ["number-theory", "primes", "sieve"]
;; capabilities = []
;;
;; [[params]]
;; name = "n"
;; type = "i64"
;; description = "the exclusive upper bound, at most 50,000,000"
;;
;; [[results]]
;; name = "count"
;; type = "i64"
;; description = "how many primes p satisfy p < n"
;;
;; # checked: python3 -c 'print(sum(all(p % d for d in range(2, p)) for p in range(2, 100)))' -> 25
;; [[examples]]
;; args = [100]
;; results = [25]
;;
;; [[examples]]
;; args = [2]
;; results = [0]
;;
;; [[examples]]
;; args = [3]
;; results = [1]
;;
;; [[examples]]
;; args = [-5]
;; results = [0]
;;
;; # checked: python3 -c 'n = 1000000; s = bytearray([1]) * n; s[:2] = b"\0\0"; [s.__setitem__(slice(p*p, n, p), bytes(len(range(p*p, n, p)))) for p in range(2, 1000) if s[p]]; print(sum(s))' -> 78498
;; [[examples]]
;; args = [1000000]
;; results = [78498]
;;
;; # checked: python3 -c 'n = 50000000; s = bytearray([1]) * n; s[:2] = b"\0\0"; [s.__setitem__(slice(p*p, n, p), bytes(len(range(p*p, n, p)))) for p in range(2, 7072) if s[p]]; print(sum(s))' -> 3001134
;; [[examples]]
;; args = [50000000]
;; results = [3001134]
;; ---
;; One byte per odd number (byte i stands for 2i + 1, 1 when composite): half the memory of a
;; full sieve, and the count is a popcount over 8 bytes at a time.
(local $n i64)
(local $count i64)
(local $size i32)
(local $sieve i32)
(local $p i32)
(local $at i32)
(local $end i32)
(local $composites i32)
(argv 0 $n)
(if (i64.gt_s (local.get $n) (i64.const 50_000_000))
  (then (return (i32.const 5))))
(if (i64.le_s (local.get $n) (i64.const 2))
  (then (resv $count) (br $body)))
;; The odd numbers below n: 1, 3, ..., the last below n.
(local.set $size (i32.wrap_i64 (i64.div_u (local.get $n) (i64.const 2))))
;; Rounded up to whole 8-byte words, the padding left 0 so that it counts as no composite.
(check $sieve (call $core.alloc (i32.and (i32.add (local.get $size) (i32.const 7)) (i32.const -8))))
(memory.fill (local.get $sieve) (i32.const 0) (i32.and (i32.add (local.get $size) (i32.const 7)) (i32.const -8)))
(local.set $end (i32.add (local.get $sieve) (local.get $size)))
;; 1 is not prime.
(i32.store8 (local.get $sieve) (i32.const 1))
(local.set $p (i32.const 3))
(block $sieved
  (loop $next_p
    (br_if $sieved (i64.ge_u (i64.mul (i64.extend_i32_u (local.get $p)) (i64.extend_i32_u (local.get $p))) (local.get $n)))
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
(local.set $at (local.get $sieve))
(block $counted
  (loop $word
    (br_if $counted (i32.ge_u (local.get $at) (local.get $end)))
    (local.set $composites
      (i32.add (local.get $composites) (i32.wrap_i64 (i64.popcnt (i64.load (local.get $at))))))
    (local.set $at (i32.add (local.get $at) (i32.const 8)))
    (br $word)))
;; 2, and the odd numbers below n that are not composite.
(local.set $count (i64.extend_i32_u (i32.sub (i32.add (i32.const 1) (local.get $size)) (local.get $composites))))
(resv $count)

;; How many primes are below n? (trial division; argument 0 is n)
;; run: watsmith exec examples/primes_below.wat 100000
;; expect: 9592
(local $n i64)
(local $i i64)
(local $d i64)
(local $count i64)
(local $prime i32)
(argv 0 $n)
(local.set $i (i64.const 2))
(block $done
  (loop $next_i
    (br_if $done (i64.ge_s (local.get $i) (local.get $n)))
    (local.set $prime (i32.const 1))
    (local.set $d (i64.const 2))
    (block $found
      (loop $next_d
        (br_if $found (i64.gt_s (i64.mul (local.get $d) (local.get $d)) (local.get $i)))
        (if (i64.eqz (i64.rem_s (local.get $i) (local.get $d)))
          (then (local.set $prime (i32.const 0)) (br $found)))
        (local.set $d (i64.add (local.get $d) (i64.const 1)))
        (br $next_d)))
    (if (local.get $prime)
      (then (local.set $count (i64.add (local.get $count) (i64.const 1)))))
    (local.set $i (i64.add (local.get $i) (i64.const 1)))
    (br $next_i)))
(call $core.log "counted the primes below n")
(resv $count)

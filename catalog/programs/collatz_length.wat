;; ---
;; name = "collatz_length"
;; description = "The number of Collatz steps (n -> n/2 if even, 3n + 1 if odd) from n >= 1 down to 1; 0 for n = 1; EBOUND for n < 1 or when the walk would pass 2^63 - 1"
;; tags = ["number-theory", "sequences"]
;; capabilities = []
;;
;; [[params]]
;; name = "n"
;; type = "i64"
;; description = "the starting number, >= 1"
;;
;; [[results]]
;; name = "steps"
;; type = "i64"
;;
;; [[examples]]
;; args = [1]
;; results = [0]
;;
;; [[examples]]
;; args = [6]
;; results = [8]
;;
;; # checked: python3 -c 'n, s = 27, 0; exec("while n > 1: n, s = (n // 2 if n % 2 == 0 else 3 * n + 1), s + 1"); print(s)' -> 111
;; [[examples]]
;; args = [27]
;; results = [111]
;;
;; # checked: python3 -c 'n, s = 9780657630, 0; exec("while n > 1: n, s = (n // 2 if n % 2 == 0 else 3 * n + 1), s + 1"); print(s)' -> 1132
;; [[examples]]
;; args = [9780657630]
;; results = [1132]
;; ---
(local $n i64)
(local $steps i64)
(argv 0 $n)
(if (i64.lt_s (local.get $n) (i64.const 1))
  (then (return (i32.const 5))))
(block $reached_one
  (loop $step
    (br_if $reached_one (i64.eq (local.get $n) (i64.const 1)))
    (if (i64.eqz (i64.and (local.get $n) (i64.const 1)))
      (then (local.set $n (i64.shr_u (local.get $n) (i64.const 1))))
      (else
        ;; 3n + 1 must fit: n <= (2^63 - 2) / 3.
        (if (i64.gt_s (local.get $n) (i64.const 3074457345618258602))
          (then (return (i32.const 5))))
        (local.set $n (i64.add (i64.mul (local.get $n) (i64.const 3)) (i64.const 1)))))
    (local.set $steps (i64.add (local.get $steps) (i64.const 1)))
    (br $step)))
(resv $steps)

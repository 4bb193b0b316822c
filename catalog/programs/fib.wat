;; ---
;; name = "fib"
;; description = "The n-th Fibonacci number, fib(0) = 0, fib(1) = 1; EBOUND for n < 0 or n > 92 (fib(93) does not fit an i64)"
;; tags = ["number-theory", "sequences"]
;; capabilities = []
;;
;; [[params]]
;; name = "n"
;; type = "i64"
;; description = "the index, 0 to 92"
;;
;; [[results]]
;; name = "fib"
;; type = "i64"
;;
;; [[examples]]
;; args = [0]
;; results = [0]
;;
;; [[examples]]
;; args = [1]
;; results = [1]
;;
;; # checked: python3 -c 'a, b = 0, 1; exec("a, b = b, a + b\n" * 10); print(a)' -> 55
;; [[examples]]
;; args = [10]
;; results = [55]
;;
;; # checked: python3 -c 'a, b = 0, 1; exec("a, b = b, a + b\n" * 92); print(a, a < 2**63 <= b)' -> 7540113804746346429 True
;; [[examples]]
;; args = [92]
;; results = [7540113804746346429]
;; ---
;; Step the pair (fib(i-1), fib(i)) from i = 1 up to n, so that the largest sum computed is
;; fib(n) itself: wasm additions wrap silently, and fib(93) would.
(local $n i64)
(local $previous i64)
(local $current i64)
(local $sum i64)
(argv 0 $n)
(if (i32.or (i64.lt_s (local.get $n) (i64.const 0)) (i64.gt_s (local.get $n) (i64.const 92)))
  (then (return (i32.const 5))))
(if (i64.eqz (local.get $n))
  (then (resv $current) (br $body)))
(local.set $current (i64.const 1))
(block $done
  (loop $step
    (br_if $done (i64.eq (local.get $n) (i64.const 1)))
    (local.set $n (i64.sub (local.get $n) (i64.const 1)))
    (local.set $sum (i64.add (local.get $previous) (local.get $current)))
    (local.set $previous (local.get $current))
    (local.set $current (local.get $sum))
    (br $step)))
(resv $current)

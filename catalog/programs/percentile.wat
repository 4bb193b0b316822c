;; ---
;; name = "percentile"
;; description = "The p-th percentile (p from 0 to 100) of a list of numbers given as one text argument, separated by commas and/or spaces, tabs or newlines (\"1, 2.5 3\"), by linear interpolation between the sorted values like numpy's default (method \"linear\", R type 7); EBOUND for an empty list or p outside [0, 100], EPARSE for a piece that is not a finite number"
;; tags = ["statistics", "parsing", "sorting"]
;; capabilities = ["str", "arr"]
;;
;; [[params]]
;; name = "numbers"
;; type = "str"
;; description = "numbers like \"1, 2.5 3\" or \"-4e2,7\""
;;
;; [[params]]
;; name = "p"
;; type = "f64"
;; description = "the percentile, 0 (the minimum) to 100 (the maximum); 50 is the median"
;;
;; [[results]]
;; name = "percentile"
;; type = "f64"
;;
;; # checked: python3 -c 'import statistics; print(statistics.quantiles([15, 20, 35, 40, 50], n=4, method="inclusive")[2])' -> 40.0
;; [[examples]]
;; args = ["15, 20, 35, 40, 50", 75.0]
;; results = [40.0]
;;
;; # checked: python3 -c 'import statistics; print(statistics.quantiles([3, 1, 4, 1, 5, 9, 2, 6], n=200, method="inclusive")[74])' -> 2.625
;; [[examples]]
;; args = ["3 1 4 1 5 9 2 6", 37.5]
;; results = [2.625]
;;
;; [[examples]]
;; args = ["3 1 4 1 5 9 2 6", 0.0]
;; results = [1.0]
;;
;; [[examples]]
;; args = ["3 1 4 1 5 9 2 6", 100.0]
;; results = [9.0]
;;
;; [[examples]]
;; args = ["-2.5,", 30.0]
;; results = [-2.5]
;; ---
;; Sorted values x[0..n-1]; the p-th percentile sits at the fractional rank h = (n - 1) * p / 100,
;; between x[floor(h)] and the next value.
(local $text str)
(local $pieces i32)
(local $piece str)
(local $numbers i32)
(local $count i32)
(local $i i32)
(local $x f64)
(local $p f64)
(local $rank f64)
(local $below i32)
(local $lower f64)
(local $upper f64)
(local $percentile f64)
(argv 1 $p)
;; Written so that NaN fails too.
(if (i32.eqz (i32.and (f64.ge (local.get $p) (f64.const 0)) (f64.le (local.get $p) (f64.const 100))))
  (then (return (i32.const 5))))
(argv 0 $text)
;; Commas and whitespace all become spaces, and the non-empty pieces between spaces are the numbers.
(check $text (call $str.replace (local.get $text) "," " "))
(check $text (call $str.replace (local.get $text) "\t" " "))
(check $text (call $str.replace (local.get $text) "\n" " "))
(check $text (call $str.replace (local.get $text) "\r" " "))
(check $pieces (call $str.split (local.get $text) " "))
(check $numbers (call $arr.new))
(block $parsed
  (loop $next_piece
    (br_if $parsed (i32.ge_s (local.get $i) (call $arr.len (local.get $pieces))))
    (check $piece (call $arr.get_str (local.get $pieces) (local.get $i)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br_if $next_piece (i32.eqz (call $str.len (local.get $piece))))
    (check $x (call $str.to_f64 (local.get $piece)))
    ;; str.to_f64 accepts "nan", "inf" and overflows like "1e400" (to inf): x - x is 0 only for finite x.
    (if (f64.ne (f64.sub (local.get $x) (local.get $x)) (f64.const 0))
      (then (return (i32.const 7))))
    (check (call $arr.push_f64 (local.get $numbers) (local.get $x)))
    (br $next_piece)))
(local.set $count (call $arr.len (local.get $numbers)))
(if (i32.eqz (local.get $count))
  (then (return (i32.const 5))))
(check (call $arr.sort (local.get $numbers)))
(local.set $rank (f64.div (f64.mul (f64.convert_i32_u (i32.sub (local.get $count) (i32.const 1))) (local.get $p))
                          (f64.const 100)))
(local.set $below (i32.trunc_f64_u (local.get $rank)))
(check $lower (call $arr.get_f64 (local.get $numbers) (local.get $below)))
(local.set $percentile (local.get $lower))
;; At p = 100 (or a single value) there is no next value, and none is needed.
(if (i32.lt_s (i32.add (local.get $below) (i32.const 1)) (local.get $count))
  (then
    (check $upper (call $arr.get_f64 (local.get $numbers) (i32.add (local.get $below) (i32.const 1))))
    (local.set $percentile
      (f64.add (local.get $lower)
        (f64.mul (f64.sub (local.get $rank) (f64.convert_i32_u (local.get $below)))
                 (f64.sub (local.get $upper) (local.get $lower)))))))
(resv $percentile)

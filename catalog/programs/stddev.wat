;; ---
;; name = "stddev"
;; description = "The population standard deviation (divisor n, not n - 1) of a list of numbers given as one text argument, separated by commas and/or spaces, tabs or newlines (\"1, 2.5 3\"), by the corrected two-pass algorithm; 0 for a single number; EBOUND for an empty list, EPARSE for a piece that is not a finite number"
;; tags = ["statistics", "parsing"]
;; capabilities = ["str", "arr"]
;;
;; [[params]]
;; name = "numbers"
;; type = "str"
;; description = "numbers like \"1, 2.5 3\" or \"-4e2,7\""
;;
;; [[results]]
;; name = "stddev"
;; type = "f64"
;; description = "sqrt(sum((x - mean)^2) / n)"
;;
;; # checked: python3 -c 'import statistics; print(statistics.pstdev([2, 4, 4, 4, 5, 5, 7, 9]))' -> 2.0
;; [[examples]]
;; args = ["2, 4, 4, 4, 5, 5, 7, 9"]
;; results = [2.0]
;;
;; # checked: python3 -c 'import statistics; print(statistics.pstdev([1000000000.1, 1000000000.2, 1000000000.3]))' -> 0.08164962889258424
;; [[examples]]
;; args = ["1000000000.1 1000000000.2 1000000000.3"]
;; results = [0.08164962889258424]
;;
;; [[examples]]
;; args = ["3.5"]
;; results = [0.0]
;; ---
;; Two passes: the mean, then the squared deviations from it. The deviations also sum (to 0 in
;; exact arithmetic) into a correction for the rounding error of the mean:
;; variance = (sum(d^2) - sum(d)^2 / n) / n.
(local $text str)
(local $pieces i32)
(local $piece str)
(local $numbers i32)
(local $count i32)
(local $i i32)
(local $x f64)
(local $n f64)
(local $sum f64)
(local $mean f64)
(local $deviation f64)
(local $deviations f64)
(local $squares f64)
(local $stddev f64)
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
(local.set $n (f64.convert_i32_u (local.get $count)))
(local.set $i (i32.const 0))
(block $summed
  (loop $next_x
    (br_if $summed (i32.ge_s (local.get $i) (local.get $count)))
    (check $x (call $arr.get_f64 (local.get $numbers) (local.get $i)))
    (local.set $sum (f64.add (local.get $sum) (local.get $x)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $next_x)))
(local.set $mean (f64.div (local.get $sum) (local.get $n)))
(local.set $i (i32.const 0))
(block $deviated
  (loop $next_deviation
    (br_if $deviated (i32.ge_s (local.get $i) (local.get $count)))
    (check $x (call $arr.get_f64 (local.get $numbers) (local.get $i)))
    (local.set $deviation (f64.sub (local.get $x) (local.get $mean)))
    (local.set $deviations (f64.add (local.get $deviations) (local.get $deviation)))
    (local.set $squares (f64.add (local.get $squares) (f64.mul (local.get $deviation) (local.get $deviation))))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $next_deviation)))
;; The correction cannot make the variance negative in exact arithmetic; max keeps rounding from doing so.
(local.set $stddev
  (f64.sqrt
    (f64.max (f64.const 0)
      (f64.div
        (f64.sub (local.get $squares) (f64.div (f64.mul (local.get $deviations) (local.get $deviations)) (local.get $n)))
        (local.get $n)))))
(resv $stddev)

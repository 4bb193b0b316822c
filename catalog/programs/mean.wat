;; ---
;; name = "mean"
;; description = "The arithmetic mean of a list of numbers given as one text argument, separated by commas and/or spaces, tabs or newlines (\"1, 2.5 3\"), summed with Neumaier compensation; EBOUND for an empty list, EPARSE for a piece that is not a finite number"
;; tags = ["statistics", "parsing"]
;; capabilities = ["str", "arr"]
;;
;; [[params]]
;; name = "numbers"
;; type = "str"
;; description = "numbers like \"1, 2.5 3\" or \"-4e2,7\""
;;
;; [[results]]
;; name = "mean"
;; type = "f64"
;;
;; # checked: python3 -c 'import statistics; print(statistics.fmean([1, 2.5, 3]))' -> 2.1666666666666665
;; [[examples]]
;; args = ["1, 2.5 3"]
;; results = [2.1666666666666665]
;;
;; # checked: python3 -c 'import statistics; print(statistics.fmean([0.1, 0.2, 0.3, 0.4]))' -> 0.25
;; [[examples]]
;; args = ["0.1,0.2,0.3,0.4"]
;; results = [0.25]
;;
;; [[examples]]
;; args = ["-42"]
;; results = [-42.0]
;; ---
;; Sum with Neumaier compensation (as the sum program), then divide by the count.
(local $text str)
(local $pieces i32)
(local $piece str)
(local $numbers i32)
(local $count i32)
(local $i i32)
(local $x f64)
(local $sum f64)
(local $compensation f64)
(local $next_sum f64)
(local $mean f64)
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
(local.set $i (i32.const 0))
(block $summed
  (loop $next
    (br_if $summed (i32.ge_s (local.get $i) (local.get $count)))
    (check $x (call $arr.get_f64 (local.get $numbers) (local.get $i)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    ;; Keep the low-order bits that each addition loses, from whichever operand is smaller.
    (local.set $next_sum (f64.add (local.get $sum) (local.get $x)))
    (if (f64.ge (f64.abs (local.get $sum)) (f64.abs (local.get $x)))
      (then (local.set $compensation (f64.add (local.get $compensation)
              (f64.add (f64.sub (local.get $sum) (local.get $next_sum)) (local.get $x)))))
      (else (local.set $compensation (f64.add (local.get $compensation)
              (f64.add (f64.sub (local.get $x) (local.get $next_sum)) (local.get $sum))))))
    (local.set $sum (local.get $next_sum))
    (br $next)))
(local.set $mean (f64.div (f64.add (local.get $sum) (local.get $compensation))
                          (f64.convert_i32_u (local.get $count))))
(resv $mean)

;; ---
;; name = "sum"
;; description = "The sum of a list of numbers given as one text argument, separated by commas and/or spaces, tabs or newlines (\"1, 2.5 3\"), by compensated (Neumaier) summation; EBOUND for an empty list, EPARSE for a piece that is not a finite number"
;; tags = ["statistics", "parsing"]
;; capabilities = ["str", "arr"]
;;
;; [[params]]
;; name = "numbers"
;; type = "str"
;; description = "numbers like \"1, 2.5 3\" or \"-4e2,7\""
;;
;; [[results]]
;; name = "sum"
;; type = "f64"
;;
;; [[examples]]
;; args = ["1, 2.5 3"]
;; results = [6.5]
;;
;; # checked: python3 -c 'import math; print(math.fsum([0.1, 0.2, 0.3, -4e2, 1e-3]))' -> -399.399
;; [[examples]]
;; args = ["0.1,0.2,0.3\n-4e2\t1e-3"]
;; results = [-399.399]
;;
;; # checked: python3 -c 'import math; print(math.fsum([1e100, 1.0, -1e100]))' -> 1.0
;; [[examples]]
;; args = ["1e100, 1, -1e100"]
;; results = [1.0]
;;
;; [[examples]]
;; args = ["  -7 ,"]
;; results = [-7.0]
;; ---
;; Commas and whitespace all become spaces, and the non-empty pieces between spaces are the numbers.
(local $text str)
(local $pieces i32)
(local $count i32)
(local $i i32)
(local $piece str)
(local $x f64)
(local $numbers i32)
(local $sum f64)
(local $compensation f64)
(local $next_sum f64)
(argv 0 $text)
(check $text (call $str.replace (local.get $text) "," " "))
(check $text (call $str.replace (local.get $text) "\t" " "))
(check $text (call $str.replace (local.get $text) "\n" " "))
(check $text (call $str.replace (local.get $text) "\r" " "))
(check $pieces (call $str.split (local.get $text) " "))
(local.set $count (call $arr.len (local.get $pieces)))
(block $done
  (loop $next
    (br_if $done (i32.ge_s (local.get $i) (local.get $count)))
    (check $piece (call $arr.get_str (local.get $pieces) (local.get $i)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br_if $next (i32.eqz (call $str.len (local.get $piece))))
    (check $x (call $str.to_f64 (local.get $piece)))
    ;; str.to_f64 accepts "nan", "inf" and overflows like "1e400" (to inf): x - x is 0 only for finite x.
    (if (f64.ne (f64.sub (local.get $x) (local.get $x)) (f64.const 0))
      (then (return (i32.const 7))))
    (local.set $numbers (i32.add (local.get $numbers) (i32.const 1)))
    ;; Neumaier: keep the low-order bits that each addition loses, from whichever operand is smaller.
    (local.set $next_sum (f64.add (local.get $sum) (local.get $x)))
    (if (f64.ge (f64.abs (local.get $sum)) (f64.abs (local.get $x)))
      (then (local.set $compensation (f64.add (local.get $compensation)
              (f64.add (f64.sub (local.get $sum) (local.get $next_sum)) (local.get $x)))))
      (else (local.set $compensation (f64.add (local.get $compensation)
              (f64.add (f64.sub (local.get $x) (local.get $next_sum)) (local.get $sum))))))
    (local.set $sum (local.get $next_sum))
    (br $next)))
(if (i32.eqz (local.get $numbers))
  (then (return (i32.const 5))))
(local.set $sum (f64.add (local.get $sum) (local.get $compensation)))
(resv $sum)

;; ---
;; name = "median"
;; description = "The median of a list of numbers given as one text argument, separated by commas and/or spaces, tabs or newlines (\"1, 2.5 3\"): the middle value once sorted, or the mean of the two middle values for an even count; EBOUND for an empty list, EPARSE for a piece that is not a finite number"
;; tags = ["statistics", "parsing", "sorting"]
;; capabilities = ["str", "arr"]
;;
;; [[params]]
;; name = "numbers"
;; type = "str"
;; description = "numbers like \"1, 2.5 3\" or \"-4e2,7\""
;;
;; [[results]]
;; name = "median"
;; type = "f64"
;;
;; # checked: python3 -c 'import statistics; print(statistics.median([3, 1, 2.5, 10, -4]))' -> 2.5
;; [[examples]]
;; args = ["3, 1, 2.5, 10, -4"]
;; results = [2.5]
;;
;; # checked: python3 -c 'import statistics; print(statistics.median([4, 1, 3, 2]))' -> 2.5
;; [[examples]]
;; args = ["4 1\n3 2"]
;; results = [2.5]
;;
;; [[examples]]
;; args = ["7,"]
;; results = [7.0]
;; ---
;; arr.sort orders the numbers; then the middle one, or the two middle ones.
(local $text str)
(local $pieces i32)
(local $piece str)
(local $numbers i32)
(local $count i32)
(local $i i32)
(local $x f64)
(local $lower f64)
(local $upper f64)
(local $median f64)
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
(check $upper (call $arr.get_f64 (local.get $numbers) (i32.shr_u (local.get $count) (i32.const 1))))
(local.set $median (local.get $upper))
(if (i32.eqz (i32.and (local.get $count) (i32.const 1)))
  (then
    (check $lower (call $arr.get_f64 (local.get $numbers) (i32.sub (i32.shr_u (local.get $count) (i32.const 1)) (i32.const 1))))
    (local.set $median (f64.div (f64.add (local.get $lower) (local.get $upper)) (f64.const 2)))))
(resv $median)

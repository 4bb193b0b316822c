;; ---
;; name = "days_between"
;; description = "The number of days from one ISO date \"YYYY-MM-DD\" to another in the proleptic Gregorian calendar (years 0000 to 9999), negative when the second is earlier; EPARSE for text that is not exactly such a date, or a date that does not exist (month 13, February 30, February 29 of a common year)"
;; tags = ["dates", "calendar", "parsing"]
;; capabilities = []
;;
;; [[params]]
;; name = "from"
;; type = "str"
;; description = "an ISO date like \"2024-02-29\""
;;
;; [[params]]
;; name = "to"
;; type = "str"
;; description = "an ISO date like \"2024-02-29\""
;;
;; [[results]]
;; name = "days"
;; type = "i64"
;; description = "to - from, in days"
;;
;; # checked: python3 -c 'from datetime import date; print((date(2024, 3, 1) - date(2024, 1, 1)).days)' -> 60
;; [[examples]]
;; args = ["2024-01-01", "2024-03-01"]
;; results = [60]
;;
;; [[examples]]
;; args = ["2023-06-15", "2023-06-15"]
;; results = [0]
;;
;; # checked: python3 -c 'from datetime import date; print((date(1900, 3, 1) - date(2000, 2, 29)).days)' -> -36524
;; [[examples]]
;; args = ["2000-02-29", "1900-03-01"]
;; results = [-36524]
;;
;; # checked: python3 -c 'from datetime import date; print((date(9999, 12, 31) - date(1, 1, 1)).days)' -> 3652058
;; [[examples]]
;; args = ["0001-01-01", "9999-12-31"]
;; results = [3652058]
;; ---
;; Each date becomes a day number (days since 1970-01-01), and the answer is their difference.
;; The count treats March as the first month, so that a leap day is the last day of its year:
;; the days before month m are then (153 * m' + 2) / 5 with m' = 0 for March.
(local $arg i32)
(local $text str)
(local $i i32)
(local $char i32)
(local $digits i32)
(local $year i32)
(local $month i32)
(local $day i32)
(local $month_length i32)
(local $y i64)
(local $days i64)
(local $from i64)
(local $between i64)
(loop $next_date
  (check $text (call $core.arg_str (local.get $arg)))
  ;; Exactly "DDDD-DD-DD": the eight digits read as one number YYYYMMDD.
  (if (i32.ne (i32.load (local.get $text)) (i32.const 10))
    (then (return (i32.const 7))))
  (local.set $digits (i32.const 0))
  (local.set $i (i32.const 0))
  (loop $next_char
    (local.set $char (i32.load8_u offset=4 (i32.add (local.get $text) (local.get $i))))
    (if (i32.or (i32.eq (local.get $i) (i32.const 4)) (i32.eq (local.get $i) (i32.const 7)))
      (then
        (if (i32.ne (local.get $char) (i32.const 45))
          (then (return (i32.const 7)))))
      (else
        (if (i32.gt_u (i32.sub (local.get $char) (i32.const 48)) (i32.const 9))
          (then (return (i32.const 7))))
        (local.set $digits
          (i32.add (i32.mul (local.get $digits) (i32.const 10)) (i32.sub (local.get $char) (i32.const 48))))))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br_if $next_char (i32.lt_u (local.get $i) (i32.const 10))))
  (local.set $year (i32.div_u (local.get $digits) (i32.const 10000)))
  (local.set $month (i32.rem_u (i32.div_u (local.get $digits) (i32.const 100)) (i32.const 100)))
  (local.set $day (i32.rem_u (local.get $digits) (i32.const 100)))
  (if (i32.or (i32.lt_u (local.get $month) (i32.const 1)) (i32.gt_u (local.get $month) (i32.const 12)))
    (then (return (i32.const 7))))
  ;; The month's length from a byte table (31, 28, 31, ...; byte m - 1 after the 4-byte length
  ;; prefix, hence offset=3), plus the leap day in February.
  (local.set $month_length
    (i32.load8_u offset=3 (i32.add "\1f\1c\1f\1e\1f\1e\1f\1f\1e\1f\1e\1f" (local.get $month))))
  (if (i32.and
        (i32.eq (local.get $month) (i32.const 2))
        (i32.and (i32.eqz (i32.rem_u (local.get $year) (i32.const 4)))
                 (i32.or (i32.ne (i32.rem_u (local.get $year) (i32.const 100)) (i32.const 0))
                         (i32.eqz (i32.rem_u (local.get $year) (i32.const 400))))))
    (then (local.set $month_length (i32.const 29))))
  (if (i32.or (i32.lt_u (local.get $day) (i32.const 1)) (i32.gt_u (local.get $day) (local.get $month_length)))
    (then (return (i32.const 7))))
  ;; Years counted from March, shifted by 400 years (146097 days) so that every quotient is of a
  ;; non-negative number; 865565 = 719468 + 146097 puts day 0 at 1970-01-01.
  (local.set $y (i64.extend_i32_u (i32.add (i32.sub (local.get $year) (i32.le_u (local.get $month) (i32.const 2))) (i32.const 400))))
  (local.set $days
    (i64.sub
      (i64.add
        (i64.add (i64.mul (local.get $y) (i64.const 365)) (i64.div_u (local.get $y) (i64.const 4)))
        (i64.add (i64.sub (i64.div_u (local.get $y) (i64.const 400)) (i64.div_u (local.get $y) (i64.const 100)))
                 (i64.extend_i32_u
                   (i32.add
                     (i32.div_u (i32.add (i32.mul (i32.const 153) (i32.rem_u (i32.add (local.get $month) (i32.const 9)) (i32.const 12)))
                                         (i32.const 2))
                                (i32.const 5))
                     (i32.sub (local.get $day) (i32.const 1))))))
      (i64.const 865565)))
  (if (i32.eqz (local.get $arg))
    (then (local.set $from (local.get $days))))
  (local.set $arg (i32.add (local.get $arg) (i32.const 1)))
  (br_if $next_date (i32.lt_u (local.get $arg) (i32.const 2))))
(local.set $between (i64.sub (local.get $days) (local.get $from)))
(resv $between)

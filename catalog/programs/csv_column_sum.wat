;; ---
;; name = "csv_column_sum"
;; description = "The sum (f64) of one column of simple CSV text (argument 0: comma-separated fields, no quoting or escaped commas, a header line first, \\n or \\r\\n line ends); the column is the header field equal to argument 1 (fields are trimmed); empty lines are skipped; ENOENT if no header field matches, EPARSE if a value is not a number (an empty one included), EBOUND if a row has too few fields"
;; tags = ["csv", "data", "aggregate"]
;; capabilities = ["str", "arr"]
;;
;; [[params]]
;; name = "csv"
;; type = "str"
;;
;; [[params]]
;; name = "column"
;; type = "str"
;; description = "the header name of the column to add up"
;;
;; [[results]]
;; name = "sum"
;; type = "f64"
;;
;; # checked: python3 -c 'import sys; rows=[l.split(",") for l in sys.argv[1].split("\n") if l.strip()]; i=[h.strip() for h in rows[0]].index("price"); print(sum(float(r[i]) for r in rows[1:]))' $'name,price,qty\npen,1.5,3\nbook,12.25,1\n' -> 13.75
;; [[examples]]
;; args = ["name,price,qty\npen,1.5,3\nbook,12.25,1\n", "price"]
;; results = [13.75]
;;
;; # checked: python3 -c 'import sys; rows=[l.split(",") for l in sys.argv[1].split("\n") if l.strip()]; i=[h.strip() for h in rows[0]].index("Betrag €"); print(sum(float(r[i]) for r in rows[1:]))' $'id, Betrag €\r\n1, -2.5\r\n\r\n2, 1e3\r\n' -> 997.5
;; [[examples]]
;; args = ["id, Betrag €\r\n1, -2.5\r\n\r\n2, 1e3\r\n", "Betrag €"]
;; results = [997.5]
;;
;; [[examples]]
;; args = ["a,b", "b"]
;; results = [0.0]
;; ---
(local $csv str)
(local $column str)
(local $lines i32)
(local $line_count i32)
(local $fields i32)
(local $field_count i32)
(local $field str)
(local $line str)
(local $index i32)
(local $i i32)
(local $value f64)
(local $sum f64)
(argv 0 $csv)
(argv 1 $column)
(check $lines (call $str.split (local.get $csv) "\n"))
(local.set $line_count (call $arr.len (local.get $lines)))
;; Find the column in the header; trimming drops spaces after commas and a \r at the end.
(check $line (call $arr.get_str (local.get $lines) (i32.const 0)))
(check $fields (call $str.split (local.get $line) ","))
(local.set $field_count (call $arr.len (local.get $fields)))
(local.set $index (i32.const -1))
(block $found
  (loop $next_field
    (br_if $found (i32.ge_s (local.get $i) (local.get $field_count)))
    (check $field (call $arr.get_str (local.get $fields) (local.get $i)))
    (check $field (call $str.trim (local.get $field)))
    (if (i32.eq (call $str.eq (local.get $field) (local.get $column)) (i32.const 1))
      (then (local.set $index (local.get $i)) (br $found)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $next_field)))
(if (i32.lt_s (local.get $index) (i32.const 0))
  (then (return (i32.const 4)))) ;; ENOENT
(local.set $i (i32.const 1))
(block $done
  (loop $next_line
    (br_if $done (i32.ge_s (local.get $i) (local.get $line_count)))
    (check $line (call $arr.get_str (local.get $lines) (local.get $i)))
    (check $line (call $str.trim (local.get $line)))
    ;; Blank lines (the one after a final newline among them) hold no row.
    (if (call $str.len (local.get $line))
      (then
        (check $fields (call $str.split (local.get $line) ","))
        (check $field (call $arr.get_str (local.get $fields) (local.get $index)))
        ;; str.to_f64 ignores the spaces around the number.
        (check $value (call $str.to_f64 (local.get $field)))
        (local.set $sum (f64.add (local.get $sum) (local.get $value)))))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $next_line)))
(resv $sum)

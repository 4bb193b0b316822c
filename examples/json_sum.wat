;; Sum the prices of the items of a JSON document
;; run: watsmith exec examples/json_sum.wat '{"items":[{"price":2.5},{"price":4}]}'
;; expect: 6.5
(local $doc str)
(local $path str)
(local $index str)
(local $n i32)
(local $i i32)
(local $price f64)
(local $sum f64)
(argv 0 $doc)
(check $n (call $json.len (local.get $doc) "items"))
(block $done
  (loop $next
    (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
    ;; The path items[i].price; the document is parsed once, whatever the number of reads.
    (check $index (call $str.from_i64 (i64.extend_i32_s (local.get $i))))
    (check $path (call $str.concat "items[" (local.get $index)))
    (check $path (call $str.concat (local.get $path) "].price"))
    (check $price (call $json.get_f64 (local.get $doc) (local.get $path)))
    (local.set $sum (f64.add (local.get $sum) (local.get $price)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $next)))
(resv $sum)

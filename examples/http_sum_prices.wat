;; Fetch a JSON list of items and sum their prices (argument 0 is the URL)
;; run: watsmith exec examples/http_sum_prices.wat --allow-host shop.example.com https://shop.example.com/items.json
;; expect: 17.25
(local $url str)
(local $doc str)
(local $path str)
(local $index str)
(local $n i32)
(local $i i32)
(local $price f64)
(local $sum f64)
(argv 0 $url)
;; EACCESS if the host is not allowed, EREMOTE if the request fails: either ends the run.
(check $doc (call $http.get (local.get $url)))
(check $n (call $json.len (local.get $doc) "items"))
(block $done
  (loop $next
    (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
    (check $index (call $str.from_i64 (i64.extend_i32_s (local.get $i))))
    (check $path (call $str.concat "items[" (local.get $index)))
    (check $path (call $str.concat (local.get $path) "].price"))
    (check $price (call $json.get_f64 (local.get $doc) (local.get $path)))
    (local.set $sum (f64.add (local.get $sum) (local.get $price)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $next)))
(resv $sum)

;; Sort numbers given as comma-separated text, and join them back in ascending order
;; run: watsmith exec examples/arr_sort.wat '3, 10, -2.5, 7, 0.25'
;; expect: -2.5, 0.25, 3, 7, 10
(local $text str)
(local $pieces i32)
(local $numbers i32)
(local $piece str)
(local $n i32)
(local $i i32)
(local $k i64)
(local $x f64)
(local $err i32)
(local $sorted str)
(argv 0 $text)
(check $pieces (call $str.split (local.get $text) ","))
(check $numbers (call $arr.new))
(local.set $n (call $arr.len (local.get $pieces)))
(block $done
  (loop $next
    (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
    (check $piece (call $arr.get_str (local.get $pieces) (local.get $i)))
    ;; Integers stay integers; anything else must read as a float (EPARSE otherwise).
    (call $str.to_i64 (local.get $piece))
    (local.set $err)
    (local.set $k)
    (if (i32.eqz (local.get $err))
      (then (check (call $arr.push_i64 (local.get $numbers) (local.get $k))))
      (else
        (check $x (call $str.to_f64 (local.get $piece)))
        (check (call $arr.push_f64 (local.get $numbers) (local.get $x)))))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $next)))
(check (call $arr.sort (local.get $numbers)))
(check $sorted (call $arr.join (local.get $numbers) ", "))
(resv $sorted)

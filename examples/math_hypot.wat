;; The distance between two points (x1, y1) and (x2, y2)
;; run: watsmith exec examples/math_hypot.wat 1.5 2 4.5 6
;; expect: 5
(local $x1 f64)
(local $y1 f64)
(local $x2 f64)
(local $y2 f64)
(local $distance f64)
(argv 0 $x1)
(argv 1 $y1)
(argv 2 $x2)
(argv 3 $y2)
(local.set $distance
  (call $math.hypot
    (f64.sub (local.get $x2) (local.get $x1))
    (f64.sub (local.get $y2) (local.get $y1))))
(resv $distance)

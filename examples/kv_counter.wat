;; Count the runs that share a kv namespace, and keep a note from the first one.
;; run: watsmith exec examples/kv_counter.wat --allow kv
;; expect: 1
;; expect: first run
(local $runs i64)
(local $note str)
(check $runs (call $kv.incr "runs" (i64.const 1)))
(if (i32.eqz (call $kv.has "note"))
  (then (check (call $kv.set "note" "first run"))))
(check $note (call $kv.get "note"))
(resv $runs)
(resv $note)

;; ---
;; name = "reverse"
;; description = "The text (argument 0) with its characters in reverse order: Unicode scalar values, not bytes, so \"héllo\" gives \"olléh\" (combining marks are characters of their own)"
;; tags = ["text", "unicode"]
;; capabilities = []
;;
;; [[params]]
;; name = "text"
;; type = "str"
;;
;; [[results]]
;; name = "reversed"
;; type = "str"
;;
;; # checked: python3 -c 'print("héllo"[::-1])' -> olléh
;; [[examples]]
;; args = ["héllo"]
;; results = ["olléh"]
;;
;; # checked: python3 -c 'print("a€😀b"[::-1])' -> b😀€a
;; [[examples]]
;; args = ["a€😀b"]
;; results = ["b😀€a"]
;;
;; [[examples]]
;; args = [""]
;; results = [""]
;; ---
;; Each character keeps its bytes in order but moves to the mirrored position: a character of
;; width W starting at byte I lands at byte LEN - I - W of the result.
(local $text str)
(local $reversed str)
(local $len i32)
(local $at i32)
(local $lead i32)
(local $width i32)
(argv 0 $text)
(local.set $len (i32.load (local.get $text)))
(check $reversed (call $core.alloc (i32.add (local.get $len) (i32.const 4))))
(i32.store (local.get $reversed) (local.get $len))
(block $done
  (loop $next
    (br_if $done (i32.ge_u (local.get $at) (local.get $len)))
    ;; The lead byte of a UTF-8 sequence gives its width.
    (local.set $lead (i32.load8_u offset=4 (i32.add (local.get $text) (local.get $at))))
    (local.set $width
      (if (result i32) (i32.lt_u (local.get $lead) (i32.const 0x80))
        (then (i32.const 1))
        (else (if (result i32) (i32.lt_u (local.get $lead) (i32.const 0xE0))
          (then (i32.const 2))
          (else (select (i32.const 3) (i32.const 4) (i32.lt_u (local.get $lead) (i32.const 0xF0))))))))
    (memory.copy
      (i32.add (i32.add (local.get $reversed) (i32.const 4))
        (i32.sub (i32.sub (local.get $len) (local.get $at)) (local.get $width)))
      (i32.add (i32.add (local.get $text) (i32.const 4)) (local.get $at))
      (local.get $width))
    (local.set $at (i32.add (local.get $at) (local.get $width)))
    (br $next)))
(resv $reversed)

;; Count the words of a text: the non-empty pieces between spaces, tabs and newlines
;; run: watsmith exec examples/str_words.wat '  the quick  brown fox '
;; expect: 4
(local $text str)
(local $words i32)
(local $word str)
(local $n i32)
(local $i i32)
(local $count i64)
(argv 0 $text)
(check $text (call $str.replace (local.get $text) "\t" " "))
(check $text (call $str.replace (local.get $text) "\n" " "))
(check $words (call $str.split (local.get $text) " "))
(local.set $n (call $arr.len (local.get $words)))
(block $done
  (loop $next
    (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
    (check $word (call $arr.get_str (local.get $words) (local.get $i)))
    ;; Repeated spaces leave empty pieces: they are not words.
    (if (i32.gt_s (call $str.len (local.get $word)) (i32.const 0))
      (then (local.set $count (i64.add (local.get $count) (i64.const 1)))))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $next)))
(resv $count)

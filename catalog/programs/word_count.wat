;; ---
;; name = "word_count"
;; description = "The number of words of the text (argument 0): maximal runs of characters that are not Unicode whitespace (the White_Space property: ASCII spaces and tabs, NBSP, ideographic space, line and paragraph separators, ...)"
;; tags = ["text", "unicode", "counting"]
;; capabilities = []
;;
;; [[params]]
;; name = "text"
;; type = "str"
;;
;; [[results]]
;; name = "words"
;; type = "i64"
;;
;; [[examples]]
;; args = ["  the quick\tbrown\nfox  "]
;; results = [4]
;;
;; # checked: python3 -c 'print(len("a\u00a0b\u3000c  d\u2028é".split()))' -> 5
;; [[examples]]
;; args = ["a\u00a0b\u3000c  d\u2028é"]
;; results = [5]
;;
;; [[examples]]
;; args = [""]
;; results = [0]
;; ---
;; Decode the text character by character: whitespace beyond ASCII (U+00A0, U+3000, ...) is
;; several bytes long, so a byte loop alone cannot see it.
(local $text str)
(local $len i32)
(local $at i32)
(local $lead i32)
(local $width i32)
(local $k i32)
(local $char i32)
(local $space i32)
(local $in_word i32)
(local $words i64)
(argv 0 $text)
(local.set $len (i32.load (local.get $text)))
(block $done
  (loop $next
    (br_if $done (i32.ge_u (local.get $at) (local.get $len)))
    (local.set $lead (i32.load8_u offset=4 (i32.add (local.get $text) (local.get $at))))
    (local.set $width
      (if (result i32) (i32.lt_u (local.get $lead) (i32.const 0x80))
        (then (i32.const 1))
        (else (if (result i32) (i32.lt_u (local.get $lead) (i32.const 0xE0))
          (then (i32.const 2))
          (else (select (i32.const 3) (i32.const 4) (i32.lt_u (local.get $lead) (i32.const 0xF0))))))))
    ;; A lead byte of a W-byte sequence carries 7 - W payload bits, each continuation byte 6.
    (local.set $char
      (select (local.get $lead)
        (i32.and (local.get $lead) (i32.shr_u (i32.const 0x7F) (local.get $width)))
        (i32.eq (local.get $width) (i32.const 1))))
    (local.set $k (i32.const 1))
    (block $decoded
      (loop $continuation
        (br_if $decoded (i32.ge_u (local.get $k) (local.get $width)))
        (local.set $char
          (i32.or (i32.shl (local.get $char) (i32.const 6))
            (i32.and (i32.load8_u offset=4 (i32.add (local.get $text) (i32.add (local.get $at) (local.get $k))))
              (i32.const 0x3F))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $continuation)))
    ;; The White_Space characters of Unicode.
    (local.set $space (i32.const 1))
    (block $classified
      (br_if $classified (i32.le_u (i32.sub (local.get $char) (i32.const 0x09)) (i32.const 4))) ;; \t \n \v \f \r
      (br_if $classified (i32.eq (local.get $char) (i32.const 0x20)))
      (br_if $classified (i32.eq (local.get $char) (i32.const 0x85)))
      (br_if $classified (i32.eq (local.get $char) (i32.const 0xA0)))
      (br_if $classified (i32.eq (local.get $char) (i32.const 0x1680)))
      (br_if $classified (i32.le_u (i32.sub (local.get $char) (i32.const 0x2000)) (i32.const 10))) ;; U+2000..U+200A
      (br_if $classified (i32.eq (local.get $char) (i32.const 0x2028)))
      (br_if $classified (i32.eq (local.get $char) (i32.const 0x2029)))
      (br_if $classified (i32.eq (local.get $char) (i32.const 0x202F)))
      (br_if $classified (i32.eq (local.get $char) (i32.const 0x205F)))
      (br_if $classified (i32.eq (local.get $char) (i32.const 0x3000)))
      (local.set $space (i32.const 0)))
    ;; A word starts at a non-space character that follows a space (or the start).
    (if (local.get $space)
      (then (local.set $in_word (i32.const 0)))
      (else
        (if (i32.eqz (local.get $in_word))
          (then (local.set $words (i64.add (local.get $words) (i64.const 1)))))
        (local.set $in_word (i32.const 1))))
    (local.set $at (i32.add (local.get $at) (local.get $width)))
    (br $next)))
(resv $words)

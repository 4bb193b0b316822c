;; ---
;; name = "slugify"
;; description = "A URL slug of the text (argument 0): ASCII letters (lower-cased) and digits are kept, every run of other characters (spaces, punctuation, any non-ASCII character) becomes one -, with no - at either end"
;; tags = ["text", "url"]
;; capabilities = []
;;
;; [[params]]
;; name = "text"
;; type = "str"
;;
;; [[results]]
;; name = "slug"
;; type = "str"
;;
;; # checked: python3 -c 'import re; print(re.sub("[^A-Za-z0-9]+", "-", "  Hello, World! 2024 -- WAT-plus  ").strip("-").lower())' -> hello-world-2024-wat-plus
;; [[examples]]
;; args = ["  Hello, World! 2024 -- WAT-plus  "]
;; results = ["hello-world-2024-wat-plus"]
;;
;; # checked: python3 -c 'import re; print(re.sub("[^A-Za-z0-9]+", "-", "Crème Brûlée 😀 recipe").strip("-").lower())' -> cr-me-br-l-e-recipe
;; [[examples]]
;; args = ["Crème Brûlée 😀 recipe"]
;; results = ["cr-me-br-l-e-recipe"]
;;
;; [[examples]]
;; args = ["--- !!! ---"]
;; results = [""]
;;
;; [[examples]]
;; args = [""]
;; results = [""]
;; ---
;; A separator is only written when the next kept character arrives, and never before the
;; first: that folds runs into one - and leaves none at the ends.
(local $text str)
(local $slug str)
(local $len i32)
(local $at i32)
(local $byte i32)
(local $lower i32)
(local $size i32)
(local $separated i32)
(argv 0 $text)
(local.set $len (i32.load (local.get $text)))
;; The slug is never longer than the text.
(check $slug (call $core.alloc (i32.add (local.get $len) (i32.const 4))))
(block $done
  (loop $next
    (br_if $done (i32.ge_u (local.get $at) (local.get $len)))
    (local.set $byte (i32.load8_u offset=4 (i32.add (local.get $text) (local.get $at))))
    ;; Setting bit 5 lower-cases an ASCII letter.
    (local.set $lower (i32.or (local.get $byte) (i32.const 0x20)))
    (if (i32.or (i32.lt_u (i32.sub (local.get $lower) (i32.const 0x61)) (i32.const 26))
                (i32.lt_u (i32.sub (local.get $byte) (i32.const 0x30)) (i32.const 10)))
      (then
        (if (i32.and (local.get $separated) (i32.gt_u (local.get $size) (i32.const 0)))
          (then
            (i32.store8 offset=4 (i32.add (local.get $slug) (local.get $size)) (i32.const 0x2D)) ;; -
            (local.set $size (i32.add (local.get $size) (i32.const 1)))))
        (local.set $separated (i32.const 0))
        ;; Digits are kept as they are; bit 5 is already set in them.
        (i32.store8 offset=4 (i32.add (local.get $slug) (local.get $size)) (local.get $lower))
        (local.set $size (i32.add (local.get $size) (i32.const 1))))
      (else (local.set $separated (i32.const 1))))
    (local.set $at (i32.add (local.get $at) (i32.const 1)))
    (br $next)))
(i32.store (local.get $slug) (local.get $size))
(resv $slug)

;; ---
;; name = "rot13"
;; description = "The text (argument 0) with every ASCII letter moved 13 places along the alphabet, keeping its case (its own inverse); every other character is kept"
;; tags = ["text", "cipher"]
;; capabilities = []
;;
;; [[params]]
;; name = "text"
;; type = "str"
;;
;; [[results]]
;; name = "rotated"
;; type = "str"
;;
;; # checked: python3 -c 'import codecs; print(codecs.encode("Hello, World!", "rot13"))' -> Uryyb, Jbeyq!
;; [[examples]]
;; args = ["Hello, World!"]
;; results = ["Uryyb, Jbeyq!"]
;;
;; # checked: python3 -c 'import codecs; print(codecs.encode("Über naïve Zebras", "rot13"))' -> Üore anïir Mroenf
;; [[examples]]
;; args = ["Über naïve Zebras"]
;; results = ["Üore anïir Mroenf"]
;;
;; [[examples]]
;; args = [""]
;; results = [""]
;; ---
;; Work on bytes: the bytes of non-ASCII characters are all 0x80 or above, so they pass through
;; unchanged and the result stays UTF-8.
(local $text str)
(local $rotated str)
(local $len i32)
(local $at i32)
(local $byte i32)
(local $base i32)
(argv 0 $text)
(local.set $len (i32.load (local.get $text)))
(check $rotated (call $core.alloc (i32.add (local.get $len) (i32.const 4))))
(i32.store (local.get $rotated) (local.get $len))
(block $done
  (loop $next
    (br_if $done (i32.ge_u (local.get $at) (local.get $len)))
    (local.set $byte (i32.load8_u offset=4 (i32.add (local.get $text) (local.get $at))))
    ;; Letters rotate within their own case; $base is 0 for anything else.
    (local.set $base
      (if (result i32) (i32.lt_u (i32.sub (local.get $byte) (i32.const 0x41)) (i32.const 26))
        (then (i32.const 0x41))
        (else (select (i32.const 0x61) (i32.const 0)
          (i32.lt_u (i32.sub (local.get $byte) (i32.const 0x61)) (i32.const 26))))))
    (if (local.get $base)
      (then
        (local.set $byte
          (i32.add (local.get $base)
            (i32.rem_u (i32.add (i32.sub (local.get $byte) (local.get $base)) (i32.const 13))
              (i32.const 26))))))
    (i32.store8 offset=4 (i32.add (local.get $rotated) (local.get $at)) (local.get $byte))
    (local.set $at (i32.add (local.get $at) (i32.const 1)))
    (br $next)))
(resv $rotated)

;; ---
;; name = "hex_encode"
;; description = "The UTF-8 bytes of the text (argument 0) as lowercase hexadecimal, two digits per byte"
;; tags = ["encoding", "hex", "text"]
;; capabilities = []
;;
;; [[params]]
;; name = "text"
;; type = "str"
;;
;; [[results]]
;; name = "hex"
;; type = "str"
;;
;; # checked: printf '%s' 'héllo' | xxd -p -> 68c3a96c6c6f
;; [[examples]]
;; args = ["héllo"]
;; results = ["68c3a96c6c6f"]
;;
;; # checked: python3 -c 'print("Hi 😀\n".encode().hex())' -> 486920f09f98800a
;; [[examples]]
;; args = ["Hi 😀\n"]
;; results = ["486920f09f98800a"]
;;
;; [[examples]]
;; args = [""]
;; results = [""]
;; ---
(local $text str)
(local $hex str)
(local $digits str)
(local $len i32)
(local $size i32)
(local $at i32)
(local $byte i32)
(local $out i32)
(argv 0 $text)
(local.set $digits "0123456789abcdef")
(local.set $len (i32.load (local.get $text)))
(local.set $size (i32.shl (local.get $len) (i32.const 1)))
(check $hex (call $core.alloc (i32.add (local.get $size) (i32.const 4))))
(i32.store (local.get $hex) (local.get $size))
(local.set $out (i32.add (local.get $hex) (i32.const 4)))
(block $done
  (loop $next
    (br_if $done (i32.ge_u (local.get $at) (local.get $len)))
    (local.set $byte (i32.load8_u offset=4 (i32.add (local.get $text) (local.get $at))))
    ;; High nibble first.
    (i32.store8 (local.get $out)
      (i32.load8_u offset=4 (i32.add (local.get $digits) (i32.shr_u (local.get $byte) (i32.const 4)))))
    (i32.store8 offset=1 (local.get $out)
      (i32.load8_u offset=4 (i32.add (local.get $digits) (i32.and (local.get $byte) (i32.const 15)))))
    (local.set $out (i32.add (local.get $out) (i32.const 2)))
    (local.set $at (i32.add (local.get $at) (i32.const 1)))
    (br $next)))
(resv $hex)

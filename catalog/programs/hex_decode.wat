;; ---
;; name = "hex_decode"
;; description = "The text whose UTF-8 bytes are written in hexadecimal in argument 0 (two digits per byte, upper or lower case, nothing between them); EPARSE for an odd number of digits or a character that is not a hex digit, ETRFM if the bytes are not UTF-8"
;; tags = ["encoding", "hex", "text"]
;; capabilities = []
;;
;; [[params]]
;; name = "hex"
;; type = "str"
;;
;; [[results]]
;; name = "text"
;; type = "str"
;;
;; # checked: printf '%s' '68c3a96c6c6f' | xxd -r -p -> héllo
;; [[examples]]
;; args = ["68c3a96c6c6f"]
;; results = ["héllo"]
;;
;; # checked: python3 -c 'print(bytes.fromhex("486920F09F9880").decode())' -> Hi 😀
;; [[examples]]
;; args = ["486920F09F9880"]
;; results = ["Hi 😀"]
;;
;; [[examples]]
;; args = [""]
;; results = [""]
;; ---
(local $hex str)
(local $text str)
(local $len i32)
(local $size i32)
(local $at i32)
(local $char i32)
(local $nibble i32)
(local $byte i32)
(argv 0 $hex)
(local.set $len (i32.load (local.get $hex)))
(if (i32.and (local.get $len) (i32.const 1))
  (then (return (i32.const 7)))) ;; EPARSE: half a byte
(local.set $size (i32.shr_u (local.get $len) (i32.const 1)))
(check $text (call $core.alloc (i32.add (local.get $size) (i32.const 4))))
(i32.store (local.get $text) (local.get $size))
(block $done
  (loop $next
    (br_if $done (i32.ge_u (local.get $at) (local.get $len)))
    (local.set $char (i32.load8_u offset=4 (i32.add (local.get $hex) (local.get $at))))
    (local.set $nibble
      (if (result i32) (i32.lt_u (i32.sub (local.get $char) (i32.const 0x30)) (i32.const 10)) ;; 0-9
        (then (i32.sub (local.get $char) (i32.const 0x30)))
        (else
          ;; Setting bit 5 lower-cases a letter, so A-F and a-f take one test.
          (local.set $char (i32.or (local.get $char) (i32.const 0x20)))
          (if (result i32) (i32.lt_u (i32.sub (local.get $char) (i32.const 0x61)) (i32.const 6)) ;; a-f
            (then (i32.sub (local.get $char) (i32.const 87)))
            (else (return (i32.const 7))))))) ;; EPARSE
    ;; An even position starts a byte (high nibble), an odd one completes and stores it.
    (if (i32.and (local.get $at) (i32.const 1))
      (then
        (i32.store8 offset=4 (i32.add (local.get $text) (i32.shr_u (local.get $at) (i32.const 1)))
          (i32.or (local.get $byte) (local.get $nibble))))
      (else (local.set $byte (i32.shl (local.get $nibble) (i32.const 4)))))
    (local.set $at (i32.add (local.get $at) (i32.const 1)))
    (br $next)))
;; res_str refuses bytes that are not UTF-8 with ETRFM.
(resv $text)

;; ---
;; name = "base64_decode"
;; description = "The text whose UTF-8 bytes are encoded in the standard, padded base64 argument 0 (RFC 4648 alphabet with + and /; no whitespace); EPARSE if the length is not a multiple of 4, a character is outside the alphabet or = appears other than as 1 or 2 final characters, ETRFM if the decoded bytes are not UTF-8"
;; tags = ["encoding", "base64", "text"]
;; capabilities = []
;;
;; [[params]]
;; name = "encoded"
;; type = "str"
;;
;; [[results]]
;; name = "text"
;; type = "str"
;;
;; # checked: printf '%s' 'aMOpbGxv' | base64 -d -> héllo
;; [[examples]]
;; args = ["aMOpbGxv"]
;; results = ["héllo"]
;;
;; # checked: printf '%s' 'TWFuIPCfmIA=' | base64 -d -> Man 😀
;; [[examples]]
;; args = ["TWFuIPCfmIA="]
;; results = ["Man 😀"]
;;
;; # checked: python3 -c 'import base64; print(base64.b64decode("YWI/fg==", validate=True).decode())' -> ab?~
;; [[examples]]
;; args = ["YWI/fg=="]
;; results = ["ab?~"]
;;
;; [[examples]]
;; args = [""]
;; results = [""]
;; ---
;; Every digit adds 6 bits to an accumulator; each time it holds 8 or more, the top 8 are the
;; next byte. The bits a final partial group leaves over are padding and are dropped.
(local $encoded str)
(local $text str)
(local $len i32)
(local $digits i32)
(local $size i32)
(local $at i32)
(local $char i32)
(local $value i32)
(local $bits i32)
(local $pending i32)
(local $out i32)
(argv 0 $encoded)
(local.set $len (i32.load (local.get $encoded)))
(if (i32.rem_u (local.get $len) (i32.const 4))
  (then (return (i32.const 7)))) ;; EPARSE
;; Up to two final = are padding; an = anywhere else fails the alphabet test below.
(local.set $digits (local.get $len))
(if (i32.and (i32.ge_u (local.get $len) (i32.const 4))
      (i32.eq (i32.load8_u offset=3 (i32.add (local.get $encoded) (local.get $len))) (i32.const 0x3D)))
  (then
    (local.set $digits (i32.sub (local.get $len) (i32.const 1)))
    (if (i32.eq (i32.load8_u offset=2 (i32.add (local.get $encoded) (local.get $len))) (i32.const 0x3D))
      (then (local.set $digits (i32.sub (local.get $len) (i32.const 2)))))))
;; 6 bits per digit, whole bytes only.
(local.set $size (i32.div_u (i32.mul (local.get $digits) (i32.const 6)) (i32.const 8)))
(check $text (call $core.alloc (i32.add (local.get $size) (i32.const 4))))
(i32.store (local.get $text) (local.get $size))
(local.set $out (i32.add (local.get $text) (i32.const 4)))
(block $done
  (loop $next
    (br_if $done (i32.ge_u (local.get $at) (local.get $digits)))
    (local.set $char (i32.load8_u offset=4 (i32.add (local.get $encoded) (local.get $at))))
    (local.set $value
      (if (result i32) (i32.lt_u (i32.sub (local.get $char) (i32.const 0x41)) (i32.const 26)) ;; A-Z
        (then (i32.sub (local.get $char) (i32.const 0x41)))
        (else (if (result i32) (i32.lt_u (i32.sub (local.get $char) (i32.const 0x61)) (i32.const 26)) ;; a-z
          (then (i32.sub (local.get $char) (i32.const 71)))
          (else (if (result i32) (i32.lt_u (i32.sub (local.get $char) (i32.const 0x30)) (i32.const 10)) ;; 0-9
            (then (i32.add (local.get $char) (i32.const 4)))
            (else (if (result i32) (i32.eq (local.get $char) (i32.const 0x2B)) ;; +
              (then (i32.const 62))
              (else (if (result i32) (i32.eq (local.get $char) (i32.const 0x2F)) ;; /
                (then (i32.const 63))
                (else (return (i32.const 7))))))))))))) ;; EPARSE
    ;; Bits above the pending ones fall off the top of the i32: they were already written out.
    (local.set $pending (i32.or (i32.shl (local.get $pending) (i32.const 6)) (local.get $value)))
    (local.set $bits (i32.add (local.get $bits) (i32.const 6)))
    (if (i32.ge_u (local.get $bits) (i32.const 8))
      (then
        (local.set $bits (i32.sub (local.get $bits) (i32.const 8)))
        (i32.store8 (local.get $out) (i32.shr_u (local.get $pending) (local.get $bits)))
        (local.set $out (i32.add (local.get $out) (i32.const 1)))))
    (local.set $at (i32.add (local.get $at) (i32.const 1)))
    (br $next)))
;; res_str refuses bytes that are not UTF-8 with ETRFM.
(resv $text)

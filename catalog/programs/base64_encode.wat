;; ---
;; name = "base64_encode"
;; description = "The UTF-8 bytes of the text (argument 0) in standard base64 (RFC 4648 alphabet with + and /), padded with = to a multiple of 4 characters"
;; tags = ["encoding", "base64", "text"]
;; capabilities = []
;;
;; [[params]]
;; name = "text"
;; type = "str"
;;
;; [[results]]
;; name = "encoded"
;; type = "str"
;;
;; # checked: printf '%s' 'héllo' | base64 -> aMOpbGxv
;; [[examples]]
;; args = ["héllo"]
;; results = ["aMOpbGxv"]
;;
;; # checked: printf '%s' 'ab?' | base64 -> YWI/
;; [[examples]]
;; args = ["ab?"]
;; results = ["YWI/"]
;;
;; # checked: printf '%s' 'Man 😀' | base64 -> TWFuIPCfmIA=
;; [[examples]]
;; args = ["Man 😀"]
;; results = ["TWFuIPCfmIA="]
;;
;; # checked: printf '%s' 'a' | base64 -> YQ==
;; [[examples]]
;; args = ["a"]
;; results = ["YQ=="]
;;
;; [[examples]]
;; args = [""]
;; results = [""]
;; ---
;; Three bytes make a 24-bit group, read as four 6-bit digits. A last group of 1 or 2 bytes is
;; zero-filled: it gives 2 or 3 digits, and = for the rest.
(local $text str)
(local $encoded str)
(local $alphabet str)
(local $len i32)
(local $size i32)
(local $at i32)
(local $left i32)
(local $group i32)
(local $digit i32)
(local $out i32)
(argv 0 $text)
(local.set $alphabet "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
(local.set $len (i32.load (local.get $text)))
(local.set $size (i32.mul (i32.div_u (i32.add (local.get $len) (i32.const 2)) (i32.const 3)) (i32.const 4)))
(check $encoded (call $core.alloc (i32.add (local.get $size) (i32.const 4))))
(i32.store (local.get $encoded) (local.get $size))
;; $out is the address of the next character of the result.
(local.set $out (i32.add (local.get $encoded) (i32.const 4)))
(block $done
  (loop $next
    (local.set $left (i32.sub (local.get $len) (local.get $at)))
    (br_if $done (i32.le_s (local.get $left) (i32.const 0)))
    (local.set $group (i32.shl (i32.load8_u offset=4 (i32.add (local.get $text) (local.get $at))) (i32.const 16)))
    (if (i32.gt_s (local.get $left) (i32.const 1))
      (then (local.set $group (i32.or (local.get $group)
        (i32.shl (i32.load8_u offset=5 (i32.add (local.get $text) (local.get $at))) (i32.const 8))))))
    (if (i32.gt_s (local.get $left) (i32.const 2))
      (then (local.set $group (i32.or (local.get $group)
        (i32.load8_u offset=6 (i32.add (local.get $text) (local.get $at)))))))
    ;; LEFT bytes (at most 3) fill LEFT + 1 digits.
    (local.set $digit (i32.const 0))
    (loop $digits
      (i32.store8 (local.get $out)
        (if (result i32) (i32.le_s (local.get $digit) (local.get $left))
          (then (i32.load8_u offset=4 (i32.add (local.get $alphabet)
            (i32.and (i32.shr_u (local.get $group) (i32.sub (i32.const 18) (i32.mul (local.get $digit) (i32.const 6))))
              (i32.const 63)))))
          (else (i32.const 0x3D)))) ;; =
      (local.set $out (i32.add (local.get $out) (i32.const 1)))
      (local.set $digit (i32.add (local.get $digit) (i32.const 1)))
      (br_if $digits (i32.lt_u (local.get $digit) (i32.const 4))))
    (local.set $at (i32.add (local.get $at) (i32.const 3)))
    (br $next)))
(resv $encoded)

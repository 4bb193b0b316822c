;; ---
;; name = "url_encode"
;; description = "The text (argument 0) percent-encoded for a URL component: every UTF-8 byte except A-Z a-z 0-9 - _ . ~ becomes %XX with uppercase hex (space is %20, / is encoded too), like Python's urllib.parse.quote(text, safe='')"
;; tags = ["encoding", "url", "text"]
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
;; # checked: python3 -c 'from urllib.parse import quote; print(quote("a b/c?d=é&x~_-.", safe=""))' -> a%20b%2Fc%3Fd%3D%C3%A9%26x~_-.
;; [[examples]]
;; args = ["a b/c?d=é&x~_-."]
;; results = ["a%20b%2Fc%3Fd%3D%C3%A9%26x~_-."]
;;
;; # checked: python3 -c 'from urllib.parse import quote; print(quote("100% 😀+", safe=""))' -> 100%25%20%F0%9F%98%80%2B
;; [[examples]]
;; args = ["100% 😀+"]
;; results = ["100%25%20%F0%9F%98%80%2B"]
;;
;; [[examples]]
;; args = [""]
;; results = [""]
;; ---
;; Room for the worst case (every byte encoded, 3 characters each); the length is written at
;; the end, once known.
(local $text str)
(local $encoded str)
(local $digits str)
(local $len i32)
(local $at i32)
(local $byte i32)
(local $out i32)
(argv 0 $text)
(local.set $digits "0123456789ABCDEF")
(local.set $len (i32.load (local.get $text)))
(check $encoded (call $core.alloc (i32.add (i32.mul (local.get $len) (i32.const 3)) (i32.const 4))))
(local.set $out (i32.add (local.get $encoded) (i32.const 4)))
(block $done
  (loop $next
    (br_if $done (i32.ge_u (local.get $at) (local.get $len)))
    (local.set $byte (i32.load8_u offset=4 (i32.add (local.get $text) (local.get $at))))
    (if (i32.or
          (i32.or
            (i32.lt_u (i32.sub (i32.or (local.get $byte) (i32.const 0x20)) (i32.const 0x61)) (i32.const 26)) ;; letters
            (i32.lt_u (i32.sub (local.get $byte) (i32.const 0x30)) (i32.const 10))) ;; digits
          (i32.or
            (i32.or (i32.eq (local.get $byte) (i32.const 0x2D)) (i32.eq (local.get $byte) (i32.const 0x5F))) ;; - _
            (i32.or (i32.eq (local.get $byte) (i32.const 0x2E)) (i32.eq (local.get $byte) (i32.const 0x7E))))) ;; . ~
      (then
        (i32.store8 (local.get $out) (local.get $byte))
        (local.set $out (i32.add (local.get $out) (i32.const 1))))
      (else
        (i32.store8 (local.get $out) (i32.const 0x25)) ;; %
        (i32.store8 offset=1 (local.get $out)
          (i32.load8_u offset=4 (i32.add (local.get $digits) (i32.shr_u (local.get $byte) (i32.const 4)))))
        (i32.store8 offset=2 (local.get $out)
          (i32.load8_u offset=4 (i32.add (local.get $digits) (i32.and (local.get $byte) (i32.const 15)))))
        (local.set $out (i32.add (local.get $out) (i32.const 3)))))
    (local.set $at (i32.add (local.get $at) (i32.const 1)))
    (br $next)))
(i32.store (local.get $encoded) (i32.sub (local.get $out) (i32.add (local.get $encoded) (i32.const 4))))
(resv $encoded)

;; ---
;; name = "caesar"
;; description = "The text (argument 0) with every ASCII letter shifted by the i64 argument 1 places along the alphabet, wrapping around and keeping its case; the shift may be negative or beyond 26, every other character is kept"
;; tags = ["text", "cipher"]
;; capabilities = []
;;
;; [[params]]
;; name = "text"
;; type = "str"
;;
;; [[params]]
;; name = "shift"
;; type = "i64"
;; description = "places to shift forwards (negative: backwards)"
;;
;; [[results]]
;; name = "shifted"
;; type = "str"
;;
;; # checked: python3 -c 'import string as s; k=3; t=str.maketrans(s.ascii_lowercase+s.ascii_uppercase, s.ascii_lowercase[k:]+s.ascii_lowercase[:k]+s.ascii_uppercase[k:]+s.ascii_uppercase[:k]); print("Hello, World!".translate(t))' -> Khoor, Zruog!
;; [[examples]]
;; args = ["Hello, World!", 3]
;; results = ["Khoor, Zruog!"]
;;
;; # checked: python3 -c 'import string as s; k=-29%26; t=str.maketrans(s.ascii_lowercase+s.ascii_uppercase, s.ascii_lowercase[k:]+s.ascii_lowercase[:k]+s.ascii_uppercase[k:]+s.ascii_uppercase[:k]); print("Khoor, Zruog! ça".translate(t))' -> Hello, World! çx
;; [[examples]]
;; args = ["Khoor, Zruog! ça", -29]
;; results = ["Hello, World! çx"]
;;
;; # checked: python3 -c 'import string as s; k=10**12%26; t=str.maketrans(s.ascii_lowercase+s.ascii_uppercase, s.ascii_lowercase[k:]+s.ascii_lowercase[:k]+s.ascii_uppercase[k:]+s.ascii_uppercase[:k]); print("xyz ABC".translate(t))' -> lmn OPQ
;; [[examples]]
;; args = ["xyz ABC", 1000000000000]
;; results = ["lmn OPQ"]
;;
;; [[examples]]
;; args = ["", 5]
;; results = [""]
;; ---
;; Work on bytes: the bytes of non-ASCII characters are all 0x80 or above, so they pass through
;; unchanged and the result stays UTF-8.
(local $text str)
(local $shift i64)
(local $shifted str)
(local $len i32)
(local $places i32)
(local $at i32)
(local $byte i32)
(local $base i32)
(argv 0 $text)
(argv 1 $shift)
;; Any shift is one of 0..25 places forwards; rem_s keeps the sign of the shift, hence the + 26.
(local.set $places
  (i32.wrap_i64
    (i64.rem_s (i64.add (i64.rem_s (local.get $shift) (i64.const 26)) (i64.const 26)) (i64.const 26))))
(local.set $len (i32.load (local.get $text)))
(check $shifted (call $core.alloc (i32.add (local.get $len) (i32.const 4))))
(i32.store (local.get $shifted) (local.get $len))
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
            (i32.rem_u (i32.add (i32.sub (local.get $byte) (local.get $base)) (local.get $places))
              (i32.const 26))))))
    (i32.store8 offset=4 (i32.add (local.get $shifted) (local.get $at)) (local.get $byte))
    (local.set $at (i32.add (local.get $at) (i32.const 1)))
    (br $next)))
(resv $shifted)

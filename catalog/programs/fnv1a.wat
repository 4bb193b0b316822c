;; ---
;; name = "fnv1a"
;; description = "The 64-bit FNV-1a hash of the UTF-8 bytes of a text, as a signed i64: the 64 hash bits read as two's complement, so hashes of 2^63 and above come out negative (add 2^64 for the usual unsigned value)"
;; tags = ["hashing"]
;; capabilities = []
;;
;; [[params]]
;; name = "text"
;; type = "str"
;;
;; [[results]]
;; name = "hash"
;; type = "i64"
;; description = "the hash bits as a signed integer"
;;
;; # checked: python3 -c 'h = 0xcbf29ce484222325; print(h - 2**64 if h >= 2**63 else h)' -> -3750763034362895579
;; [[examples]]
;; args = [""]
;; results = [-3750763034362895579]
;;
;; # checked: python3 -c 'from functools import reduce; h = reduce(lambda h, b: (h ^ b) * 0x100000001b3 % 2**64, "a".encode(), 0xcbf29ce484222325); print(h - 2**64 if h >= 2**63 else h)' -> -5808556873153909620
;; [[examples]]
;; args = ["a"]
;; results = [-5808556873153909620]
;;
;; # checked: python3 -c 'from functools import reduce; h = reduce(lambda h, b: (h ^ b) * 0x100000001b3 % 2**64, "foobar".encode(), 0xcbf29ce484222325); print(h - 2**64 if h >= 2**63 else h)' -> -8821353812377114648
;; [[examples]]
;; args = ["foobar"]
;; results = [-8821353812377114648]
;;
;; # checked: python3 -c 'from functools import reduce; h = reduce(lambda h, b: (h ^ b) * 0x100000001b3 % 2**64, "héllo wörld €".encode(), 0xcbf29ce484222325); print(h - 2**64 if h >= 2**63 else h)' -> 5397490506772436242
;; [[examples]]
;; args = ["héllo wörld €"]
;; results = [5397490506772436242]
;; ---
;; For each byte: XOR it into the low bits, then multiply by the FNV prime. i64.mul wraps
;; modulo 2^64, which is exactly the arithmetic FNV specifies.
(local $text str)
(local $at i32)
(local $end i32)
(local $hash i64)
(argv 0 $text)
(local.set $at (i32.add (local.get $text) (i32.const 4)))
(local.set $end (i32.add (local.get $at) (i32.load (local.get $text))))
;; The 64-bit offset basis.
(local.set $hash (i64.const 0xcbf29ce484222325))
(block $done
  (loop $next_byte
    (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
    (local.set $hash (i64.xor (local.get $hash) (i64.load8_u (local.get $at))))
    (local.set $hash (i64.mul (local.get $hash) (i64.const 0x100000001b3)))
    (local.set $at (i32.add (local.get $at) (i32.const 1)))
    (br $next_byte)))
(resv $hash)

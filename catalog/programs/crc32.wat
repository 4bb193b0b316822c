;; ---
;; name = "crc32"
;; description = "The CRC-32 (ISO-HDLC: reflected polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF, as zlib.crc32) of the UTF-8 bytes of a text, as a non-negative integer below 2^32"
;; tags = ["hashing", "checksum"]
;; capabilities = []
;;
;; [[params]]
;; name = "text"
;; type = "str"
;;
;; [[results]]
;; name = "crc"
;; type = "i64"
;; description = "the checksum, 0 to 4294967295"
;;
;; [[examples]]
;; args = [""]
;; results = [0]
;;
;; # checked: python3 -c 'import zlib; print(zlib.crc32(b"123456789"))' -> 3421780262
;; [[examples]]
;; args = ["123456789"]
;; results = [3421780262]
;;
;; # checked: python3 -c 'import zlib; print(zlib.crc32("The quick brown fox jumps over the lazy dog".encode()))' -> 1095738169
;; [[examples]]
;; args = ["The quick brown fox jumps over the lazy dog"]
;; results = [1095738169]
;;
;; # checked: python3 -c 'import zlib; print(zlib.crc32("héllo wörld €".encode()))' -> 1760461196
;; [[examples]]
;; args = ["héllo wörld €"]
;; results = [1760461196]
;; ---
;; Bit by bit, without a table: eight shift-and-XOR steps per byte cost less than building
;; 256 table entries for the short texts this is meant for.
(local $text str)
(local $at i32)
(local $end i32)
(local $crc i32)
(local $bit i32)
(local $result i64)
(argv 0 $text)
(local.set $at (i32.add (local.get $text) (i32.const 4)))
(local.set $end (i32.add (local.get $at) (i32.load (local.get $text))))
(local.set $crc (i32.const -1))
(block $done
  (loop $next_byte
    (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
    (local.set $crc (i32.xor (local.get $crc) (i32.load8_u (local.get $at))))
    (local.set $bit (i32.const 0))
    (loop $next_bit
      ;; Shift out the low bit; when it was 1, XOR in the polynomial (0 - 1 is the all-ones mask).
      (local.set $crc
        (i32.xor (i32.shr_u (local.get $crc) (i32.const 1))
                 (i32.and (i32.const 0xEDB88320) (i32.sub (i32.const 0) (i32.and (local.get $crc) (i32.const 1))))))
      (local.set $bit (i32.add (local.get $bit) (i32.const 1)))
      (br_if $next_bit (i32.lt_u (local.get $bit) (i32.const 8))))
    (local.set $at (i32.add (local.get $at) (i32.const 1)))
    (br $next_byte)))
;; Zero-extended, so that the checksum reads as the unsigned number zlib gives.
(local.set $result (i64.extend_i32_u (i32.xor (local.get $crc) (i32.const -1))))
(resv $result)

;; ---
;; name = "sha256"
;; description = "The SHA-256 digest (FIPS 180-4) of the UTF-8 bytes of a text, as 64 lowercase hex digits"
;; tags = ["hashing", "cryptography"]
;; capabilities = []
;;
;; [[params]]
;; name = "text"
;; type = "str"
;;
;; [[results]]
;; name = "digest"
;; type = "str"
;; description = "64 lowercase hex digits"
;;
;; # checked: printf '' | sha256sum | cut -d' ' -f1 -> e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
;; [[examples]]
;; args = [""]
;; results = ["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]
;;
;; # checked: printf 'abc' | sha256sum | cut -d' ' -f1 -> ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
;; [[examples]]
;; args = ["abc"]
;; results = ["ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"]
;;
;; # checked: printf 'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq' | sha256sum | cut -d' ' -f1 -> 248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1
;; [[examples]]
;; args = ["abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"]
;; results = ["248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"]
;;
;; # checked: printf 'héllo wörld €' | sha256sum | cut -d' ' -f1 -> a3260bb658a2bce4e8e8b9cd613904a51582e107bd16c453b5530bd56be4937a
;; [[examples]]
;; args = ["héllo wörld €"]
;; results = ["a3260bb658a2bce4e8e8b9cd613904a51582e107bd16c453b5530bd56be4937a"]
;; ---
;; The constants are written in hex as the standard prints them and decoded into memory at the
;; start; then the padded message is hashed 64 bytes at a time. Words are big-endian in SHA-256
;; and little-endian in wasm memory, hence the byte swaps on load and store.
(local $text str)
(local $length i32)
(local $padded_length i32)
(local $message i32)
(local $table i32)
(local $state i32)
(local $k i32)
(local $w i32)
(local $constants str)
(local $at i32)
(local $end i32)
(local $char i32)
(local $word i32)
(local $digits i32)
(local $block i32)
(local $i i32)
(local $x i32)
(local $a i32)
(local $b i32)
(local $c i32)
(local $d i32)
(local $e i32)
(local $f i32)
(local $g i32)
(local $h i32)
(local $t1 i32)
(local $t2 i32)
(local $hex str)
(local $out i32)
(local $digest str)
(argv 0 $text)
(local.set $length (i32.load (local.get $text)))
;; The table: the initial hash value H (8 words), the round constants K (64), the schedule W (64).
(check $table (call $core.alloc (i32.const 544)))
(local.set $state (local.get $table))
(local.set $k (i32.add (local.get $table) (i32.const 32)))
(local.set $w (i32.add (local.get $table) (i32.const 288)))
(local.set $constants """
  6a09e667 bb67ae85 3c6ef372 a54ff53a 510e527f 9b05688c 1f83d9ab 5be0cd19

  428a2f98 71374491 b5c0fbcf e9b5dba5 3956c25b 59f111f1 923f82a4 ab1c5ed5
  d807aa98 12835b01 243185be 550c7dc3 72be5d74 80deb1fe 9bdc06a7 c19bf174
  e49b69c1 efbe4786 0fc19dc6 240ca1cc 2de92c6f 4a7484aa 5cb0a9dc 76f988da
  983e5152 a831c66d b00327c8 bf597fc7 c6e00bf3 d5a79147 06ca6351 14292967
  27b70a85 2e1b2138 4d2c6dfc 53380d13 650a7354 766a0abb 81c2c92e 92722c85
  a2bfe8a1 a81a664b c24b8b70 c76c51a3 d192e819 d6990624 f40e3585 106aa070
  19a4c116 1e376c08 2748774c 34b0bcb5 391c0cb3 4ed8aa4a 5b9cca4f 682e6ff3
  748f82ee 78a5636f 84c87814 8cc70208 90befffa a4506ceb bef9a3f7 c67178f2
""")
;; Read the hex digits 8 at a time into successive words of the table; anything else separates.
(local.set $at (i32.add (local.get $constants) (i32.const 4)))
(local.set $end (i32.add (local.get $at) (i32.load (local.get $constants))))
(local.set $x (local.get $table))
(block $decoded
  (loop $next_char
    (br_if $decoded (i32.ge_u (local.get $at) (local.get $end)))
    (local.set $char (i32.load8_u (local.get $at)))
    (local.set $at (i32.add (local.get $at) (i32.const 1)))
    (if (i32.le_u (i32.sub (local.get $char) (i32.const 48)) (i32.const 9))
      (then (local.set $word (i32.or (i32.shl (local.get $word) (i32.const 4)) (i32.sub (local.get $char) (i32.const 48)))))
      (else
        (br_if $next_char (i32.gt_u (i32.sub (local.get $char) (i32.const 97)) (i32.const 5)))
        (local.set $word (i32.or (i32.shl (local.get $word) (i32.const 4)) (i32.sub (local.get $char) (i32.const 87))))))
    (local.set $digits (i32.add (local.get $digits) (i32.const 1)))
    (if (i32.eq (local.get $digits) (i32.const 8))
      (then
        (i32.store (local.get $x) (local.get $word))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (local.set $digits (i32.const 0))))
    (br $next_char)))
;; Padding: the message, a 1 bit, zeros, and the length in bits as a 64-bit big-endian number,
;; to a multiple of 64 bytes.
(local.set $padded_length
  (i32.and (i32.add (local.get $length) (i32.const 72)) (i32.const -64)))
(check $message (call $core.alloc (local.get $padded_length)))
(memory.copy (local.get $message) (i32.add (local.get $text) (i32.const 4)) (local.get $length))
(memory.fill (i32.add (local.get $message) (local.get $length)) (i32.const 0)
             (i32.sub (local.get $padded_length) (local.get $length)))
(i32.store8 (i32.add (local.get $message) (local.get $length)) (i32.const 0x80))
;; length * 8 as two big-endian words; bswap(x) = rotl(x, 8) & 0x00ff00ff | rotr(x, 8) & 0xff00ff00.
(local.set $x (i32.shr_u (local.get $length) (i32.const 29)))
(i32.store (i32.sub (i32.add (local.get $message) (local.get $padded_length)) (i32.const 8))
  (i32.or (i32.and (i32.rotl (local.get $x) (i32.const 8)) (i32.const 0x00ff00ff))
          (i32.and (i32.rotr (local.get $x) (i32.const 8)) (i32.const 0xff00ff00))))
(local.set $x (i32.shl (local.get $length) (i32.const 3)))
(i32.store (i32.sub (i32.add (local.get $message) (local.get $padded_length)) (i32.const 4))
  (i32.or (i32.and (i32.rotl (local.get $x) (i32.const 8)) (i32.const 0x00ff00ff))
          (i32.and (i32.rotr (local.get $x) (i32.const 8)) (i32.const 0xff00ff00))))
(local.set $block (local.get $message))
(block $hashed
  (loop $next_block
    (br_if $hashed (i32.ge_u (local.get $block) (i32.add (local.get $message) (local.get $padded_length))))
    ;; The schedule: W[0..15] are the block's words, then
    ;; W[i] = s1(W[i-2]) + W[i-7] + s0(W[i-15]) + W[i-16].
    (local.set $i (i32.const 0))
    (loop $load_word
      (local.set $x (i32.load (i32.add (local.get $block) (i32.shl (local.get $i) (i32.const 2)))))
      (i32.store (i32.add (local.get $w) (i32.shl (local.get $i) (i32.const 2)))
        (i32.or (i32.and (i32.rotl (local.get $x) (i32.const 8)) (i32.const 0x00ff00ff))
                (i32.and (i32.rotr (local.get $x) (i32.const 8)) (i32.const 0xff00ff00))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $load_word (i32.lt_u (local.get $i) (i32.const 16))))
    (loop $extend_word
      ;; x points at W[i-16]: W[i-15] is 4 bytes on, W[i-7] 36, W[i-2] 56, and W[i] 64.
      (local.set $x (i32.add (local.get $w) (i32.shl (i32.sub (local.get $i) (i32.const 16)) (i32.const 2))))
      (local.set $t1 (i32.load offset=56 (local.get $x)))
      (local.set $t2 (i32.load offset=4 (local.get $x)))
      (i32.store offset=64 (local.get $x)
        (i32.add
          (i32.add
            (i32.xor (i32.xor (i32.rotr (local.get $t1) (i32.const 17)) (i32.rotr (local.get $t1) (i32.const 19)))
                     (i32.shr_u (local.get $t1) (i32.const 10)))
            (i32.load offset=36 (local.get $x)))
          (i32.add
            (i32.xor (i32.xor (i32.rotr (local.get $t2) (i32.const 7)) (i32.rotr (local.get $t2) (i32.const 18)))
                     (i32.shr_u (local.get $t2) (i32.const 3)))
            (i32.load (local.get $x)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $extend_word (i32.lt_u (local.get $i) (i32.const 64))))
    (local.set $a (i32.load offset=0 (local.get $state)))
    (local.set $b (i32.load offset=4 (local.get $state)))
    (local.set $c (i32.load offset=8 (local.get $state)))
    (local.set $d (i32.load offset=12 (local.get $state)))
    (local.set $e (i32.load offset=16 (local.get $state)))
    (local.set $f (i32.load offset=20 (local.get $state)))
    (local.set $g (i32.load offset=24 (local.get $state)))
    (local.set $h (i32.load offset=28 (local.get $state)))
    (local.set $i (i32.const 0))
    (loop $round
      ;; t1 = h + S1(e) + ch(e, f, g) + K[i] + W[i]
      (local.set $t1
        (i32.add
          (i32.add (local.get $h)
            (i32.xor (i32.xor (i32.rotr (local.get $e) (i32.const 6)) (i32.rotr (local.get $e) (i32.const 11)))
                     (i32.rotr (local.get $e) (i32.const 25))))
          (i32.add
            (i32.xor (i32.and (local.get $e) (local.get $f))
                     (i32.and (i32.xor (local.get $e) (i32.const -1)) (local.get $g)))
            (i32.add (i32.load (i32.add (local.get $k) (i32.shl (local.get $i) (i32.const 2))))
                     (i32.load (i32.add (local.get $w) (i32.shl (local.get $i) (i32.const 2))))))))
      ;; t2 = S0(a) + maj(a, b, c)
      (local.set $t2
        (i32.add
          (i32.xor (i32.xor (i32.rotr (local.get $a) (i32.const 2)) (i32.rotr (local.get $a) (i32.const 13)))
                   (i32.rotr (local.get $a) (i32.const 22)))
          (i32.xor (i32.xor (i32.and (local.get $a) (local.get $b)) (i32.and (local.get $a) (local.get $c)))
                   (i32.and (local.get $b) (local.get $c)))))
      (local.set $h (local.get $g))
      (local.set $g (local.get $f))
      (local.set $f (local.get $e))
      (local.set $e (i32.add (local.get $d) (local.get $t1)))
      (local.set $d (local.get $c))
      (local.set $c (local.get $b))
      (local.set $b (local.get $a))
      (local.set $a (i32.add (local.get $t1) (local.get $t2)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $round (i32.lt_u (local.get $i) (i32.const 64))))
    (i32.store offset=0 (local.get $state) (i32.add (i32.load offset=0 (local.get $state)) (local.get $a)))
    (i32.store offset=4 (local.get $state) (i32.add (i32.load offset=4 (local.get $state)) (local.get $b)))
    (i32.store offset=8 (local.get $state) (i32.add (i32.load offset=8 (local.get $state)) (local.get $c)))
    (i32.store offset=12 (local.get $state) (i32.add (i32.load offset=12 (local.get $state)) (local.get $d)))
    (i32.store offset=16 (local.get $state) (i32.add (i32.load offset=16 (local.get $state)) (local.get $e)))
    (i32.store offset=20 (local.get $state) (i32.add (i32.load offset=20 (local.get $state)) (local.get $f)))
    (i32.store offset=24 (local.get $state) (i32.add (i32.load offset=24 (local.get $state)) (local.get $g)))
    (i32.store offset=28 (local.get $state) (i32.add (i32.load offset=28 (local.get $state)) (local.get $h)))
    (local.set $block (i32.add (local.get $block) (i32.const 64)))
    (br $next_block)))
;; The digest: the 8 state words, most significant nibble first, as a new 64-byte str.
(local.set $hex "0123456789abcdef")
(check $digest (call $core.alloc (i32.const 68)))
(i32.store (local.get $digest) (i32.const 64))
(local.set $out (i32.add (local.get $digest) (i32.const 4)))
(local.set $i (i32.const 0))
(loop $next_digit
  ;; Digit i is nibble 7 - i % 8 of word i / 8.
  (local.set $x
    (i32.and
      (i32.shr_u (i32.load (i32.add (local.get $state) (i32.shl (i32.shr_u (local.get $i) (i32.const 3)) (i32.const 2))))
                 (i32.shl (i32.sub (i32.const 7) (i32.and (local.get $i) (i32.const 7))) (i32.const 2)))
      (i32.const 15)))
  (i32.store8 (i32.add (local.get $out) (local.get $i))
    (i32.load8_u offset=4 (i32.add (local.get $hex) (local.get $x))))
  (local.set $i (i32.add (local.get $i) (i32.const 1)))
  (br_if $next_digit (i32.lt_u (local.get $i) (i32.const 64))))
(resv $digest)

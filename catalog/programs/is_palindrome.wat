;; ---
;; name = "is_palindrome"
;; description = "1 if the text (argument 0) reads the same backwards, else 0: case is ignored (Unicode lower case), ASCII characters other than letters and digits are skipped, every other character (é, ñ, emoji, non-ASCII punctuation) counts"
;; tags = ["text", "unicode", "predicate"]
;; capabilities = ["str"]
;;
;; [[params]]
;; name = "text"
;; type = "str"
;;
;; [[results]]
;; name = "palindrome"
;; type = "i32"
;; description = "1 or 0"
;;
;; # checked: python3 -c 's="A man, a plan, a canal: Panama!".lower(); t=[c for c in s if not c.isascii() or c.isalnum()]; print(int(t==t[::-1]))' -> 1
;; [[examples]]
;; args = ["A man, a plan, a canal: Panama!"]
;; results = [1]
;;
;; # checked: python3 -c 's="Été, été!".lower(); t=[c for c in s if not c.isascii() or c.isalnum()]; print(int(t==t[::-1]))' -> 1
;; [[examples]]
;; args = ["Été, été!"]
;; results = [1]
;;
;; # checked: python3 -c 's="Noël, Léon".lower(); t=[c for c in s if not c.isascii() or c.isalnum()]; print(int(t==t[::-1]))' -> 0
;; [[examples]]
;; args = ["Noël, Léon"]
;; results = [0]
;;
;; [[examples]]
;; args = ["hello"]
;; results = [0]
;;
;; [[examples]]
;; args = [""]
;; results = [1]
;; ---
;; Lower-case the whole text first (the host knows Unicode case), then compare characters from
;; both ends inwards, stepping over the skipped ASCII characters.
(local $text str)
(local $lo i32)
(local $hi i32)
(local $byte i32)
(local $right i32)
(local $width i32)
(local $k i32)
(local $palindrome i32)
(argv 0 $text)
(check $text (call $str.lower (local.get $text)))
;; $lo and $hi are addresses: the first byte not yet compared, and one past the last.
(local.set $lo (i32.add (local.get $text) (i32.const 4)))
(local.set $hi (i32.add (local.get $lo) (i32.load (local.get $text))))
(local.set $palindrome (i32.const 1))
(block $done
  (loop $next
    ;; Step over ASCII bytes that are not a-z or 0-9 (after lower-casing, no A-Z remain).
    (block $lo_ready
      (loop $skip_lo
        (br_if $lo_ready (i32.ge_u (local.get $lo) (local.get $hi)))
        (local.set $byte (i32.load8_u (local.get $lo)))
        (br_if $lo_ready (i32.ge_u (local.get $byte) (i32.const 0x80)))
        (br_if $lo_ready (i32.lt_u (i32.sub (local.get $byte) (i32.const 0x61)) (i32.const 26)))
        (br_if $lo_ready (i32.lt_u (i32.sub (local.get $byte) (i32.const 0x30)) (i32.const 10)))
        (local.set $lo (i32.add (local.get $lo) (i32.const 1)))
        (br $skip_lo)))
    (block $hi_ready
      (loop $skip_hi
        (br_if $hi_ready (i32.ge_u (local.get $lo) (local.get $hi)))
        (local.set $byte (i32.load8_u (i32.sub (local.get $hi) (i32.const 1))))
        (br_if $hi_ready (i32.ge_u (local.get $byte) (i32.const 0x80)))
        (br_if $hi_ready (i32.lt_u (i32.sub (local.get $byte) (i32.const 0x61)) (i32.const 26)))
        (br_if $hi_ready (i32.lt_u (i32.sub (local.get $byte) (i32.const 0x30)) (i32.const 10)))
        (local.set $hi (i32.sub (local.get $hi) (i32.const 1)))
        (br $skip_hi)))
    (br_if $done (i32.ge_u (local.get $lo) (local.get $hi)))
    ;; The last character starts at the last byte that is not a continuation byte (10xxxxxx).
    (local.set $right (i32.sub (local.get $hi) (i32.const 1)))
    (block $found
      (loop $back
        (br_if $found (i32.ne (i32.and (i32.load8_u (local.get $right)) (i32.const 0xC0)) (i32.const 0x80)))
        (local.set $right (i32.sub (local.get $right) (i32.const 1)))
        (br $back)))
    ;; Only the middle character is left: it matches itself.
    (br_if $done (i32.eq (local.get $lo) (local.get $right)))
    ;; UTF-8 is prefix-free, so two characters are equal exactly when the bytes of the last one
    ;; start the text at $lo.
    (local.set $width (i32.sub (local.get $hi) (local.get $right)))
    (local.set $k (i32.const 0))
    (block $compared
      (loop $compare
        (br_if $compared (i32.ge_u (local.get $k) (local.get $width)))
        (if (i32.ne (i32.load8_u (i32.add (local.get $lo) (local.get $k)))
                    (i32.load8_u (i32.add (local.get $right) (local.get $k))))
          (then (local.set $palindrome (i32.const 0)) (br $done)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $compare)))
    (local.set $lo (i32.add (local.get $lo) (local.get $width)))
    (local.set $hi (local.get $right))
    (br $next)))
(resv $palindrome)

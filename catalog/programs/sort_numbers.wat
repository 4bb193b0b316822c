;; ---
;; name = "sort_numbers"
;; description = "The numbers of the text (argument 0), separated by commas, spaces, tabs or newlines in any mix, sorted ascending and joined with \", \"; integers stay exact integers (i64), other numbers are floats, written in plain decimal without an exponent (1e3 gives 1000); an empty text gives an empty result; EPARSE if a piece is not a number"
;; tags = ["sorting", "numbers", "text"]
;; capabilities = ["str", "arr"]
;;
;; [[params]]
;; name = "numbers"
;; type = "str"
;;
;; [[results]]
;; name = "sorted"
;; type = "str"
;;
;; # checked: python3 -c 'import re,sys; print(", ".join(str(int(x)) if x == int(x) else repr(x) for x in sorted(float(p) for p in re.split(r"[,\s]+", sys.argv[1]) if p)))' '3, 10, -2.5, 7, 0.25' -> -2.5, 0.25, 3, 7, 10
;; [[examples]]
;; args = ["3, 10, -2.5, 7, 0.25"]
;; results = ["-2.5, 0.25, 3, 7, 10"]
;;
;; # checked: python3 -c 'import re,sys; print(", ".join(str(int(x)) if x == int(x) else repr(x) for x in sorted(float(p) for p in re.split(r"[,\s]+", sys.argv[1]) if p)))' $'5\n-1\t2,,3 1e3\n' -> -1, 2, 3, 5, 1000
;; [[examples]]
;; args = ["5\n-1\t2,,3 1e3\n"]
;; results = ["-1, 2, 3, 5, 1000"]
;;
;; # checked: python3 -c 'print(", ".join(map(str, sorted([9007199254740993, 9007199254740992, -0]))))' -> 0, 9007199254740992, 9007199254740993
;; [[examples]]
;; args = ["9007199254740993 9007199254740992 -0"]
;; results = ["0, 9007199254740992, 9007199254740993"]
;;
;; [[examples]]
;; args = [""]
;; results = [""]
;; ---
;; Every separator becomes a space; runs of them then leave empty pieces, which are skipped.
(local $text str)
(local $pieces i32)
(local $count i32)
(local $i i32)
(local $piece str)
(local $numbers i32)
(local $integer i64)
(local $float f64)
(local $status i32)
(local $sorted str)
(argv 0 $text)
(check $text (call $str.replace (local.get $text) "," " "))
(check $text (call $str.replace (local.get $text) "\t" " "))
(check $text (call $str.replace (local.get $text) "\n" " "))
(check $text (call $str.replace (local.get $text) "\r" " "))
(check $pieces (call $str.split (local.get $text) " "))
(local.set $count (call $arr.len (local.get $pieces)))
(check $numbers (call $arr.new))
(block $done
  (loop $next
    (br_if $done (i32.ge_s (local.get $i) (local.get $count)))
    (check $piece (call $arr.get_str (local.get $pieces) (local.get $i)))
    (if (call $str.len (local.get $piece))
      (then
        ;; An integer stays an i64 (exact beyond 2^53); anything else must read as a float.
        (call $str.to_i64 (local.get $piece))
        (local.set $status)
        (local.set $integer)
        (if (i32.eqz (local.get $status))
          (then (check (call $arr.push_i64 (local.get $numbers) (local.get $integer))))
          (else
            (check $float (call $str.to_f64 (local.get $piece)))
            (check (call $arr.push_f64 (local.get $numbers) (local.get $float)))))))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $next)))
(check (call $arr.sort (local.get $numbers)))
(check $sorted (call $arr.join (local.get $numbers) ", "))
(resv $sorted)

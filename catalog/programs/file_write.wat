;; ---
;; name = "file_write"
;; description = "Create or replace the file at a path (argument 0) relative to the granted directory (--fs-root with --fs-write) with a text (argument 1), making missing parent directories, and give the number of bytes written; EACCESS if the path leads outside the directory or the grant is read-only, EBOUND if the path is a directory"
;; tags = ["fs", "files"]
;; capabilities = ["fs"]
;;
;; [[params]]
;; name = "path"
;; type = "str"
;;
;; [[params]]
;; name = "text"
;; type = "str"
;;
;; [[results]]
;; name = "bytes"
;; type = "i64"
;; description = "bytes written (UTF-8)"
;;
;; [fixture.files]
;; "existing/old.txt" = "old contents"
;;
;; # checked: printf 'héllo\n' | wc -c -> 7
;; [[examples]]
;; args = ["out.txt", "héllo\n"]
;; results = [7]
;;
;; # checked: printf 'new' | wc -c -> 3
;; [[examples]]
;; args = ["existing/old.txt", "new"]
;; results = [3]
;;
;; [[examples]]
;; args = ["reports/2026/summary.txt", ""]
;; results = [0]
;;
;; [[examples]]
;; args = ["../escape.txt", "x"]
;; error = "EACCESS"
;;
;; [[examples]]
;; args = ["existing", "x"]
;; error = "EBOUND"
;; ---
(local $path str)
(local $text str)
(local $slash i32)
(local $at i32)
(local $parent str)
(local $written i64)
(argv 0 $path)
(argv 1 $text)
;; The parent is everything before the last "/" (none for a file at the root).
(local.set $slash (i32.const -1))
(block $done
  (loop $next
    (local.set $at (call $str.find (local.get $path) "/" (i32.add (local.get $slash) (i32.const 1))))
    (br_if $done (i32.lt_s (local.get $at) (i32.const 0)))
    (local.set $slash (local.get $at))
    (br $next)))
(if (i32.gt_s (local.get $slash) (i32.const 0))
  (then
    (check $parent (call $str.slice (local.get $path) (i32.const 0) (local.get $slash)))
    (check (call $fs.mkdir (local.get $parent)))))
(check (call $fs.write (local.get $path) (local.get $text)))
(local.set $written (i64.extend_i32_u (call $str.len (local.get $text))))
(resv $written)

;; ---
;; name = "file_read"
;; description = "The text of a file at a path (argument 0) relative to the granted directory (--fs-root); ENOENT if it is missing, EACCESS if the path leads outside the directory, EBOUND if it is a directory, ETRFM if it is not UTF-8"
;; tags = ["fs", "files"]
;; capabilities = ["fs"]
;;
;; [[params]]
;; name = "path"
;; type = "str"
;;
;; [[results]]
;; name = "text"
;; type = "str"
;;
;; [fixture.files]
;; "notes.txt" = "first line\nsecond line\n"
;; "docs/größe.md" = "# Größe\n"
;;
;; # checked: printf 'first line\nsecond line\n' > notes.txt && cat notes.txt | od -c | head -2 -> f i r s t   l i n e \n s e c o n d   l i n e \n
;; [[examples]]
;; args = ["notes.txt"]
;; results = ["first line\nsecond line\n"]
;;
;; [[examples]]
;; args = ["docs/größe.md"]
;; results = ["# Größe\n"]
;;
;; [[examples]]
;; args = ["missing.txt"]
;; error = "ENOENT"
;;
;; [[examples]]
;; args = ["../../etc/passwd"]
;; error = "EACCESS"
;;
;; [[examples]]
;; args = ["docs"]
;; error = "EBOUND"
;; ---
(local $path str)
(local $bytes bytes)
(local $text str)
(argv 0 $path)
(check $bytes (call $fs.read (local.get $path)))
;; fs.read gives bytes; they are a str only if they are UTF-8, which str.chars checks (-1 if not).
(if (i32.lt_s (call $str.chars (local.get $bytes)) (i32.const 0))
  (then (return (i32.const 1)))) ;; ETRFM
(local.set $text (local.get $bytes))
(resv $text)

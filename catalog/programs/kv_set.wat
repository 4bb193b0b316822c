;; ---
;; name = "kv_set"
;; description = "Store a text (argument 1) under a key (argument 0) in the key-value store (the run's namespace) and give the value it replaces, \"\" if the key was new; EBOUND for an empty key or one over 256 bytes, ENOMEM for a value over 1 MiB or a full namespace"
;; tags = ["kv", "storage"]
;; capabilities = ["kv"]
;;
;; [[params]]
;; name = "key"
;; type = "str"
;;
;; [[params]]
;; name = "value"
;; type = "str"
;;
;; [[results]]
;; name = "previous"
;; type = "str"
;; description = "the value the key held before, or \"\""
;;
;; [fixture.kv]
;; colour = "red"
;;
;; # checked: watsmith use kv_set colour blue --store kv.db --allow kv && python3 -c 'import sqlite3; print(sqlite3.connect("kv.db").execute("select value from kv where namespace = ? and key = ?", ("default", "colour")).fetchone()[0].decode())' -> blue
;; [[examples]]
;; args = ["colour", "blue"]
;; results = ["red"]
;;
;; [[examples]]
;; args = ["size", "large"]
;; results = [""]
;;
;; [[examples]]
;; args = ["", "x"]
;; error = "EBOUND"
;; ---
(local $key str)
(local $value str)
(local $previous str)
(argv 0 $key)
(argv 1 $value)
;; A key that is absent (or empty: kv.set refuses it below) has no previous value.
(if (call $kv.has (local.get $key))
  (then (check $previous (call $kv.get (local.get $key))))
  (else (local.set $previous "")))
(check (call $kv.set (local.get $key) (local.get $value)))
(resv $previous)

;; ---
;; name = "kv_get"
;; description = "The text stored under a key (argument 0) in the key-value store (the run's namespace); ENOENT if the key is absent, EBOUND if it is empty or over 256 bytes"
;; tags = ["kv", "storage"]
;; capabilities = ["kv"]
;;
;; [[params]]
;; name = "key"
;; type = "str"
;;
;; [[results]]
;; name = "value"
;; type = "str"
;;
;; [fixture.kv]
;; greeting = "hello"
;; "user/42/name" = "Zoë"
;;
;; # checked: watsmith use kv_set x y --store kv.db --allow kv && python3 -c 'import sqlite3; db = sqlite3.connect("kv.db"); db.execute("insert into kv values (?, ?, ?)", ("default", "greeting", b"hello")); db.commit()' && watsmith use kv_get greeting --store kv.db --allow kv -> hello
;; [[examples]]
;; args = ["greeting"]
;; results = ["hello"]
;;
;; [[examples]]
;; args = ["user/42/name"]
;; results = ["Zoë"]
;;
;; [[examples]]
;; args = ["farewell"]
;; error = "ENOENT"
;;
;; [[examples]]
;; args = [""]
;; error = "EBOUND"
;; ---
(local $key str)
(local $value str)
(argv 0 $key)
(check $value (call $kv.get (local.get $key)))
(resv $value)

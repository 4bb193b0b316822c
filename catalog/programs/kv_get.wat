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
;; # checked: python3 -c 'import json; json.dump({"format": "watsmith-kv", "version": 1, "namespaces": {"default": {"greeting": {"text": "hello"}}}}, open("kv.json", "w"))' && watsmith use kv_get greeting --kv-file kv.json -> hello
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

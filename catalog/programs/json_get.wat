;; ---
;; name = "json_get"
;; description = "The value at a path (argument 1) of a JSON document (argument 0), written as compact JSON text: a string keeps its quotes, an object its keys in document order; the path is items[0].name, [\"a.b\"], a JSON Pointer /items/0/name, or \"\" for the whole document; ENOENT if nothing is there, EPARSE if the document is not JSON or the path is malformed, ETRFM if a step does not fit its value (a key into an array, an index into an object)"
;; tags = ["json", "data", "query"]
;; capabilities = ["json"]
;;
;; [[params]]
;; name = "document"
;; type = "str"
;;
;; [[params]]
;; name = "path"
;; type = "str"
;;
;; [[results]]
;; name = "value"
;; type = "str"
;; description = "compact JSON text"
;;
;; # checked: python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])["items"][0]["name"]))' '{"items": [{"name": "pen", "price": 1.50}]}' -> "pen"
;; [[examples]]
;; args = ['{"items": [{"name": "pen", "price": 1.50}]}', "items[0].name"]
;; results = ['"pen"']
;;
;; # checked: python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])["items"][0], separators=(",", ":")))' '{"items": [{"name": "pen", "price": 1.50}]}' -> {"name":"pen","price":1.5}
;; [[examples]]
;; args = ['{"items": [{"name": "pen", "price": 1.50}]}', "items[0]"]
;; results = ['{"name":"pen","price":1.5}']
;;
;; # checked: python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])["名前"]["a.b"], separators=(",", ":"), ensure_ascii=False))' '{"名前": {"a.b": ["値", "😀"]}}' -> ["値","😀"]
;; [[examples]]
;; args = ['{"名前": {"a.b": ["値", "😀"]}}', '["名前"]["a.b"]']
;; results = ['["値","😀"]']
;;
;; [[examples]]
;; args = ['{"items": [{"name": "pen"}]}', "/items/0/name"]
;; results = ['"pen"']
;;
;; [[examples]]
;; args = [' [1, 2,  3] ', ""]
;; results = ["[1,2,3]"]
;; ---
;; The host parses the document and walks the path; its statuses are the program's.
(local $document str)
(local $path str)
(local $value str)
(argv 0 $document)
(argv 1 $path)
(check $value (call $json.get_json (local.get $document) (local.get $path)))
(resv $value)

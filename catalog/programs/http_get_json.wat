;; ---
;; name = "http_get_json"
;; description = "GET a JSON document from a URL (argument 0) and give the value at a path (argument 1) as compact JSON text, as json_get does: items[0].name, a JSON Pointer /items/0/name, or \"\" for the whole document; EACCESS if the host is not allowed, EREMOTE if the request fails, EPARSE if the body is not JSON, ENOENT if nothing is at the path"
;; tags = ["http", "network", "json", "data"]
;; capabilities = ["http", "json"]
;;
;; [[params]]
;; name = "url"
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
;; [fixture.http]
;; "/items.json" = '{"items": [{"name": "pen", "price": 1.50}, {"name": "ink", "price": 15.75}], "currency": "EUR"}'
;; "/page.html" = "<html>not json</html>"
;;
;; # checked: curl -s http://127.0.0.1:8000/items.json | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["items"][1]["price"]))' -> 15.75
;; [[examples]]
;; args = ["{server}/items.json", "items[1].price"]
;; results = ["15.75"]
;;
;; # checked: curl -s http://127.0.0.1:8000/items.json | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["items"][0], separators=(",", ":")))' -> {"name":"pen","price":1.5}
;; [[examples]]
;; args = ["{server}/items.json", "/items/0"]
;; results = ['{"name":"pen","price":1.5}']
;;
;; [[examples]]
;; args = ["{server}/items.json", "currency"]
;; results = ['"EUR"']
;;
;; [[examples]]
;; args = ["{server}/items.json", "items[2]"]
;; error = "ENOENT"
;;
;; [[examples]]
;; args = ["{server}/page.html", ""]
;; error = "EPARSE"
;; ---
(local $url str)
(local $path str)
(local $document str)
(local $value str)
(argv 0 $url)
(argv 1 $path)
(check $document (call $http.get (local.get $url)))
(check $value (call $json.get_json (local.get $document) (local.get $path)))
(resv $value)

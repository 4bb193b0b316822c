;; ---
;; name = "http_get"
;; description = "The body of a GET request to a URL (argument 0), as text; EACCESS if the host is not allowed (grant it with --allow-host), EREMOTE if the request fails or the response status is not 2xx"
;; tags = ["http", "network"]
;; capabilities = ["http"]
;;
;; [[params]]
;; name = "url"
;; type = "str"
;; description = "http:// or https://; redirects are followed, each hop checked against the allowlist"
;;
;; [[results]]
;; name = "body"
;; type = "str"
;;
;; [fixture.http]
;; "/hello.txt" = "hello, world\n"
;; "/notes/motd.txt" = "Welcome to the café ☕\n"
;;
;; # checked: cd fixture && python3 -m http.server 8000 & curl -s http://127.0.0.1:8000/hello.txt | od -c -> h e l l o ,   w o r l d \n
;; [[examples]]
;; args = ["{server}/hello.txt"]
;; results = ["hello, world\n"]
;;
;; # checked: curl -s http://127.0.0.1:8000/notes/motd.txt -> Welcome to the café ☕
;; [[examples]]
;; args = ["{server}/notes/motd.txt"]
;; results = ["Welcome to the café ☕\n"]
;;
;; # checked: curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8000/missing.txt -> 404
;; [[examples]]
;; args = ["{server}/missing.txt"]
;; error = "EREMOTE"
;;
;; [[examples]]
;; args = ["http://169.254.169.254/latest/meta-data/"]
;; error = "EACCESS"
;; ---
;; The host checks the allowlist and the addresses, follows redirects and reads the body.
(local $url str)
(local $body str)
(argv 0 $url)
(check $body (call $http.get (local.get $url)))
(resv $body)

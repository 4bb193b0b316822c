;; ---
;; name = "ai_complete"
;; description = "The language model's answer to a prompt (argument 0); EREMOTE if the model fails; the call and its tokens count against the run's AI budget"
;; tags = ["ai", "text"]
;; capabilities = ["ai"]
;;
;; [[params]]
;; name = "prompt"
;; type = "str"
;;
;; [[results]]
;; name = "answer"
;; type = "str"
;;
;; [fixture.ai]
;; "Translate to French: good morning" = "bonjour"
;; "Reply with the word yes" = "yes"
;;
;; # checked: not computable independently (the answer is a model's): the example checks that the program returns the fixture model's listed answer unchanged
;; [[examples]]
;; args = ["Translate to French: good morning"]
;; results = ["bonjour"]
;;
;; [[examples]]
;; args = ["Reply with the word yes"]
;; results = ["yes"]
;;
;; [[examples]]
;; args = ["a prompt the fixture model has no answer to"]
;; error = "EREMOTE"
;; ---
(local $prompt str)
(local $answer str)
(argv 0 $prompt)
(check $answer (call $ai.complete (local.get $prompt)))
(resv $answer)

//! Reading the model's action from its answer, as models really write them.

use watsmith_agent::ToolCall;
use watsmith_agent::action::{Action, parse_text, parse_tool_call};
use watsmith_catalog::Literal;
use watsmith_engine::Value;

fn body(action: Result<Action, String>) -> String {
    match action {
        Ok(Action::RunWat { body, .. }) => body,
        other => panic!("not a body: {other:?}"),
    }
}

#[test]
fn the_body_is_the_last_wat_block_whatever_surrounds_it() {
    let reply = "Let me think. I'll count them.\n\n```wat\n(local $a i64)\n```\n\nOops, better:\n\n```wat\n(local $b i64)\n(resv $b)\n```\nThis prints 0.";
    assert_eq!(body(parse_text(reply)), "(local $b i64)\n(resv $b)\n");
    // Tags in any case, `~~~` fences, and an untagged block that looks like WAT.
    assert_eq!(body(parse_text("~~~WAT\n(nop)\n~~~")), "(nop)\n");
    assert_eq!(
        body(parse_text("Here:\n```\n;; count\n(nop)\n```")),
        ";; count\n(nop)\n"
    );
    // A tagged block wins over a later untagged one; output blocks are not bodies.
    let both = "```wasm\n(local $x i32)\n```\nOutput:\n```\n(42)\n```";
    assert_eq!(body(parse_text(both)), "(local $x i32)\n");
    assert!(matches!(
        parse_text("The result is:\n```\n9592\n```"),
        Ok(Action::Answer { .. })
    ));
}

#[test]
fn an_unclosed_fence_runs_to_the_end_and_bare_code_is_code() {
    assert_eq!(
        body(parse_text("```wat\n(local $n i64)\n(argv 0 $n)")),
        "(local $n i64)\n(argv 0 $n)\n"
    );
    assert_eq!(
        body(parse_text("  (local $n i64) (resv $n)  ")),
        "(local $n i64) (resv $n)"
    );
}

#[test]
fn a_use_line_is_a_catalog_call() {
    for reply in [
        "@use gcd(12, 18)",
        "I will use the catalog.\n`@use gcd(12, 18)`",
        "Thought: gcd is in the catalog.\nAction: @use gcd( 12 ,18 )\n",
    ] {
        assert_eq!(
            parse_text(reply),
            Ok(Action::Use {
                name: "gcd".to_owned(),
                args: vec![Literal::Int(12), Literal::Int(18)],
            }),
            "{reply:?}"
        );
    }
    let error = parse_text("@use gcd(12,").expect_err("malformed");
    assert!(error.contains("expected an argument"), "{error}");
}

#[test]
fn anything_else_is_the_answer_without_its_label() {
    for (reply, answer) in [
        (
            "There are 9592 primes below 100000.",
            "There are 9592 primes below 100000.",
        ),
        ("Final answer: 42", "42"),
        ("ANSWER: forty-two\n", "forty-two"),
        ("  \n 7 \n", "7"),
    ] {
        assert_eq!(
            parse_text(reply),
            Ok(Action::Answer {
                text: answer.to_owned()
            })
        );
    }
}

#[test]
fn tool_calls_are_read_with_their_arguments() {
    let call = |name: &str, arguments: serde_json::Value| ToolCall {
        malformed: None,
        id: "call_1".to_owned(),
        name: name.to_owned(),
        arguments,
    };
    assert_eq!(
        parse_tool_call(&call(
            "run_wat",
            serde_json::json!({"body": "(nop)", "args": [1, 2.5, "x"]})
        )),
        Ok(Action::RunWat {
            body: "(nop)".to_owned(),
            args: vec![Value::I64(1), Value::F64(2.5), Value::Str("x".to_owned())],
        })
    );
    assert_eq!(
        parse_tool_call(&call(
            "use_program",
            serde_json::json!({"name": "fib", "args": [10]})
        )),
        Ok(Action::Use {
            name: "fib".to_owned(),
            args: vec![Literal::Int(10)],
        })
    );
    for (name, arguments, error) in [
        ("run_wat", serde_json::json!({}), "needs `body`"),
        (
            "run_wat",
            serde_json::json!({"body": "(nop)", "args": 3}),
            "must be an array",
        ),
        (
            "run_wat",
            serde_json::json!({"body": "(nop)", "args": [[1]]}),
            "a number or a string",
        ),
        (
            "delete_all",
            serde_json::json!({}),
            "there is no tool `delete_all`",
        ),
    ] {
        let got = parse_tool_call(&call(name, arguments)).expect_err(error);
        assert!(got.contains(error), "{got}");
    }
}

fn use_of(name: &str, args: Vec<Literal>) -> Result<Action, String> {
    Ok(Action::Use {
        name: name.to_owned(),
        args,
    })
}

#[test]
fn code_in_the_containers_models_use_is_run() {
    for (reply, expected) in [
        // Info strings with attributes, braces, other spellings of the tag.
        ("```wat title=\"primes\"\n(nop)\n```", "(nop)\n"),
        ("```{.wat}\n(nop)\n```", "(nop)\n"),
        ("```wat-plus\n(nop)\n```", "(nop)\n"),
        ("```language-webassembly\n(nop)\n```", "(nop)\n"),
        // Another language's tag on a body that is WAT.
        (
            "```rust\n(local $n i64)\n(resv $n)\n```",
            "(local $n i64)\n(resv $n)\n",
        ),
        ("```c\ni32.const 1\ndrop\n```", "i32.const 1\ndrop\n"),
        // A fence opened after text on the same line, and closed at the end of a code line.
        (
            "Here is the code: ```wat\n(nop)\n(nop)```",
            "(nop)\n(nop)\n",
        ),
        // One-line fences.
        ("```wat (i32.const 1) (drop)```", "(i32.const 1) (drop)"),
        ("Run ```(nop)``` please", "(nop)"),
        // Elements around the code.
        ("<wat>\n(nop)\n</wat>", "(nop)"),
        ("I wrote <code>(local $n i64)</code>.", "(local $n i64)"),
        (
            "<code lang=\"wat\">\n```wat\n(nop)\n```\n</code>",
            "(nop)\n",
        ),
    ] {
        assert_eq!(body(parse_text(reply)), expected, "{reply:?}");
    }
}

#[test]
fn a_tool_call_written_as_json_in_the_text_is_that_call() {
    assert_eq!(
        parse_text(
            "<tool_call>\n{\"name\": \"run_wat\", \"arguments\": {\"body\": \"(nop)\", \"args\": [3]}}\n</tool_call>"
        ),
        Ok(Action::RunWat {
            body: "(nop)".to_owned(),
            args: vec![Value::I64(3)],
        })
    );
    assert_eq!(
        parse_text(
            "I will call it:\n{\"name\": \"use_program\", \"parameters\": {\"name\": \"gcd\", \"args\": [12, 18]}}"
        ),
        use_of("gcd", vec![Literal::Int(12), Literal::Int(18)])
    );
    assert_eq!(
        parse_text(
            "```json\n{\"function\": {\"name\": \"run_wat\", \"arguments\": \"{\\\"body\\\": \\\"(nop)\\\"}\"}}\n```"
        ),
        Ok(Action::RunWat {
            body: "(nop)".to_owned(),
            args: Vec::new(),
        })
    );
    // Broken JSON arguments are reported as such, with where they break.
    let broken = parse_text(
        "<tool_call>{\"name\": \"run_wat\", \"arguments\": \"{\\\"body\\\": \\\"(nop)\"}</tool_call>",
    )
    .expect_err("cut arguments");
    assert!(broken.contains("not a JSON object"), "{broken}");
    assert!(broken.contains("ends early"), "{broken}");
}

#[test]
fn a_reply_that_is_only_code_is_never_the_answer() {
    let error = parse_text("```python\nprint(sum(range(10)))\n```").expect_err("only code");
    assert!(error.contains("only a `python` block"), "{error}");
    let error = parse_text("<tool_call>not json</tool_call>").expect_err("only code");
    assert!(error.contains("`tool_call`"), "{error}");
    // Output shown with prose around it is an answer.
    assert!(matches!(
        parse_text("The sum is:\n```text\n45\n```"),
        Ok(Action::Answer { .. })
    ));
}

#[test]
fn reasoning_is_never_run_and_the_answer_after_it_is_kept() {
    let answer = |text: &str| {
        Ok(Action::Answer {
            text: text.to_owned(),
        })
    };
    assert_eq!(
        parse_text(
            "<think>\nMaybe:\n```wat\n(unreachable)\n```\nNo, it is done.\n</think>\nThe answer is 42."
        ),
        answer("The answer is 42.")
    );
    assert_eq!(
        body(parse_text(
            "<thinking>I could write (local $n i64).</thinking>\n```wat\n(nop)\n```"
        )),
        "(nop)\n"
    );
    // The opening tag was in the chat template: the reply starts inside the reasoning.
    assert_eq!(
        parse_text("Try ```wat (unreachable)``` here.\n</think>\n\nAnswer: 7"),
        answer("7")
    );
    assert_eq!(
        parse_text("<reasoning>gcd</reasoning> @use gcd(12, 18)"),
        use_of("gcd", vec![Literal::Int(12), Literal::Int(18)])
    );
    let only = parse_text("<think>Counting primes, then ```wat\n(nop)").expect_err("cut");
    assert!(only.contains("only reasoning"), "{only}");
}

#[test]
fn use_is_a_call_at_a_line_start_or_alone_in_inline_code_and_not_in_prose() {
    let gcd = || use_of("gcd", vec![Literal::Int(12), Literal::Int(18)]);
    for reply in [
        "@use gcd(12, 18).",
        "Use `@use gcd(12, 18)`.",
        "- @use gcd(12, 18)",
        "Action: `@use gcd(12, 18)` — the catalog has it.",
    ] {
        assert_eq!(parse_text(reply), gcd(), "{reply:?}");
    }
    assert_eq!(
        parse_text("@use concat(\"a (b\", 'c)')"),
        use_of(
            "concat",
            vec![Literal::Str("a (b".into()), Literal::Str("c)".into())]
        )
    );
    for prose in [
        "I did not need @use gcd(12, 18) for this: the gcd is 6.",
        "The catalog's `gcd` (called as `@use gcd(a, b)` in general) gives 6.",
    ] {
        assert!(
            matches!(parse_text(prose), Ok(Action::Answer { .. })),
            "{prose:?}: {:?}",
            parse_text(prose)
        );
    }
}

#[test]
fn an_empty_reply_is_no_answer() {
    for reply in ["", "  \n\n", "Answer:", "answer: \n"] {
        let error = parse_text(reply).expect_err(reply);
        assert!(
            error.starts_with("the reply is empty"),
            "{reply:?}: {error}"
        );
    }
    assert!(matches!(
        parse_text("Answer: 25"),
        Ok(Action::Answer { text }) if text == "25"
    ));
}

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

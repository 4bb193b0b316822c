//! The `json` capability through real WAT-plus bodies, over a realistic document given as the
//! program's argument.

use watsmith_engine::{StatusCode, Value};

use super::{assert_refused_without, engine, error_code, results};

const SHOP: &str = r#"{
  "store": "Corner shop",
  "open": true,
  "rating": 4.5,
  "items": [
    {"name": "apple", "price": 0.5, "qty": 10},
    {"name": "bread", "price": 2.25, "qty": 2},
    {"name": "cheese", "price": 7, "qty": 1.0}
  ],
  "address": {"zip": "8001", "city": "Zürich"},
  "tags": ["fresh", "local"],
  "note": null,
  "a.b": {"c": 1},
  "x/y": {"~z": 2},
  "big": 18446744073709551615,
  "quote\"d": "yes"
}"#;

fn s(text: &str) -> Value {
    Value::Str(text.to_owned())
}

/// `calls` after the shop document was loaded into `$doc`.
fn on_shop(calls: &str) -> String {
    format!(
        "(local $doc str) (local $n i64) (local $x f64) (local $t str) (local $b i32) (local $h i32)
        (argv 0 $doc)
        {calls}"
    )
}

fn shop_results(calls: &str) -> Vec<Value> {
    results(&engine(), &on_shop(calls), vec![s(SHOP)])
}

fn shop_error(call: &str) -> StatusCode {
    error_code(&engine(), &on_shop(call), vec![s(SHOP)])
}

#[test]
fn numbers_are_read_by_dotted_path_or_pointer() {
    let values = shop_results(
        r#"(check $n (call $json.get_i64 (local.get $doc) "items[0].qty")) (resv $n)
        (check $n (call $json.get_i64 (local.get $doc) "/items/1/qty")) (resv $n)
        (check $n (call $json.get_i64 (local.get $doc) "items[2].qty")) (resv $n)
        (check $x (call $json.get_f64 (local.get $doc) "items[1].price")) (resv $x)
        (check $x (call $json.get_f64 (local.get $doc) "items[2].price")) (resv $x)
        (check $x (call $json.get_f64 (local.get $doc) "rating")) (resv $x)
        (check $x (call $json.get_f64 (local.get $doc) "big")) (resv $x)"#,
    );
    assert_eq!(
        values,
        [
            Value::I64(10),
            Value::I64(2),
            Value::I64(1),
            Value::F64(2.25),
            Value::F64(7.0),
            Value::F64(4.5),
            Value::F64(18446744073709551615.0),
        ]
    );
}

#[test]
fn text_booleans_and_sub_documents() {
    let values = shop_results(
        r#"(check $t (call $json.get_str (local.get $doc) "address.city")) (resv $t)
        (check $t (call $json.get_str (local.get $doc) "/address/zip")) (resv $t)
        (check $t (call $json.get_str (local.get $doc) "[\"quote\\\"d\"]")) (resv $t)
        (check $b (call $json.get_bool (local.get $doc) "open")) (resv $b)
        (check $t (call $json.get_json (local.get $doc) "address")) (resv $t)
        (check $t (call $json.get_json (local.get $doc) "items[1]")) (resv $t)
        (check $t (call $json.get_json (local.get $doc) "tags[1]")) (resv $t)
        (check $t (call $json.get_json "[1, {\"a\": null}]" "")) (resv $t)"#,
    );
    assert_eq!(
        values,
        [
            s("Zürich"),
            s("8001"),
            s("yes"),
            Value::I32(1),
            s(r#"{"zip":"8001","city":"Zürich"}"#),
            s(r#"{"name":"bread","price":2.25,"qty":2}"#),
            s(r#""local""#),
            s(r#"[1,{"a":null}]"#),
        ]
    );
}

#[test]
fn keys_with_dots_slashes_and_tildes_are_reachable() {
    let values = shop_results(
        r#"(check $n (call $json.get_i64 (local.get $doc) "[\"a.b\"].c")) (resv $n)
        (check $n (call $json.get_i64 (local.get $doc) "/a.b/c")) (resv $n)
        (check $n (call $json.get_i64 (local.get $doc) "/x~1y/~0z")) (resv $n)
        (check $n (call $json.get_i64 (local.get $doc) "[\"x/y\"][\"~z\"]")) (resv $n)"#,
    );
    assert_eq!(values, [1, 1, 2, 2].map(Value::I64));
}

#[test]
fn len_type_and_keys_describe_structure() {
    let values = shop_results(
        r#"(check $b (call $json.len (local.get $doc) "items")) (resv $b)
        (check $b (call $json.len (local.get $doc) "address")) (resv $b)
        (check $b (call $json.len (local.get $doc) "")) (resv $b)
        (check $b (call $json.type (local.get $doc) "note")) (resv $b)
        (check $b (call $json.type (local.get $doc) "open")) (resv $b)
        (check $b (call $json.type (local.get $doc) "rating")) (resv $b)
        (check $b (call $json.type (local.get $doc) "store")) (resv $b)
        (check $b (call $json.type (local.get $doc) "tags")) (resv $b)
        (check $b (call $json.type (local.get $doc) "address")) (resv $b)
        (check $h (call $json.keys (local.get $doc) ""))
        (check $t (call $arr.join (local.get $h) ",")) (resv $t)
        (check $h (call $json.keys (local.get $doc) "address"))
        (check $t (call $arr.join (local.get $h) ",")) (resv $t)
        (check $h (call $json.keys "{}" ""))
        (local.set $b (call $arr.len (local.get $h))) (resv $b)"#,
    );
    assert_eq!(
        values,
        [
            Value::I32(3),
            Value::I32(2),
            Value::I32(11),
            Value::I32(0),
            Value::I32(1),
            Value::I32(2),
            Value::I32(3),
            Value::I32(4),
            Value::I32(5),
            s("store,open,rating,items,address,tags,note,a.b,x/y,big,quote\"d"),
            s("zip,city"),
            Value::I32(0),
        ]
    );
}

#[test]
fn a_missing_path_is_enoent() {
    for call in [
        r#"(check $n (call $json.get_i64 (local.get $doc) "items[3].qty"))"#,
        r#"(check $n (call $json.get_i64 (local.get $doc) "items[0].weight"))"#,
        r#"(check $t (call $json.get_str (local.get $doc) "owner"))"#,
        r#"(check $t (call $json.get_json (local.get $doc) "/items/7"))"#,
        r#"(check $b (call $json.type (local.get $doc) "address.street"))"#,
        r#"(check $b (call $json.len (local.get $doc) "/nope"))"#,
        r#"(check $h (call $json.keys (local.get $doc) "a.b"))"#,
    ] {
        assert_eq!(shop_error(call), StatusCode::ENOENT, "{call}");
    }
}

#[test]
fn a_wrong_type_is_etrfm() {
    for call in [
        r#"(check $n (call $json.get_i64 (local.get $doc) "rating"))"#,
        r#"(check $n (call $json.get_i64 (local.get $doc) "big"))"#,
        r#"(check $n (call $json.get_i64 (local.get $doc) "store"))"#,
        r#"(check $x (call $json.get_f64 (local.get $doc) "note"))"#,
        r#"(check $t (call $json.get_str (local.get $doc) "items"))"#,
        r#"(check $b (call $json.get_bool (local.get $doc) "note"))"#,
        r#"(check $b (call $json.len (local.get $doc) "store"))"#,
        r#"(check $h (call $json.keys (local.get $doc) "tags"))"#,
        // Stepping into a value of another kind.
        r#"(check $x (call $json.get_f64 (local.get $doc) "items.price"))"#,
        r#"(check $x (call $json.get_f64 (local.get $doc) "address[0]"))"#,
        r#"(check $x (call $json.get_f64 (local.get $doc) "rating.value"))"#,
        r#"(check $x (call $json.get_f64 (local.get $doc) "/items/first"))"#,
    ] {
        assert_eq!(shop_error(call), StatusCode::ETRFM, "{call}");
    }
}

#[test]
fn a_malformed_path_or_document_is_eparse_and_a_bad_pointer_ebound() {
    for call in [
        r#"(check $n (call $json.get_i64 (local.get $doc) "items[0"))"#,
        r#"(check $n (call $json.get_i64 (local.get $doc) "items..qty"))"#,
        r#"(check $n (call $json.get_i64 (local.get $doc) "items[x]"))"#,
        r#"(check $n (call $json.get_i64 (local.get $doc) "/a~2"))"#,
        r#"(check $n (call $json.get_i64 "{\"a\": 1" "a"))"#,
        r#"(check $n (call $json.get_i64 "" ""))"#,
        r#"(check $b (call $json.type "{\"a\": 1} x" ""))"#,
    ] {
        assert_eq!(shop_error(call), StatusCode::EPARSE, "{call}");
    }
    for call in [
        r#"(check $n (call $json.get_i64 (i32.const -100) "a"))"#,
        r#"(check $n (call $json.get_i64 (local.get $doc) (i32.const -100)))"#,
        "(check $t (call $json.quote (i32.const -100)))",
    ] {
        assert_eq!(shop_error(call), StatusCode::EBOUND, "{call}");
    }
    assert_eq!(
        shop_error(r#"(check $t (call $json.quote "\ff"))"#),
        StatusCode::ETRFM
    );
}

#[test]
fn quote_builds_json_that_reads_back() {
    let body = r#"(local $name str) (local $q str) (local $doc str) (local $t str)
        (argv 0 $name)
        (check $q (call $json.quote (local.get $name))) (resv $q)
        (check $doc (call $str.concat "{\"name\":" (local.get $q)))
        (check $doc (call $str.concat (local.get $doc) "}"))
        (check $t (call $json.get_str (local.get $doc) "name")) (resv $t)"#;
    let name = "Zoë \"Z\" \\ o'neil\n\ttab";
    assert_eq!(
        results(&engine(), body, vec![s(name)]),
        [s(r#""Zoë \"Z\" \\ o'neil\n\ttab""#), s(name)]
    );
}

#[test]
fn a_loop_over_items_sums_the_prices() {
    // The path is rebuilt each time; the document is parsed once (see the unit test of the
    // cache in the json module).
    let body = r#"(local $doc str) (local $path str) (local $i str) (local $n i32) (local $k i32)
        (local $x f64) (local $sum f64)
        (argv 0 $doc)
        (check $n (call $json.len (local.get $doc) "items"))
        (block $done (loop $next
            (br_if $done (i32.ge_s (local.get $k) (local.get $n)))
            (check $i (call $str.from_i64 (i64.extend_i32_s (local.get $k))))
            (check $path (call $str.concat "/items/" (local.get $i)))
            (check $path (call $str.concat (local.get $path) "/price"))
            (check $x (call $json.get_f64 (local.get $doc) (local.get $path)))
            (local.set $sum (f64.add (local.get $sum) (local.get $x)))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $next)))
        (resv $sum)"#;
    assert_eq!(results(&engine(), body, vec![s(SHOP)]), [Value::F64(9.75)]);
}

#[test]
fn a_policy_without_json_refuses_the_program() {
    assert_refused_without(
        &engine(),
        r#"(local $n i64) (check $n (call $json.get_i64 "1" ""))"#,
        "json",
    );
}

#[test]
fn integers_past_the_i64_range_are_refused_on_both_sides() {
    // Past either end, a JSON parser rounds the integer to a float: -2^63 - 1 becomes -2^63,
    // which was then read as i64::MIN. Both ends are ETRFM; the ends themselves are exact.
    let body = r#"(local $doc str) (local $n i64) (argv 0 $doc)
        (check $n (call $json.get_i64 (local.get $doc) "v")) (resv $n)"#;
    let engine = engine();
    for (text, expected) in [
        ("-9223372036854775808", Some(i64::MIN)),
        ("9223372036854775807", Some(i64::MAX)),
        ("-9223372036854775809", None),
        ("9223372036854775808", None),
        ("-1e19", None),
        // A float past 2^53 may not be the integer written: refused too.
        ("1.0000000000000001e18", None),
        ("9007199254740992.0", Some(9_007_199_254_740_992)),
        ("-2.5e3", Some(-2_500)),
    ] {
        let doc = s(&format!("{{\"v\": {text}}}"));
        match expected {
            Some(n) => assert_eq!(results(&engine, body, vec![doc]), [Value::I64(n)], "{text}"),
            None => assert_eq!(
                error_code(&engine, body, vec![doc]),
                StatusCode::ETRFM,
                "{text}"
            ),
        }
    }
}

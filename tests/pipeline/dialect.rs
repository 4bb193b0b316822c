//! Valid WAT the dialect must take as WebAssembly defines it, run through the preprocessor, the
//! engine's template and Wasmtime: block types with parameters, typed `select`, numeric
//! immediates in every form the text format allows, quoted identifiers and annotations. Each
//! body computes a value by hand-checkable arithmetic, so a misread immediate or a dropped
//! form gives another result, not just a refusal.

use std::sync::OnceLock;

use watsmith_engine::{Engine, EngineConfig, Limits, Policy, Status, Value};

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new(&EngineConfig::default()).expect("the engine builds"))
}

/// The results of `body` run with `args`, which must succeed.
fn results(body: &str, args: Vec<Value>) -> Vec<Value> {
    let outcome = engine().exec(body, args, &Policy::deny_all(), &Limits::default());
    assert_eq!(outcome.status, Status::Ok, "{body}\n{outcome:#?}");
    outcome.results
}

/// The one i32 result of `body` run with the i32 argument `arg`.
fn i32_result(body: &str, arg: i32) -> i32 {
    match results(body, vec![Value::I32(arg)]).as_slice() {
        [Value::I32(n)] => *n,
        other => panic!("{body}\nresults {other:?}"),
    }
}

mod block_types {
    use super::*;

    #[test]
    fn folded_block_loop_and_if_take_parameters() {
        // 1 + 2 through a block that takes its operand from the stack.
        let block = "(local $c i32) (local $r i32) (argv 0 $c)
            (local.set $r (i32.const 1) (block (param i32) (result i32) (i32.const 2) (i32.add)))
            (resv $r)";
        assert_eq!(i32_result(block, 0), 3);
        // A loop that doubles its parameter until it passes 100: 3, 6, ..., 192.
        let looped = "(local $c i32) (local $r i32) (argv 0 $c)
            (local.get $c)
            (loop $again (param i32) (result i32)
              (i32.mul (i32.const 2))
              (local.tee $r)
              (br_if $again (i32.lt_u (local.get $r) (i32.const 100))))
            (local.set $r)
            (resv $r)";
        assert_eq!(i32_result(looped, 3), 192);
        // 10 + 1 or 10 - 2, the parameter named twice in two groups of `param`.
        let branch = "(local $c i32) (local $r i32) (argv 0 $c)
            (i32.const 10) (i32.const 20)
            (if (param i32) (param i32) (result i32) (local.get $c)
              (then (drop) (i32.const 1) (i32.add))
              (else (drop) (i32.const 2) (i32.sub)))
            (local.set $r)
            (resv $r)";
        assert_eq!(i32_result(branch, 1), 11);
        assert_eq!(i32_result(branch, 0), 8);
    }

    #[test]
    fn flat_block_loop_and_if_take_parameters() {
        let block = "(local $c i32) (local $r i32) (argv 0 $c)
            i32.const 1
            block (param i32) (result i32) i32.const 2 i32.add end
            local.set $r
            (resv $r)";
        assert_eq!(i32_result(block, 0), 3);
        let looped = "(local $c i32) (local $r i32) (argv 0 $c)
            local.get $c
            loop $again (param i32) (result i32)
              i32.const 3 i32.mul local.tee $r
              local.get $r i32.const 50 i32.lt_u br_if $again
            end
            local.set $r
            (resv $r)";
        // 2, 6, 18, 54.
        assert_eq!(i32_result(looped, 2), 54);
        let branch = "(local $c i32) (local $r i32) (argv 0 $c)
            i32.const 10 local.get $c
            if (param i32) (result i32) i32.const 1 i32.add else i32.const 2 i32.sub end
            local.set $r
            (resv $r)";
        assert_eq!(i32_result(branch, 1), 11);
        assert_eq!(i32_result(branch, 0), 8);
    }

    #[test]
    fn several_results_come_out_of_a_block_with_parameters() {
        let body = "(local $a i32) (local $b i64)
            (i32.const 7)
            (block (param i32) (result i32) (result i64) (i64.const 9))
            (local.set $b) (local.set $a)
            (resv $a) (resv $b)";
        assert_eq!(results(body, vec![]), vec![Value::I32(7), Value::I64(9)]);
    }
}

mod select {
    use super::*;

    #[test]
    fn typed_select_folded_and_flat() {
        let folded = "(local $c i32) (local $r i32) (argv 0 $c)
            (local.set $r (select (result i32) (i32.const 10) (i32.const 20) (local.get $c)))
            (resv $r)";
        assert_eq!(i32_result(folded, 1), 10);
        assert_eq!(i32_result(folded, 0), 20);
        let flat = "(local $c i32) (local $r i64) (argv 0 $c)
            i64.const 3 i64.const 4 local.get $c select (result i64) local.set $r
            (resv $r)";
        assert_eq!(results(flat, vec![Value::I32(0)]), vec![Value::I64(4)]);
        let float = "(local $c i32) (local $x f64) (argv 0 $c)
            (local.set $x (select (result f64) (f64.const 1.5) (f64.const 2.5) (local.get $c)))
            (resv $x)";
        assert_eq!(results(float, vec![Value::I32(7)]), vec![Value::F64(1.5)]);
    }
}

mod immediates {
    use super::*;

    #[test]
    fn local_indexes_in_hex_and_with_separators() {
        // Local 0 is `$a`, local 1 `$b`: hex and decimal forms of both.
        let body = "(local $a i32) (local $b i32)
            (argv 0x0 $a)
            (local.set 0x1 (i32.mul (local.get 0x0) (i32.const 1_000)))
            (local.set 1 (i32.add (local.get 0x0_1) (local.get 0)))
            local.get 0x1 local.tee 0x1 drop
            (resv $b)";
        assert_eq!(i32_result(body, 7), 7007);
    }

    #[test]
    fn branch_depths_in_hex() {
        // br_table 0x1 0x0 0x1: index 0 leaves the outer block (r stays 1), 1 the inner (r = 2).
        let body = "(local $c i32) (local $r i32) (argv 0 $c)
            (local.set $r (i32.const 1))
            (block
              (block
                (br_table 0x1 0x0 0x1 (local.get $c)))
              (local.set $r (i32.const 2))
              (br_if 0x0 (i32.eqz (local.get $c)))
              (br 0x0))
            (resv $r)";
        assert_eq!(i32_result(body, 0), 1);
        assert_eq!(i32_result(body, 1), 2);
        assert_eq!(i32_result(body, 2), 1);
    }

    #[test]
    fn memory_offsets_and_alignments_in_hex() {
        let body = "(local $c i32) (local $r i32) (argv 0 $c)
            (i32.store offset=0x100 align=0x4 (i32.const 0) (local.get $c))
            (local.set $r (i32.load offset=0x80 align=0x2 (i32.const 0x80)))
            (i64.store offset=1_024 align=8 (i32.const 0) (i64.const 5))
            (local.set $r (i32.add (local.get $r) (i32.load offset=0x400 (i32.const 0))))
            (resv $r)";
        assert_eq!(i32_result(body, 37), 42);
    }
}

mod identifiers {
    use super::*;

    #[test]
    fn quoted_identifiers_name_locals_and_labels() {
        let body = r#"(local $"my count" i32) (local $"n" i32)
            (argv 0 $n)
            (local.set $"my count" (i32.const 0))
            (block $"done"
              (loop $"next"
                (br_if $done (i32.eqz (local.get $"\6e")))
                (local.set $"my count" (i32.add (local.get $"my count") (local.get $n)))
                (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                (br $"next")))
            (resv $"my count")"#;
        // 4 + 3 + 2 + 1.
        assert_eq!(i32_result(body, 4), 10);
    }

    #[test]
    fn a_quoted_host_function_name_is_imported_as_the_plain_one() {
        let body = r#"(local $k i32) (local.set $k (call $"core.arg_count")) (resv $k)"#;
        let args = vec![Value::I32(5), Value::I32(6)];
        assert_eq!(results(body, args), vec![Value::I32(2)]);
    }

    #[test]
    fn a_quoted_plain_name_is_the_same_local() {
        let body = r#"(local $x i64) (local $"x" i64)
            (argv 0 $"x") (local.set $x (i64.add (local.get $"x") (i64.const 1))) (resv $x)"#;
        assert_eq!(results(body, vec![Value::I64(41)]), vec![Value::I64(42)]);
    }
}

mod annotations {
    use super::*;

    #[test]
    fn annotations_are_ignored_wherever_they_stand() {
        let body = r#"(@name "sum") (local $n i32) (@custom "x" (after func) "a ) in a string")
            (argv 0 $n)
            (local.set $n (@hint) (i32.add (local.get $n) (@a (; ) ;) x) (i32.const 1)))
            local.get $n (@metadata.code.branch_hint "\01") i32.const 2 i32.mul local.set $n
            (@multi
               line)
            (resv $n)"#;
        assert_eq!(i32_result(body, 4), 10);
    }
}

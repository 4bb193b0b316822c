//! The `math` capability through real WAT-plus bodies. Expected values are exact mathematical
//! results that f64 represents (or the nearest f64 of a known constant).

use std::f64::consts::{FRAC_PI_2, FRAC_PI_4, SQRT_2};

use watsmith_engine::Value;

use super::{assert_refused_without, engine, results};

/// The f64 results of `calls`, each `(call $math.F ...)` stored into `$x` and returned.
fn values(calls: &[&str]) -> Vec<f64> {
    let body: String = std::iter::once("(local $x f64) (local $zero f64)".to_owned())
        .chain(
            calls
                .iter()
                .map(|call| format!("(local.set $x {call}) (resv $x)")),
        )
        .collect::<Vec<_>>()
        .join("\n");
    results(&engine(), &body, vec![])
        .into_iter()
        .map(|value| match value {
            Value::F64(x) => x,
            other => panic!("not an f64: {other:?}"),
        })
        .collect()
}

#[test]
fn powers_and_logarithms() {
    let got = values(&[
        "(call $math.pow (f64.const 2) (f64.const 10))",
        "(call $math.pow (f64.const 9) (f64.const 0.5))",
        "(call $math.pow (f64.const 2) (f64.const -1))",
        "(call $math.exp (f64.const 0))",
        "(call $math.exp2 (f64.const 10))",
        "(call $math.ln (f64.const 1))",
        "(call $math.log10 (f64.const 1000))",
        "(call $math.log2 (f64.const 8))",
        "(call $math.cbrt (f64.const -27))",
        "(call $math.ln (local.get $zero))",
    ]);
    assert_eq!(
        got,
        [
            1024.0,
            3.0,
            0.5,
            1.0,
            1024.0,
            0.0,
            3.0,
            3.0,
            -3.0,
            f64::NEG_INFINITY
        ]
    );
    let e = values(&["(call $math.exp (f64.const 1))"])[0];
    assert!((e - std::f64::consts::E).abs() < 1e-15, "{e}");
}

#[test]
fn trigonometry_in_radians() {
    let got = values(&[
        "(call $math.sin (f64.const 0))",
        "(call $math.cos (f64.const 0))",
        "(call $math.tan (f64.const 0))",
        "(call $math.asin (f64.const 1))",
        "(call $math.acos (f64.const 1))",
        "(call $math.atan (f64.const 1))",
        // atan2 takes y first: the point (x=-1, y=1) is at 3pi/4, (x=1, y=0) at 0.
        "(call $math.atan2 (f64.const 1) (f64.const -1))",
        "(call $math.atan2 (f64.const 0) (f64.const 1))",
        "(call $math.atan2 (f64.const 1) (f64.const 0))",
        "(call $math.sinh (f64.const 0))",
        "(call $math.cosh (f64.const 0))",
        "(call $math.tanh (f64.const 0))",
    ]);
    let expected = [
        0.0,
        1.0,
        0.0,
        FRAC_PI_2,
        0.0,
        FRAC_PI_4,
        3.0 * FRAC_PI_4,
        0.0,
        FRAC_PI_2,
        0.0,
        1.0,
        0.0,
    ];
    assert_eq!(got.len(), expected.len());
    for (i, (got, expected)) in got.iter().zip(expected).enumerate() {
        assert!((got - expected).abs() < 1e-15, "#{i}: {got} != {expected}");
    }
    let half_turn = values(&["(call $math.cos (f64.const 3.141592653589793))"])[0];
    assert_eq!(half_turn, -1.0, "cos(pi)");
}

#[test]
fn hypot_and_fmod() {
    let got = values(&[
        "(call $math.hypot (f64.const 3) (f64.const 4))",
        "(call $math.hypot (f64.const -5) (f64.const 12))",
        "(call $math.fmod (f64.const 7.5) (f64.const 2))",
        "(call $math.fmod (f64.const -7.5) (f64.const 2))",
        "(call $math.fmod (f64.const 7.5) (f64.const -2))",
    ]);
    assert_eq!(got, [5.0, 13.0, 1.5, -1.5, 1.5]);
    // x*x would overflow to inf; hypot does not.
    let big = values(&["(call $math.hypot (f64.const 1e300) (f64.const 1e300))"])[0];
    assert!((big / 1e300 - SQRT_2).abs() < 1e-15, "{big}");
}

#[test]
fn out_of_domain_arguments_give_nan_not_an_error() {
    let got = values(&[
        "(call $math.ln (f64.const -1))",
        "(call $math.asin (f64.const 2))",
        "(call $math.acos (f64.const -1.5))",
        "(call $math.fmod (f64.const 1) (local.get $zero))",
        "(call $math.pow (f64.const -8) (f64.const 0.5))",
    ]);
    assert_eq!(got.len(), 5);
    assert!(got.iter().all(|x| x.is_nan()), "{got:?}");
}

#[test]
fn a_policy_without_math_refuses_the_program() {
    assert_refused_without(
        &engine(),
        "(local $x f64) (local.set $x (call $math.pow (f64.const 2) (f64.const 3)))",
        "math",
    );
}

//! Bodies of about 1 MiB, each of a shape that once made a pass of the preprocessor
//! superlinear: what `bounds` checks for their diagnostics and the `preprocess` benchmark times.

/// Bodies of about 1 MiB (the limit), each of a shape that once made some pass of the
/// preprocessor superlinear. Each must be answered at once: every pass is linear in the body
/// or bounded in total, and nothing is spent on diagnostics past the cap. (No clock is read
/// here; before the fixes, the first shape took 55 s and the unknown names about a minute.)
pub(crate) fn megabyte_bodies() -> Vec<(&'static str, String)> {
    const SIZE: usize = 1 << 20;
    let fill = |prefix: &str, unit: &str| {
        let room = SIZE - prefix.len();
        format!("{prefix}{}", unit.repeat(room / unit.len()))
    };
    let staircase = {
        let mut body = String::from("(local $x i32)\n");
        let mut depth = 0;
        while body.len() + depth + 8 < SIZE {
            body.push_str(&" ".repeat(depth));
            body.push_str("(block\n");
            depth = (depth + 1) % 1000;
        }
        body
    };
    let long_names: Vec<String> = (0..1_900).map(|i| format!("$local_{i:0>120}")).collect();
    let declared_then_misspelt = {
        let mut body: String = long_names
            .iter()
            .map(|name| format!("(local {name} i64)\n"))
            .collect();
        let mut i = 0;
        while body.len() + 200 < SIZE {
            let name = &long_names[i % long_names.len()];
            body.push_str(&format!("(local.set {}x (i64.const 1))\n", name));
            i += 1;
        }
        body
    };
    vec![
        ("close-paren-per-line", fill("(local $x i32)\n", ")\n")),
        ("open-paren-per-line", fill("(local $x i32)\n", "(\n")),
        ("staircase", staircase),
        ("long-locals-misspelt", declared_then_misspelt),
        (
            "unknown-instructions",
            fill("", "(i32.frobnicate_all_of_it)\n"),
        ),
        ("unknown-labels", fill("(block $outer\n", "(br $outre)\n")),
        (
            "unknown-locals",
            fill("(local $count i32)\n", "(local.get $cnt)\n"),
        ),
        (
            "macros-of-unknown-locals",
            fill("(local $count i32)\n", "(resv $cnt)\n"),
        ),
        (
            "declared-after-use",
            fill("", "(local.set $late (i32.const 1))\n(local $late i32)\n"),
        ),
        ("duplicate-locals", fill("", "(local $same i32)\n")),
        (
            "conflicting-locals",
            fill("", "(local $same i32) (local $same i64)\n"),
        ),
        (
            "strings",
            fill("(local $s str)\n", "(local.set $s \"abc\")\n"),
        ),
        (
            "unterminated-strings",
            fill("(local $s str)\n", "(local.set $s \"abc)\n"),
        ),
        ("fences", fill("", "```wat\n(nop)\n```\n")),
        ("lone-carriage-returns", fill("", "(nop)\r")),
        ("one-long-line-of-errors", fill("(", ") ) ")),
        ("line-comments", fill("", ";; (local $x i32) (resv $x)\n")),
        ("block-comments", fill("", "(; (local $x ;) (nop)\n")),
        ("deep-nesting", fill("", "(i32.add (i32.const 1)\n")),
        ("bang-macros", fill("(local $n i64)\n", "(argv! 0 $n)\n")),
        (
            "numbers-out-of-range",
            fill("", "(drop (i32.const 99999999999999999999))\n"),
        ),
    ]
}

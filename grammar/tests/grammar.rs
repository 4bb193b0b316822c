//! Grammar tests: the committed parser matches `grammar.js`, the corpus parses as recorded, and
//! malformed input yields local ERROR nodes rather than a failed parse.
//!
//! `BLESS=1 cargo test -p watsmith-grammar --test grammar` regenerates `src/` from `grammar.js`
//! and rewrites the expected trees of the corpus; review the diff before committing.

use std::fs;
use std::path::{Path, PathBuf};

use tree_sitter::{Parser, Tree};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn blessing() -> bool {
    std::env::var_os("BLESS").is_some_and(|v| v != "0")
}

fn parse(source: &str) -> Tree {
    let mut parser = Parser::new();
    parser
        .set_language(&watsmith_grammar::LANGUAGE.into())
        .expect("grammar ABI is supported by the tree-sitter crate");
    parser.parse(source, None).expect("parse returns a tree")
}

mod drift {
    use super::*;

    /// Regenerates the parser from `grammar.js` with tree-sitter's own generator (QuickJS
    /// runtime, no Node) into a temporary directory and compares it with the committed files.
    #[test]
    fn committed_parser_matches_grammar_js() {
        let fresh = tempfile::tempdir().expect("temp dir");
        fs::copy(
            crate_dir().join("grammar.js"),
            fresh.path().join("grammar.js"),
        )
        .expect("copy grammar.js");
        let mut diagnostics = Vec::new();
        tree_sitter_generate::generate_parser_in_directory(
            fresh.path(),
            None::<&Path>,
            None::<&Path>,
            tree_sitter_generate::ABI_VERSION_MAX,
            None,
            Some("native"),
            true,
            tree_sitter_generate::OptLevel::default(),
            &mut diagnostics,
        )
        .expect("grammar.js generates a parser");
        assert!(
            diagnostics.is_empty(),
            "generator diagnostics: {diagnostics:?}"
        );

        let mut stale = Vec::new();
        for file in [
            "parser.c",
            "grammar.json",
            "node-types.json",
            "tree_sitter/parser.h",
        ] {
            let generated =
                fs::read_to_string(fresh.path().join("src").join(file)).expect("generated file");
            let committed_path = crate_dir().join("src").join(file);
            let committed = fs::read_to_string(&committed_path).unwrap_or_default();
            if generated != committed {
                if blessing() {
                    fs::write(&committed_path, generated).expect("write blessed file");
                } else {
                    stale.push(file);
                }
            }
        }
        assert!(
            stale.is_empty(),
            "src/{stale:?} drifted from grammar.js; regenerate with \
             `BLESS=1 cargo test -p watsmith-grammar --test grammar` and rebuild"
        );
    }
}

mod corpus {
    use super::*;

    struct Case {
        name: String,
        input: String,
        expected: String,
    }

    const RULE: &str = "==================";
    const SEPARATOR: &str = "\n---\n";

    fn read_corpus(path: &Path) -> Vec<Case> {
        let text = fs::read_to_string(path).expect("corpus file");
        let mut cases = Vec::new();
        // Each case: RULE / name / RULE / input / --- / expected tree.
        let mut rest = text.as_str();
        while let Some(start) = rest.find(RULE) {
            let after = &rest[start + RULE.len()..];
            let (name, after) = after
                .trim_start_matches('=')
                .split_once('\n')
                .unwrap_or(("", ""));
            let name = if name.trim().is_empty() {
                let (name, tail) = after.split_once('\n').unwrap_or((after, ""));
                let tail = tail.trim_start_matches('=');
                rest = tail.strip_prefix('\n').unwrap_or(tail);
                name.trim().to_owned()
            } else {
                rest = after;
                name.trim().to_owned()
            };
            let end = rest
                .find(&format!("\n{RULE}"))
                .map_or(rest.len(), |i| i + 1);
            let case = &rest[..end];
            let (input, expected) = case.split_once(SEPARATOR).unwrap_or_else(|| {
                panic!("{}: case `{name}` has no `---` separator", path.display())
            });
            cases.push(Case {
                name,
                input: input.trim_matches('\n').to_owned(),
                expected: expected.trim().to_owned(),
            });
            rest = &rest[end..];
        }
        cases
    }

    /// Pretty-prints an s-expression the way tree-sitter's corpus files show it: one node per
    /// line, children indented, a field label on the line of its node.
    fn pretty(sexp: &str) -> String {
        let mut out = String::new();
        let mut depth = 0usize;
        let mut after_label = false;
        for token in sexp
            .replace('(', " (")
            .replace(')', " )")
            .split_whitespace()
        {
            if token == ")" {
                out.push(')');
                depth = depth.saturating_sub(1);
                continue;
            }
            let opens_child = token.starts_with('(') || token.ends_with(':');
            if opens_child && depth > 0 && !after_label {
                out.push('\n');
                out.push_str(&"  ".repeat(depth));
            } else if !out.is_empty() && !out.ends_with('\n') && !out.ends_with('(') {
                out.push(' ');
            }
            out.push_str(token);
            after_label = token.ends_with(':');
            if token.starts_with('(') {
                depth += 1;
            }
        }
        out
    }

    fn normalise(sexp: &str) -> String {
        sexp.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .replace("( ", "(")
            .replace(" )", ")")
    }

    fn write_corpus(path: &Path, cases: &[Case]) {
        let mut text = String::new();
        for case in cases {
            let tree = parse(&case.input);
            text.push_str(&format!(
                "{RULE}\n{}\n{RULE}\n\n{}\n\n---\n\n{}\n\n",
                case.name,
                case.input,
                pretty(&tree.root_node().to_sexp())
            ));
        }
        fs::write(path, text.trim_end().to_owned() + "\n").expect("write corpus");
    }

    #[test]
    fn corpus_parses_as_recorded() {
        let dir = crate_dir().join("test/corpus");
        let mut files: Vec<_> = fs::read_dir(&dir)
            .expect("test/corpus exists")
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "txt"))
            .collect();
        files.sort();
        assert!(
            files.len() >= 5,
            "corpus files missing in {}",
            dir.display()
        );

        let mut failures = Vec::new();
        let mut count = 0;
        for file in &files {
            let cases = read_corpus(file);
            assert!(!cases.is_empty(), "{} holds no cases", file.display());
            if blessing() {
                write_corpus(file, &cases);
                continue;
            }
            for case in &cases {
                count += 1;
                let actual = parse(&case.input).root_node().to_sexp();
                if normalise(&actual) != normalise(&case.expected) {
                    failures.push(format!(
                        "{} / {}:\n  expected: {}\n  actual:   {}",
                        file.file_name().and_then(|n| n.to_str()).unwrap_or("?"),
                        case.name,
                        normalise(&case.expected),
                        normalise(&actual)
                    ));
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{} corpus case(s) differ:\n{}",
            failures.len(),
            failures.join("\n")
        );
        assert!(blessing() || count >= 40, "only {count} corpus cases");
    }

    #[test]
    fn pretty_printer_keeps_fields_on_their_node() {
        assert_eq!(
            pretty("(body (local_decl name: (identifier) type: (value_type)))"),
            "(body\n  (local_decl\n    name: (identifier)\n    type: (value_type)))"
        );
    }
}

mod robustness {
    use super::*;

    fn error_nodes(tree: &Tree) -> Vec<(usize, usize)> {
        let mut found = Vec::new();
        let mut cursor = tree.walk();
        let mut stack = vec![tree.root_node()];
        while let Some(node) = stack.pop() {
            if node.is_error() || node.is_missing() {
                found.push((node.start_byte(), node.end_byte()));
            }
            stack.extend(node.children(&mut cursor));
        }
        found
    }

    #[test]
    fn malformed_instruction_yields_a_local_error() {
        let source = "(local $a i32)\n(local.set $a (i32.const 1))\n(i32.const )\n(local.set $a (i32.const 2))";
        let tree = parse(source);
        let root = tree.root_node();
        assert_eq!(root.kind(), "body");
        assert!(root.has_error());
        let errors = error_nodes(&tree);
        assert!(!errors.is_empty());
        let bad_line = source.find("(i32.const )").expect("bad line present");
        for (start, end) in &errors {
            assert!(
                *start >= bad_line && *end <= bad_line + "(i32.const )".len(),
                "error {start}..{end} leaks outside the bad line"
            );
        }
        // The good statements around it still parse as such.
        let kinds: Vec<_> = (0..root.named_child_count())
            .filter_map(|i| root.named_child(i as u32))
            .map(|n| n.kind())
            .collect();
        assert_eq!(kinds.first(), Some(&"local_decl"));
        assert_eq!(kinds.last(), Some(&"folded_instr"));
    }

    #[test]
    fn unknown_mnemonic_is_a_node_not_an_error() {
        let tree = parse("(i32.ad (local.get $x) (i32.const 1))");
        let root = tree.root_node();
        assert!(!root.has_error(), "{}", root.to_sexp());
        assert_eq!(
            root.to_sexp(),
            "(body (folded_instr instr: (unknown_instr name: (word)) operand: (folded_instr instr: \
             (local_instr local: (identifier))) operand: (folded_instr instr: \
             (const_instr value: (number)))))"
        );
    }

    #[test]
    fn unterminated_block_comment_is_an_error_not_a_comment() {
        let tree = parse("(local $a i32) (; never closed");
        assert!(tree.root_node().has_error());
    }

    #[test]
    fn arbitrary_bytes_always_give_a_tree() {
        let inputs = [
            "",
            ")",
            "((((",
            "\"",
            "\"\"\"",
            "(; (; ;)",
            "$",
            "0x",
            "(argv",
            "block end end",
            "(if (then) (else) (else))",
            "\u{0}\u{1}",
            "(module (func",
            "i32.const -",
        ];
        for input in inputs {
            let tree = parse(input);
            assert_eq!(tree.root_node().kind(), "body", "input {input:?}");
            assert_eq!(tree.root_node().end_byte(), input.len(), "input {input:?}");
        }
    }
}

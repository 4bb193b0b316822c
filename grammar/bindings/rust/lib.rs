//! The tree-sitter grammar of WAT-plus, the WebAssembly Text dialect in which a model writes
//! watsmith programs (see `docs/dialect.md`).
//!
//! ```
//! let mut parser = tree_sitter::Parser::new();
//! parser
//!     .set_language(&watsmith_grammar::LANGUAGE.into())
//!     .expect("the grammar's ABI matches the tree-sitter crate");
//! let tree = parser
//!     .parse("(local $n i64) (argv 0 $n) (resv $n)", None)
//!     .expect("a parser with a language always returns a tree");
//! assert_eq!(tree.root_node().kind(), "body");
//! assert!(!tree.root_node().has_error());
//! ```
//!
//! The parser is generated from `grammar.js` into `src/parser.c`, which is committed and compiled
//! by this crate's build script together with the external scanner `src/scanner.c` (nested block
//! comments and raw `"""` strings). Regenerate it after editing the grammar with
//! `BLESS=1 cargo test -p watsmith-grammar --test grammar` (or `tree-sitter generate
//! --js-runtime native` in `grammar/`); the same test fails while the committed files are stale.

#![deny(missing_docs)]

use tree_sitter_language::LanguageFn;

#[expect(
    unsafe_code,
    reason = "the one FFI declaration of the generated C parser"
)]
unsafe extern "C" {
    fn tree_sitter_watplus() -> *const ();
}

/// The tree-sitter [`LanguageFn`] of WAT-plus; convert it with `.into()` for a `Parser`.
#[expect(
    unsafe_code,
    reason = "`tree_sitter_watplus` is the generated parser's entry point"
)]
pub const LANGUAGE: LanguageFn = unsafe { LanguageFn::from_raw(tree_sitter_watplus) };

/// The node types of the grammar (tree-sitter's `node-types.json`).
pub const NODE_TYPES: &str = include_str!("../../src/node-types.json");

/// The grammar's source, for tools that want to show or regenerate it.
pub const GRAMMAR_JS: &str = include_str!("../../grammar.js");

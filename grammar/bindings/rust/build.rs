//! Compiles the committed, generated C parser and the hand-written external scanner.
//!
//! No Node and no tree-sitter CLI are needed at build time: `src/parser.c` is generated from
//! `grammar.js` ahead of time and committed (see the grammar crate's README section), and a test
//! fails if it drifts from `grammar.js`.

fn main() {
    let src_dir = std::path::Path::new("src");

    let mut c_config = cc::Build::new();
    c_config
        .std("c11")
        .include(src_dir)
        .flag_if_supported("-Wno-unused-parameter")
        .flag_if_supported("-Wno-unused-but-set-variable")
        .flag_if_supported("-Wno-trigraphs");

    for file in ["parser.c", "scanner.c"] {
        let path = src_dir.join(file);
        c_config.file(&path);
        println!("cargo:rerun-if-changed={}", path.display());
    }
    println!("cargo:rerun-if-changed=src/tree_sitter/parser.h");

    c_config.compile("tree-sitter-watplus");
}

use crate::*;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub(crate) fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn examples() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(workspace().join("examples"))
        .expect("examples/ exists")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "wat"))
        .collect();
    paths.sort();
    paths
}

/// The words of a command line, with '...' and "..." quoting as a shell reads them.
pub(crate) fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.get_or_insert_with(String::new).push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (None, c) => word.get_or_insert_with(String::new).push(c),
        }
    }
    assert!(quote.is_none(), "unclosed quote in {line:?}");
    words.extend(word);
    words
}

/// Points an `--allow-host HOST` command line at `server` instead: the host rule and the
/// `https://HOST/...` URLs (the tests never leave the machine).
pub(crate) fn to_loopback(words: &mut [String], server: SocketAddr) {
    if let Some(at) = words.iter().position(|w| w == "--allow-host") {
        let host = words[at + 1].clone();
        words[at + 1] = server.to_string();
        for word in words.iter_mut() {
            let rest = word
                .strip_prefix(&format!("https://{host}"))
                .or_else(|| word.strip_prefix(&format!("http://{host}")));
            if let Some(rest) = rest {
                *word = format!("http://{server}{rest}");
            }
        }
    }
}

/// Serves `examples/data/` on an ephemeral loopback port.
pub(super) fn serve_data() -> SocketAddr {
    serve(axum::Router::new().route(
        "/{file}",
        axum::routing::get(
            |axum::extract::Path(file): axum::extract::Path<String>| async move {
                std::fs::read_to_string(workspace().join("examples/data").join(file))
                    .map_err(|_| axum::http::StatusCode::NOT_FOUND)
            },
        ),
    ))
}

/// Every body under `examples/` is valid: the README's first command runs one of them.
#[test]
fn every_example_expands() {
    let paths = examples();
    for path in &paths {
        let out = watsmith(&["expand", path.to_str().expect("utf-8 path")], None);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            path.display(),
            text(&out.stderr)
        );
        assert!(text(&out.stdout).contains(";; body\n"));
    }
    assert!(paths.len() >= 8, "examples are missing");
}

/// Every example, run with the command of its `;; run:` line from the workspace root,
/// prints its `;; expect:` lines. Hosts of `--allow-host` examples are served from
/// `examples/data/` on loopback instead (the tests never leave the machine): the host rule
/// and the URL are rewritten to that server.
#[test]
fn every_example_prints_what_its_header_expects() {
    let server = serve_data();
    for path in examples() {
        let body = std::fs::read_to_string(&path).expect("readable");
        let run = body
            .lines()
            .find_map(|line| line.strip_prefix(";; run: "))
            .unwrap_or_else(|| panic!("{}: no `;; run:` line", path.display()));
        let expect: Vec<&str> = body
            .lines()
            .filter_map(|line| line.strip_prefix(";; expect: "))
            .collect();
        let mut words = shell_words(run);
        assert_eq!(words.remove(0), "watsmith", "{run}");
        to_loopback(&mut words, server);
        let out = Command::new(env!("CARGO_BIN_EXE_watsmith"))
            .args(&words)
            .current_dir(workspace())
            .output()
            .expect("the binary runs");
        assert_eq!(out.status.code(), Some(0), "{run}: {}", text(&out.stderr));
        assert_eq!(
            text(&out.stdout).lines().collect::<Vec<_>>(),
            expect,
            "{run}"
        );
    }
}

#[test]
fn a_kv_file_keeps_the_store_across_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("kv.json");
    let counter = workspace().join("examples/kv_counter.wat");
    let args = [
        "exec",
        counter.to_str().expect("utf-8"),
        "--kv-file",
        file.to_str().expect("utf-8"),
    ];
    assert_eq!(text(&watsmith(&args, None).stdout), "1\nfirst run\n");
    assert_eq!(text(&watsmith(&args, None).stdout), "2\nfirst run\n");
    let other_namespace = [&args[..], &["--kv-namespace", "other"]].concat();
    assert_eq!(
        text(&watsmith(&other_namespace, None).stdout),
        "1\nfirst run\n"
    );
}

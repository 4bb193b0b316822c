//! The README's commands, run as printed: every `$ watsmith ...` line of its console blocks,
//! from a directory that has the workspace's `examples/`, with the lines printed under it
//! checked. The agent's lines (`run`, `chat`) need a model and are run against a scripted one by
//! the agent tests instead; hosts of `--allow-host` are served from `examples/data/` on
//! loopback, as in the examples' test.

use crate::examples::{serve_data, shell_words, to_loopback, workspace};
use crate::{command, text};

/// A command of a console block and the lines printed under it.
struct Shown {
    line: String,
    output: Vec<String>,
}

fn console_commands() -> Vec<Shown> {
    let readme = std::fs::read_to_string(workspace().join("README.md")).expect("README.md");
    let mut shown: Vec<Shown> = Vec::new();
    let mut in_console = false;
    for line in readme.lines() {
        match line {
            "```console" => in_console = true,
            "```" => in_console = false,
            _ if !in_console => {}
            _ => match line.strip_prefix("$ ") {
                Some(command) => shown.push(Shown {
                    line: command.to_owned(),
                    output: Vec::new(),
                }),
                None => {
                    if let Some(last) = shown.last_mut() {
                        last.output.push(line.to_owned());
                    }
                }
            },
        }
    }
    shown
}

/// `printf 'TEXT' | watsmith ...`: the text printf writes (its `\n` escapes), and the rest.
fn piped(line: &str) -> (Option<String>, &str) {
    match line.split_once(" | ") {
        Some((printf, rest)) if printf.starts_with("printf ") => {
            let words = shell_words(printf);
            (Some(words[1].replace("\\n", "\n")), rest)
        }
        _ => (None, line),
    }
}

#[test]
fn every_command_of_the_readme_runs_as_printed() {
    let server = serve_data();
    let dir = tempfile::tempdir().expect("dir");
    std::os::unix::fs::symlink(workspace().join("examples"), dir.path().join("examples"))
        .expect("examples");
    let mut ran = 0;
    for shown in console_commands() {
        let (stdin, line) = piped(&shown.line);
        let line = line.split(" # ").next().unwrap_or(line).trim_end();
        let mut words = shell_words(line);
        if words.first().map(String::as_str) != Some("watsmith") {
            continue;
        }
        words.remove(0);
        if matches!(words.first().map(String::as_str), Some("run" | "chat")) {
            continue;
        }
        to_loopback(&mut words, server);
        let arguments: Vec<&str> = words.iter().map(String::as_str).collect();
        let mut command = command(&arguments);
        command.current_dir(dir.path());
        let out = match stdin {
            Some(input) => {
                use std::io::Write as _;
                let mut child = command
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("starts");
                child
                    .stdin
                    .take()
                    .expect("stdin")
                    .write_all(input.as_bytes())
                    .expect("write");
                child.wait_with_output().expect("finishes")
            }
            None => command.output().expect("runs"),
        };
        let code = out.status.code();
        assert!(
            !matches!(code, Some(64 | 66 | 70) | None),
            "`{}` failed ({code:?}): {}",
            shown.line,
            text(&out.stderr)
        );
        if !shown.output.is_empty() {
            let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
            let printed: Vec<&str> = shown.output.iter().map(String::as_str).collect();
            assert!(
                stdout.lines().collect::<Vec<_>>() == printed
                    || stderr.lines().collect::<Vec<_>>() == printed,
                "`{}` printed\n{stdout}{stderr}\nnot\n{}",
                shown.line,
                printed.join("\n")
            );
        }
        ran += 1;
    }
    assert!(ran >= 4, "only {ran} commands of the README ran");
}

/// Every file the documentation points to is in the repository: relative Markdown links, and
/// paths in backticks that name a source, documentation or data file (`docs/catalog.md`,
/// `engine/src/index.rs`), taken from the repository's root or the page's own directory.
#[test]
fn every_file_the_documentation_names_exists() {
    let root = workspace();
    let mut pages = vec![root.join("README.md"), root.join("examples/README.md")];
    for entry in std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .flatten()
    {
        if entry.path().extension().is_some_and(|e| e == "md") {
            pages.push(entry.path());
        }
    }
    let file_like = |word: &str| {
        word.contains('/')
            && !word.starts_with(['/', '~', '.'])
            && word
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c))
            && [
                ".md", ".rs", ".toml", ".wat", ".json", ".jsonl", ".txt", ".sh",
            ]
            .iter()
            .any(|ext| word.ends_with(ext))
    };
    let mut missing = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(page).expect("page");
        let dir = page.parent().expect("a directory");
        let mut named: Vec<&str> = text
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|word| file_like(word))
            .collect();
        for (_, rest) in text
            .match_indices("](")
            .map(|(at, _)| text.split_at(at + 2))
        {
            let target = rest.split(')').next().unwrap_or("");
            let target = target.split('#').next().unwrap_or("");
            if !target.is_empty() && !target.contains("://") {
                named.push(target);
            }
        }
        for path in named {
            if !root.join(path).exists() && !dir.join(path).exists() {
                missing.push(format!("{}: {path}", page.display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "named but not in the repository:\n{}",
        missing.join("\n")
    );
}

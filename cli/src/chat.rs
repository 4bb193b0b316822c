//! `watsmith chat`: tasks one after another in one session. The model sees the conversation so
//! far, and the programs of every task share the session's kv namespace. `--session NAME` keeps
//! the session in the store (and resumes it, when the store holds it).
//!
//! On a terminal, lines are edited with rustyline and kept in a history file; Ctrl-C stops the
//! task under way (the session forgets it) and Ctrl-D leaves. From a pipe, each line is a task
//! and nothing is kept.

use std::io::IsTerminal as _;
use std::path::PathBuf;

use clap::Args;
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{Config, DefaultEditor, Editor};
use watsmith_agent::Ending;
use watsmith_runtime::{AgentSession, AgentSpec, Environment};

use crate::Exit;
use crate::args::{Context, failure};
use crate::run::{AgentArgs, Sinks};

#[derive(Debug, Args)]
pub(crate) struct ChatArgs {
    #[command(flatten)]
    agent: AgentArgs,
    /// Keep the lines typed in FILE (default: `$XDG_STATE_HOME/watsmith/chat_history`, or
    /// `~/.local/state/watsmith/chat_history`).
    #[arg(long, value_name = "FILE")]
    history: Option<PathBuf>,
    /// Keep no history of the lines typed.
    #[arg(long, conflicts_with = "history")]
    no_history: bool,
    /// Keep the session in the store under NAME, and resume it if the store holds it: its
    /// conversation, kv namespace and grants (grant flags given now replace them). The store is
    /// `--store FILE`, else `[store] path` of watsmith.toml, else
    /// `~/.local/share/watsmith/watsmith.db`.
    #[arg(long, value_name = "NAME")]
    session: Option<String>,
}

/// The commands of the chat, shown by `/help`.
const COMMANDS: &str = "\
Type a task and press Enter: the model works on it knowing the conversation so far.
  /reset    forget the conversation (the kv namespace keeps what programs stored)
  /prompt   print the system prompt the model is given
  /help     this text
  /exit     leave (Ctrl-D does too)
Ctrl-C stops the task under way; the conversation then forgets that task.";

/// Lines kept in the history file.
const HISTORY_LINES: usize = 1000;

/// What a line of the chat asks for.
#[derive(Debug, PartialEq, Eq)]
enum Line<'a> {
    Task(&'a str),
    Reset,
    Prompt,
    Help,
    Exit,
    Blank,
    Unknown(&'a str),
}

impl<'a> Line<'a> {
    fn parse(line: &'a str) -> Self {
        match line.trim() {
            "" => Self::Blank,
            "/reset" => Self::Reset,
            "/prompt" => Self::Prompt,
            "/help" | "/?" => Self::Help,
            "/exit" | "/quit" => Self::Exit,
            command if command.starts_with('/') => Self::Unknown(command),
            task => Self::Task(task),
        }
    }
}

pub(crate) async fn run(args: &ChatArgs, env: &Environment) -> Exit {
    // A stored session needs a store: the one configured, else the user's default.
    let default_store = args.session.as_ref().and_then(|_| env.default_store());
    let runtime = match start(args, env, default_store).await {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    let spec = AgentSpec {
        session: args.session.clone(),
        policy: args.agent.run.policy(),
        limits: None,
        model: None,
    };
    let mut session = match runtime.agent(spec).await {
        Ok(session) => session,
        Err(error) => return failure(&error, Context::Agent),
    };
    let mut sinks = match args.agent.sinks() {
        Ok(sinks) => sinks,
        Err(exit) => return exit,
    };
    let interactive = std::io::stdin().is_terminal();
    let history = if interactive && !args.no_history {
        args.history.clone().or_else(|| env.chat_history())
    } else {
        None
    };
    // rustyline opens the history by name, and would block on a FIFO: keep no history in what
    // is not a regular file.
    let history = history.filter(
        |path| match watsmith_engine::file::is_regular_or_absent(path) {
            Ok(_) => true,
            Err(error) => {
                eprintln!(
                    "warning: keeping no history: {} cannot be the history file: {error}",
                    path.display()
                );
                false
            }
        },
    );
    let mut editor = match editor(history.as_ref()) {
        Ok(editor) => editor,
        Err(error) => {
            eprintln!(
                "{} cannot read the terminal: {error}",
                crate::color::error_label()
            );
            return Exit::Input;
        }
    };
    if let (Some(name), Some(messages)) = (session.name(), session.resumed()) {
        eprintln!("(resumed the session `{name}`: {messages} messages so far)");
    }
    if interactive {
        eprintln!(
            "watsmith chat with {}: a task per line; /help for the commands, Ctrl-D to leave",
            session.label()
        );
    }
    let mut exit = Exit::Ok;
    loop {
        // Reading a line blocks: the runtime's other threads go on (a pre-warming).
        let line = match tokio::task::block_in_place(|| editor.readline("watsmith> ")) {
            Ok(line) => line,
            // Ctrl-C at the prompt clears the line, as in a shell.
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(error) => {
                eprintln!(
                    "{} cannot read the line: {error}",
                    crate::color::error_label()
                );
                exit = Exit::Input;
                break;
            }
        };
        match Line::parse(&line) {
            Line::Blank => {}
            Line::Exit => break,
            Line::Help => eprintln!("{COMMANDS}"),
            // With --json, stdout carries only the events.
            Line::Prompt if args.agent.json => eprintln!("{}", session.prompt().text()),
            Line::Prompt => crate::emit(&format!("{}\n", session.prompt().text())),
            Line::Reset => {
                if let Err(error) = session.reset().await {
                    exit = failure(&error, Context::Agent);
                    break;
                }
                eprintln!("(the conversation is forgotten; kv keeps what programs stored)");
            }
            Line::Unknown(command) => {
                eprintln!("unknown command `{command}`; /help lists the commands");
            }
            Line::Task(task) => {
                if let Err(failed) =
                    turn(&mut session, &mut sinks, task, interactive, args.agent.json).await
                {
                    exit = failed;
                    break;
                }
            }
        }
    }
    if let Some(path) = &history
        && let Err(error) = editor.append_history(path)
    {
        eprintln!(
            "warning: cannot save the history in {}: {error}",
            path.display()
        );
    }
    exit
}

/// The chat's runtime, with `store` as its store when the flags name none.
async fn start(
    args: &ChatArgs,
    env: &Environment,
    store: Option<PathBuf>,
) -> Result<watsmith_runtime::Runtime, Exit> {
    let mut effective = args.agent.flags().effective(env)?;
    if effective.store.is_none()
        && let Some(path) = store
    {
        if let Some(dir) = path.parent() {
            create_private_dir(dir)?;
        }
        effective.store = Some(path);
    }
    crate::args::start_with(effective, watsmith_runtime::Prewarm::Background).await
}

/// Creates `dir` (and its parents) readable by its owner only, unless it exists.
fn create_private_dir(dir: &std::path::Path) -> Result<(), Exit> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|error| {
        eprintln!(
            "{} cannot make the store's directory {}: {error}",
            crate::color::error_label(),
            dir.display()
        );
        Exit::Input
    })
}

/// One task of the chat: its answer on stdout (progress on stderr); a stored session is saved
/// after it.
async fn turn(
    session: &mut AgentSession,
    sinks: &mut Sinks,
    task: &str,
    interactive: bool,
    json: bool,
) -> Result<(), Exit> {
    let cancelled = async {
        // Only a person at a terminal presses Ctrl-C to stop one task; from a pipe, Ctrl-C
        // keeps its usual meaning and ends the chat.
        if interactive && tokio::signal::ctrl_c().await.is_ok() {
            return;
        }
        std::future::pending::<()>().await;
    };
    let finish = session
        .run(task, sinks, cancelled)
        .await
        .map_err(|error| failure(&error, Context::Agent))?;
    if let Ending::Answer(answer) = &finish.ending
        && !json
        && !sinks.answer_shown_on_the_terminal()
    {
        crate::emit(&format!("{}\n", crate::escape::controls(answer)));
    }
    Ok(())
}

/// A line editor, with the history of `path` loaded (a missing file is a new history).
fn editor(path: Option<&PathBuf>) -> rustyline::Result<Editor<(), DefaultHistory>> {
    let config = Config::builder()
        .auto_add_history(true)
        .history_ignore_dups(true)?
        .max_history_size(HISTORY_LINES)?
        .build();
    let mut editor = DefaultEditor::with_config(config)?;
    if let Some(path) = path {
        if let Some(dir) = path.parent() {
            // Best effort: without the directory, saving says why at the end.
            let _ = std::fs::create_dir_all(dir);
        }
        match editor.load_history(path) {
            Ok(()) => {}
            Err(ReadlineError::Io(error)) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => eprintln!(
                "warning: cannot read the history in {}: {error}",
                path.display()
            ),
        }
    }
    Ok(editor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_tasks_unless_they_are_commands() {
        assert_eq!(
            Line::parse("  what is 6 * 7?\n"),
            Line::Task("what is 6 * 7?")
        );
        assert_eq!(Line::parse("/reset"), Line::Reset);
        assert_eq!(Line::parse(" /exit "), Line::Exit);
        assert_eq!(Line::parse("/quit"), Line::Exit);
        assert_eq!(Line::parse("/prompt"), Line::Prompt);
        assert_eq!(Line::parse("/?"), Line::Help);
        assert_eq!(Line::parse("   "), Line::Blank);
        assert_eq!(Line::parse("/resett"), Line::Unknown("/resett"));
    }
}

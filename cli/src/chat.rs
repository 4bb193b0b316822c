//! `watsmith chat`: tasks one after another in one session. The model sees the conversation so
//! far, and the programs of every task share the session's kv namespace.
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

use crate::Exit;
use crate::config;
use crate::run::{AgentArgs, Prepared, prepare};

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

pub(crate) fn run(args: &ChatArgs) -> Exit {
    let mut prepared = match prepare(&args.agent) {
        Ok(prepared) => prepared,
        Err(exit) => return exit,
    };
    let interactive = std::io::stdin().is_terminal();
    let history = if interactive && !args.no_history {
        args.history.clone().or_else(config::chat_history)
    } else {
        None
    };
    let mut editor = match editor(history.as_ref()) {
        Ok(editor) => editor,
        Err(error) => {
            eprintln!("error: cannot read the terminal: {error}");
            return Exit::Input;
        }
    };
    if interactive {
        eprintln!(
            "watsmith chat with {}: a task per line; /help for the commands, Ctrl-D to leave",
            prepared.label
        );
    }
    let mut session = prepared.session();
    let mut exit = Exit::Ok;
    loop {
        let line = match editor.readline("watsmith> ") {
            Ok(line) => line,
            // Ctrl-C at the prompt clears the line, as in a shell.
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(error) => {
                eprintln!("error: cannot read the line: {error}");
                exit = Exit::Input;
                break;
            }
        };
        match Line::parse(&line) {
            Line::Blank => {}
            Line::Exit => break,
            Line::Help => eprintln!("{COMMANDS}"),
            // With --json, stdout carries only the events.
            Line::Prompt if prepared.json => eprintln!("{}", prepared.agent.prompt().text),
            Line::Prompt => crate::emit(&format!("{}\n", prepared.agent.prompt().text)),
            Line::Reset => {
                session = prepared.session();
                eprintln!("(the conversation is forgotten; kv keeps what programs stored)");
            }
            Line::Unknown(command) => {
                eprintln!("unknown command `{command}`; /help lists the commands");
            }
            Line::Task(task) => {
                if let Err(failed) = turn(&mut prepared, &mut session, task, interactive) {
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

/// One task of the chat: its answer on stdout (progress on stderr), and the kv store saved, so
/// that nothing a task stored is lost if the chat is killed later.
fn turn(
    prepared: &mut Prepared,
    session: &mut watsmith_agent::Session,
    task: &str,
    interactive: bool,
) -> Result<(), Exit> {
    let cancelled = async {
        // Only a person at a terminal presses Ctrl-C to stop one task; from a pipe, Ctrl-C
        // keeps its usual meaning and ends the chat.
        if interactive && tokio::signal::ctrl_c().await.is_ok() {
            return;
        }
        std::future::pending::<()>().await;
    };
    let finish = prepared.runtime.block_on(prepared.agent.run_until(
        session,
        task,
        &mut prepared.sinks,
        cancelled,
    ));
    if let Ending::Answer(answer) = &finish.ending
        && !prepared.json
    {
        crate::emit(&format!("{answer}\n"));
    }
    prepared.flush()
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

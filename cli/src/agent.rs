//! `watsmith demo` and `watsmith run`: the agent from the command line.

use std::sync::Arc;

use watsmith_agent::demo::{self, RECORDINGS};
use watsmith_agent::{Agent, Ending, Replay, Session};

use crate::Exit;
use crate::progress::Progress;

/// The runtime the agent's tasks are driven on.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Exit> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|error| {
            eprintln!("error: cannot start the async runtime: {error}");
            Exit::Input
        })
}

/// `watsmith demo`: the recorded sessions, replayed through the real pipeline.
pub(crate) fn run_demo() -> Exit {
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    let mut failed = 0;
    for (index, recording) in RECORDINGS.iter().enumerate() {
        let script = match recording.script() {
            Ok(script) => script,
            Err(error) => {
                eprintln!("error: the demo script `{}`: {error}", recording.name);
                return Exit::Input;
            }
        };
        crate::emit(&format!(
            "{}== demo {} of {}: {} ==\n(a replay: the model's answers were scripted by hand and \
             recorded through this pipeline; the programs run now, on this machine)\n\n",
            if index == 0 { "" } else { "\n" },
            index + 1,
            RECORDINGS.len(),
            script.title
        ));
        let replay = match Replay::from_transcript(recording.transcript) {
            Ok(replay) => replay,
            Err(error) => {
                eprintln!("error: the demo recording `{}`: {error}", recording.name);
                return Exit::Input;
            }
        };
        let agent = match demo::parts(Arc::new(replay)) {
            Ok(parts) => Agent::new(parts),
            Err(error) => {
                eprintln!("error: {error}");
                return Exit::Input;
            }
        };
        let mut progress = Progress::new(std::io::stdout(), true);
        let finish =
            runtime.block_on(agent.run(&mut Session::default(), &script.task, &mut progress));
        let expected = script.answers.last().cloned().unwrap_or_default();
        if finish.ending != Ending::Answer(expected) {
            failed += 1;
        }
    }
    if failed > 0 {
        eprintln!(
            "error: {failed} demo sessions did not replay to their recorded answer (this build's \
             prompt or catalog differs from the recording's)"
        );
        return Exit::ProgramError;
    }
    Exit::Ok
}

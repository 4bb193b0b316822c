//! `watsmith demo`: the recorded sessions, replayed through the real pipeline.

use watsmith_agent::Ending;
use watsmith_agent::demo::RECORDINGS;
use watsmith_runtime::{Effective, Environment, Prewarm};

use crate::Exit;
use crate::progress::Progress;

pub(crate) async fn run(_env: &Environment) -> Exit {
    // The recordings hold the requests of the built-in catalog and the default settings: the
    // user's configuration is not read.
    let runtime = match crate::args::start_with(Effective::default(), Prewarm::Background).await {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    let mut failed = 0;
    for (index, recording) in RECORDINGS.iter().enumerate() {
        let (agent, script) = match runtime.demo(recording) {
            Ok(demo) => demo,
            Err(error) => {
                eprintln!("{} {error}", crate::color::error_label());
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
        let mut progress = Progress::new(std::io::stdout(), true);
        let finish = agent
            .run(&mut Default::default(), &script.task, &mut progress)
            .await;
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

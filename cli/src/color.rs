//! Colour on standard error, decided once per process: on a terminal, unless `NO_COLOR` is set
//! to anything but the empty string (<https://no-color.org>) or `TERM` is `dumb`;
//! `CLICOLOR_FORCE` set (and not `0`) turns it on anywhere. clap's own help and usage errors
//! follow the same variables.

use std::io::IsTerminal as _;
use std::sync::OnceLock;

use watsmith_preprocessor::Palette;
use watsmith_runtime::Environment;

static COLOUR: OnceLock<bool> = OnceLock::new();

/// Whether `env` asks for colour on a stream that `is_terminal` says is or is not a terminal.
pub(crate) fn wanted(env: &Environment, is_terminal: bool) -> bool {
    let set = |name: &str| env.get(name).is_some_and(|value| !value.is_empty());
    if set("CLICOLOR_FORCE") && env.get("CLICOLOR_FORCE") != Some("0") {
        return true;
    }
    is_terminal && !set("NO_COLOR") && env.get("TERM") != Some("dumb")
}

/// Decides, from `env` and whether stderr is a terminal (only the first call counts).
pub(crate) fn init(env: &Environment) {
    let _ = COLOUR.set(wanted(env, std::io::stderr().is_terminal()));
}

/// The palette of diagnostics on stderr.
pub(crate) fn palette() -> Palette {
    if COLOUR.get().copied().unwrap_or(false) {
        Palette::ANSI
    } else {
        Palette::PLAIN
    }
}

/// `error:`, in bold red where stderr has colour.
pub(crate) fn error_label() -> String {
    let palette = palette();
    format!("{}error{}:", palette.error, palette.reset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Environment {
        Environment::new(pairs.iter().copied())
    }

    #[test]
    fn no_color_and_dumb_terminals_turn_it_off_and_clicolor_force_on() {
        assert!(wanted(&env(&[]), true));
        assert!(!wanted(&env(&[]), false), "not on a pipe");
        assert!(!wanted(&env(&[("NO_COLOR", "1")]), true));
        assert!(
            wanted(&env(&[("NO_COLOR", "")]), true),
            "an empty NO_COLOR is unset"
        );
        assert!(!wanted(&env(&[("TERM", "dumb")]), true));
        assert!(wanted(&env(&[("CLICOLOR_FORCE", "1")]), false));
        assert!(!wanted(&env(&[("CLICOLOR_FORCE", "0")]), false));
    }
}

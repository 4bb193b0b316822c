//! Every limit and layout constant of the preprocessor, in one place.

/// Largest body accepted, in bytes. A 1,000-line program is about 30 KiB; anything near this
/// limit is not a program a model wrote for one task.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Deepest nesting of the syntax tree the expander descends into. Real bodies nest a dozen
/// levels; the limit keeps the recursive walk far from the thread's stack limit.
pub const MAX_NESTING: usize = 256;

/// Most diagnostics reported for one body; past this, the rest are summarised in one more.
pub const MAX_DIAGNOSTICS: usize = 50;
/// The longest source line a diagnostic quotes whole, in bytes; a longer one is cut to about
/// this much around the span, so that a diagnostic's size does not grow with its line.
pub const MAX_FRAME_BYTES: usize = 240;

/// The longest message, hint or note of a diagnostic, in bytes; a longer one (a message that
/// quotes a 400,000-character name) is cut in its middle, marked with `…`.
pub const MAX_MESSAGE_BYTES: usize = 400;

/// Address of the first data segment. Address 0 stays unused, so a zero pointer is never a
/// valid string.
pub const DATA_BASE: u32 = 16;

/// Alignment of every data segment (their `u32` length prefixes are aligned).
pub const SEGMENT_ALIGN: u32 = 4;

/// Alignment of `initial_top`, the allocator's first free address (enough for `i64`/`f64`).
pub const TOP_ALIGN: u32 = 8;

/// Size of the little-endian length prefix of a str/bytes value.
pub const LENGTH_PREFIX: u32 = 4;

/// Names starting with this prefix are reserved for locals the expansion introduces.
pub const RESERVED_PREFIX: &str = "$__";

/// The hidden local that carries a host function's error code through the macros.
pub const ERR_LOCAL: &str = "$__err";

/// The label of the block around the body: `(br $body)` ends the program with success.
pub const BODY_LABEL: &str = "$body";

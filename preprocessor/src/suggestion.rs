//! "Did you mean ...?": the closest known name to a misspelt one.
//!
//! The vocabulary of instructions is read from the grammar itself (its keyword tokens), so the
//! suggestions can never disagree with what parses. Names from older WAT drafts that models
//! still write (`get_local`, `i32.trunc_s/f64`) are mapped by a small alias table, since edit
//! distance cannot find them.

use std::sync::OnceLock;

use crate::limits::RESERVED_PREFIX;

/// Old or common wrong spellings and the instruction meant.
const ALIASES: &[(&str, &str)] = &[
    ("get_local", "local.get"),
    ("set_local", "local.set"),
    ("tee_local", "local.tee"),
    ("get_global", "global.get"),
    ("set_global", "global.set"),
    ("current_memory", "memory.size"),
    ("grow_memory", "memory.grow"),
    ("i32.wrap", "i32.wrap_i64"),
    ("i64.extend_s", "i64.extend_i32_s"),
    ("i64.extend_u", "i64.extend_i32_u"),
    ("i32.not", "i32.eqz"),
    ("i64.not", "i64.eqz"),
    ("i32.mod", "i32.rem_s"),
    ("i64.mod", "i64.rem_s"),
    ("f64.mod", "f64.div"),
    ("f64.pow", "f64.mul"),
    ("i32.neg", "i32.sub"),
    ("i64.neg", "i64.sub"),
    ("if_else", "if"),
    ("return_value", "return"),
];

/// Every instruction mnemonic and keyword of the grammar, e.g. `i32.add`, `local.get`, `block`.
pub(crate) fn keywords() -> &'static [String] {
    static KEYWORDS: OnceLock<Vec<String>> = OnceLock::new();
    KEYWORDS.get_or_init(|| {
        let language: tree_sitter::Language = watsmith_grammar::LANGUAGE.into();
        let mut words: Vec<String> = (0..language.node_kind_count())
            .filter_map(|id| u16::try_from(id).ok())
            .filter(|&id| !language.node_kind_is_named(id) && language.node_kind_is_visible(id))
            .filter_map(|id| language.node_kind_for_id(id))
            .filter(|kind| kind.starts_with(|c: char| c.is_ascii_lowercase()))
            .map(str::to_owned)
            .collect();
        words.sort_unstable();
        words.dedup();
        words
    })
}

/// Whether `word` is a keyword of the grammar.
pub(crate) fn is_keyword(word: &str) -> bool {
    keywords()
        .binary_search_by(|k| k.as_str().cmp(word))
        .is_ok()
}

/// The hint for a misspelt name: "did you mean `x`?".
pub(crate) fn did_you_mean(suggestion: &str) -> String {
    format!("did you mean `{suggestion}`?")
}

/// The closest instruction to an unknown word, if one is close enough.
pub(crate) fn closest_instruction(word: &str) -> Option<&'static str> {
    let lower = word.to_ascii_lowercase();
    if let Some(&(_, meant)) = ALIASES.iter().find(|(alias, _)| *alias == lower) {
        return Some(meant);
    }
    // `i32.trunc_s/f64` and friends from the old syntax: `T.op_S/F` became `T.op_F_S`.
    if let Some((head, from)) = lower.split_once('/')
        && let Some((op, sign)) = head.rsplit_once('_')
    {
        let candidate = format!("{op}_{from}_{sign}");
        if let Some(found) = keywords().iter().find(|k| **k == candidate) {
            return Some(found);
        }
    }
    if is_keyword(&lower) {
        // `I32.ADD` is `i32.add`; a keyword as written is no misspelling to correct.
        return keywords()
            .iter()
            .map(String::as_str)
            .find(|k| *k == lower && *k != word);
    }
    closest(&lower, keywords().iter().map(String::as_str))
}

/// The longest name, in bytes, compared by edit distance: far longer than any name a person
/// writes, and short enough that a body full of such names is compared in milliseconds.
const MAX_COMPARED_BYTES: usize = 128;

/// The candidate closest to `word`: by edit distance within a third of its length (at least 1,
/// at most 3 edits, not counting a `$` sigil), else one of which the other is an abbreviation
/// (`$cnt` for `$count`, `string` for `str`). Ties go to the first candidate.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let budget = (word.trim_start_matches('$').chars().count() / 3).clamp(1, 3);
    // The distance takes time of the product of the lengths: names past the bound are not
    // compared (a 400,000-character name and its near-twin took minutes).
    let comparable = |name: &str| name.len() <= MAX_COMPARED_BYTES;
    let mut best: Option<(usize, &'a str)> = None;
    let mut abbreviation: Option<&'a str> = None;
    for candidate in candidates {
        // The expansion's own names (`$__err`) are never a name to write.
        if candidate == word || candidate.starts_with(RESERVED_PREFIX) {
            continue;
        }
        let distance = if comparable(word) && comparable(candidate) {
            edit_distance(word, candidate, budget)
        } else {
            budget + 1
        };
        if distance <= budget && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
        if abbreviation.is_none() && abbreviates(word, candidate) {
            abbreviation = Some(candidate);
        }
    }
    best.map(|(_, candidate)| candidate).or(abbreviation)
}

/// Whether the shorter of two names is a subsequence of the longer, starting with the same
/// character after any `$`, and at least two characters long.
fn abbreviates(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim_start_matches('$'), b.trim_start_matches('$'));
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.chars().count() < 2 || short.chars().next() != long.chars().next() {
        return false;
    }
    let mut rest = long.chars();
    short.chars().all(|c| rest.any(|l| l == c))
}

/// Optimal-string-alignment distance (Levenshtein plus transpositions), giving up early with
/// `limit + 1` once every path is over `limit`. Only the diagonal band of `2 * limit + 1` cells a
/// distance within `limit` can pass through is computed: time `len(a) * (2 * limit + 1)`.
pub(crate) fn edit_distance(a: &str, b: &str, limit: usize) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > limit {
        return limit + 1;
    }
    // Every cell outside the band is "over the limit".
    let over = limit + 1;
    let width = b.len() + 1;
    let mut prev2 = vec![over; width];
    let mut prev: Vec<usize> = (0..width).map(|j| j.min(over)).collect();
    let mut current = vec![over; width];
    for i in 1..=a.len() {
        let low = i.saturating_sub(limit).max(1);
        let high = (i + limit).min(b.len());
        current[low - 1] = if low == 1 { i.min(over) } else { over };
        if high < b.len() {
            current[high + 1] = over;
        }
        let mut row_min = current[low - 1];
        for j in low..=high {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut value = (prev[j] + 1)
                .min(current[j - 1] + 1)
                .min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                value = value.min(prev2[j - 2] + 1);
            }
            current[j] = value.min(over);
            row_min = row_min.min(current[j]);
        }
        if row_min > limit {
            return over;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut current);
    }
    prev[b.len()]
}

/// What one body may spend on "did you mean" searches, in units of compared characters (a cell
/// of the distance's band, a step of the abbreviation test). About 10 ms; a body that names
/// thousands of long locals and misspells them all gets its first suggestions, then plain
/// hints.
pub(crate) const SUGGESTION_WORK: usize = 4 << 20;

/// [`closest`] charged against `work` (what is left of a body's [`SUGGESTION_WORK`]): `None`,
/// with nothing compared, once the next comparison would overspend it.
pub(crate) fn closest_within<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    work: &mut usize,
) -> Option<&'a str> {
    let band = 2 * (word.trim_start_matches('$').chars().count() / 3).clamp(1, 3) + 1;
    let word_cost = word.len().min(MAX_COMPARED_BYTES);
    let mut affordable = true;
    let charged = candidates.into_iter().take_while(|candidate| {
        let cost = word_cost * band + candidate.len() + word.len();
        affordable = cost <= *work;
        if affordable {
            *work -= cost;
        }
        affordable
    });
    let found = closest(word, charged);
    // A search cut short may have missed the closest name: say nothing rather than the wrong one.
    if affordable { found } else { None }
}

/// [`closest_instruction`] charged against `work`, as [`closest_within`].
pub(crate) fn closest_instruction_within(word: &str, work: &mut usize) -> Option<&'static str> {
    let cost = keywords().len() * (word.len().min(MAX_COMPARED_BYTES) * 7 + 32);
    if cost > *work {
        *work = 0;
        return None;
    }
    *work -= cost;
    closest_instruction(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_names_and_the_word_itself_are_never_suggested() {
        assert_eq!(closest("$_err", ["$__err", "$count"]), None);
        assert_eq!(closest("$err", ["$__err"]), None);
        assert_eq!(closest_instruction("data"), None);
        assert_eq!(closest_instruction("I32.ADD"), Some("i32.add"));
    }

    #[test]
    fn vocabulary_comes_from_the_grammar() {
        for word in [
            "i32.add",
            "local.get",
            "f64.sqrt",
            "br_table",
            "block",
            "argv!",
            "str",
        ] {
            assert!(is_keyword(word), "{word} missing");
        }
        assert!(!is_keyword("("));
        assert!(!is_keyword("i32.ad"));
    }

    #[test]
    fn misspelt_instructions_get_the_intended_one() {
        assert_eq!(closest_instruction("i32.ad"), Some("i32.add"));
        assert_eq!(closest_instruction("i64.mull"), Some("i64.mul"));
        assert_eq!(closest_instruction("lcoal.get"), Some("local.get"));
        assert_eq!(closest_instruction("I32.ADD"), Some("i32.add"));
        assert_eq!(closest_instruction("get_local"), Some("local.get"));
        assert_eq!(
            closest_instruction("i32.trunc_s/f64"),
            Some("i32.trunc_f64_s")
        );
        assert_eq!(closest_instruction("frobnicate"), None);
    }

    /// The whole-table distance the banded one replaced, capped as it is.
    fn edit_distance_by_table(a: &str, b: &str, limit: usize) -> usize {
        let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
        let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for (i, row) in d.iter_mut().enumerate() {
            row[0] = i;
        }
        for (j, cell) in d[0].iter_mut().enumerate() {
            *cell = j;
        }
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                d[i][j] = (d[i - 1][j] + 1)
                    .min(d[i][j - 1] + 1)
                    .min(d[i - 1][j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
                }
            }
        }
        d[a.len()][b.len()].min(limit + 1)
    }

    proptest::proptest! {
        #[test]
        fn the_band_finds_what_the_table_finds(
            a in "[abc]{0,12}", b in "[abc]{0,12}", limit in 0usize..4
        ) {
            proptest::prop_assert_eq!(edit_distance(&a, &b, limit), edit_distance_by_table(&a, &b, limit));
        }
    }

    #[test]
    fn distance_counts_transpositions_once() {
        assert_eq!(edit_distance("abcd", "abdc", 3), 1);
        assert_eq!(edit_distance("kitten", "sitting", 5), 3);
        assert_eq!(edit_distance("a", "abcdef", 2), 3);
        // Near-twin names past the bound are not compared (the distance is quadratic).
        let long = "$".to_owned() + &"n".repeat(MAX_COMPARED_BYTES);
        let twin = long.clone() + "x";
        assert_eq!(
            closest(&long, [twin.as_str()]),
            Some(twin.as_str()),
            "an abbreviation"
        );
        assert_eq!(closest(&(long.clone() + "y"), [twin.as_str()]), None);
        assert_eq!(closest("$cnt", ["$count", "$total"]), Some("$count"));
        assert_eq!(closest("$zzz", ["$count"]), None);
        assert_eq!(closest("string", ["i32", "str", "bytes"]), Some("str"));
        assert_eq!(closest("$idx", ["$i", "$index"]), Some("$index"));
        assert_eq!(closest("$x", ["$y"]), Some("$y"));
    }
}

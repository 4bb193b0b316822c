//! The grammar's node kinds and fields, resolved to ids once.

use std::sync::OnceLock;

/// Node kind ids of the grammar, resolved once.
#[derive(Debug)]
pub(super) struct Kinds {
    pub(super) local_decl: u16,
    pub(super) macro_: u16,
    pub(super) string: u16,
    pub(super) raw_string: u16,
    pub(super) local_instr: u16,
    pub(super) branch_instr: u16,
    pub(super) br_table_instr: u16,
    pub(super) call_instr: u16,
    pub(super) unknown_instr: u16,
    pub(super) const_instr: u16,
    pub(super) folded_instr: u16,
    pub(super) block: u16,
    pub(super) loop_: u16,
    pub(super) if_: u16,
    pub(super) then_block: u16,
    pub(super) else_block: u16,
    pub(super) flat_block: u16,
    pub(super) flat_loop: u16,
    pub(super) flat_if: u16,
    pub(super) module: u16,
    pub(super) func: u16,
    pub(super) param_decl: u16,
    pub(super) result_type: u16,
    pub(super) identifier: u16,
    pub(super) number: u16,
    pub(super) value_type: u16,
    pub(super) line_comment: u16,
    pub(super) block_comment: u16,
    pub(super) annotation: u16,
    pub(super) field_local: u16,
    pub(super) field_label: u16,
    pub(super) field_function: u16,
    pub(super) field_name: u16,
    pub(super) field_argument: u16,
}

pub(super) fn kinds() -> &'static Kinds {
    static KINDS: OnceLock<Kinds> = OnceLock::new();
    KINDS.get_or_init(|| {
        let language: tree_sitter::Language = watsmith_grammar::LANGUAGE.into();
        let id = |kind: &str| {
            let id = language.id_for_node_kind(kind, true);
            assert_ne!(id, 0, "the grammar defines node kind `{kind}`");
            id
        };
        let field = |name: &str| {
            language
                .field_id_for_name(name)
                .map(u16::from)
                .unwrap_or_else(|| panic!("the grammar defines field `{name}`"))
        };
        Kinds {
            field_local: field("local"),
            field_label: field("label"),
            field_function: field("function"),
            field_name: field("name"),
            field_argument: field("argument"),
            local_decl: id("local_decl"),
            macro_: id("macro"),
            string: id("string"),
            raw_string: id("raw_string"),
            local_instr: id("local_instr"),
            branch_instr: id("branch_instr"),
            br_table_instr: id("br_table_instr"),
            call_instr: id("call_instr"),
            unknown_instr: id("unknown_instr"),
            const_instr: id("const_instr"),
            folded_instr: id("folded_instr"),
            block: id("block"),
            loop_: id("loop"),
            if_: id("if"),
            then_block: id("then_block"),
            else_block: id("else_block"),
            flat_block: id("flat_block"),
            flat_loop: id("flat_loop"),
            flat_if: id("flat_if"),
            module: id("module"),
            func: id("func"),
            param_decl: id("param_decl"),
            result_type: id("result_type"),
            identifier: id("identifier"),
            number: id("number"),
            value_type: id("value_type"),
            line_comment: id("line_comment"),
            block_comment: id("block_comment"),
            annotation: id("annotation"),
        }
    })
}

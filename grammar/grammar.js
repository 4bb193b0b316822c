/**
 * @file Tree-sitter grammar for WAT-plus, the WebAssembly Text dialect a model writes for watsmith.
 *
 * A WAT-plus program is the *body* of one function: a list of statements (standard WAT
 * instructions in folded `(i32.add a b)` or flat `local.get $x` form, typed local declarations,
 * and the macros `argv`, `resv`, `check`). The template assembler wraps it into a module.
 *
 * Design choices, for the preprocessor's sake:
 * - Every instruction mnemonic is a keyword, grouped by the immediates it takes
 *   (`const_instr`, `local_instr`, `memory_instr`, ...). A word that is not a known mnemonic still
 *   parses, as `unknown_instr`, so that the preprocessor can report it precisely ("did you mean
 *   `i32.add`?") and go on checking the rest of the body instead of drowning in ERROR nodes.
 * - Macro arguments are parsed permissively (any operand); their arity and kinds are checked by
 *   the preprocessor, which can then say what the macro expects.
 * - A model sometimes wraps its body in `(func ...)` or `(module ...)`; both parse, so the
 *   preprocessor can unwrap them with a warning.
 * - Nested block comments `(; (; ;) ;)` and raw string literals `"""..."""` need an external
 *   scanner (src/scanner.c).
 *
 * @license Apache-2.0
 */

/// <reference types="tree-sitter-cli/dsl" />
// @ts-check

const INT_TYPES = ['i32', 'i64'];
const FLOAT_TYPES = ['f32', 'f64'];

const INT_BINARY = [
  'add', 'sub', 'mul', 'div_s', 'div_u', 'rem_s', 'rem_u', 'and', 'or', 'xor',
  'shl', 'shr_s', 'shr_u', 'rotl', 'rotr',
];
const INT_UNARY = ['clz', 'ctz', 'popcnt', 'eqz', 'extend8_s', 'extend16_s'];
const INT_COMPARE = ['eq', 'ne', 'lt_s', 'lt_u', 'gt_s', 'gt_u', 'le_s', 'le_u', 'ge_s', 'ge_u'];
const FLOAT_UNARY = ['abs', 'neg', 'ceil', 'floor', 'trunc', 'nearest', 'sqrt'];
const FLOAT_BINARY = ['add', 'sub', 'mul', 'div', 'min', 'max', 'copysign'];
const FLOAT_COMPARE = ['eq', 'ne', 'lt', 'gt', 'le', 'ge'];

/** Numeric instructions that take no immediate. */
const NUMERIC_OPS = [
  ...INT_TYPES.flatMap((t) =>
    [...INT_BINARY, ...INT_UNARY, ...INT_COMPARE].map((op) => `${t}.${op}`)),
  ...FLOAT_TYPES.flatMap((t) =>
    [...FLOAT_UNARY, ...FLOAT_BINARY, ...FLOAT_COMPARE].map((op) => `${t}.${op}`)),
  'i64.extend32_s',
  'i32.wrap_i64', 'i64.extend_i32_s', 'i64.extend_i32_u',
  ...INT_TYPES.flatMap((t) => FLOAT_TYPES.flatMap((f) => [
    `${t}.trunc_${f}_s`, `${t}.trunc_${f}_u`, `${t}.trunc_sat_${f}_s`, `${t}.trunc_sat_${f}_u`,
  ])),
  ...FLOAT_TYPES.flatMap((f) => INT_TYPES.flatMap((t) => [
    `${f}.convert_${t}_s`, `${f}.convert_${t}_u`,
  ])),
  'f32.demote_f64', 'f64.promote_f32',
  'i32.reinterpret_f32', 'i64.reinterpret_f64', 'f32.reinterpret_i32', 'f64.reinterpret_i64',
];

/** Instructions without immediates that are not numeric. */
const CONTROL_OPS = [
  'nop', 'unreachable', 'return', 'drop',
  'memory.size', 'memory.grow', 'memory.copy', 'memory.fill',
];

const LOAD_OPS = [
  'i32.load', 'i64.load', 'f32.load', 'f64.load',
  'i32.load8_s', 'i32.load8_u', 'i32.load16_s', 'i32.load16_u',
  'i64.load8_s', 'i64.load8_u', 'i64.load16_s', 'i64.load16_u', 'i64.load32_s', 'i64.load32_u',
];
const STORE_OPS = [
  'i32.store', 'i64.store', 'f32.store', 'f64.store',
  'i32.store8', 'i32.store16', 'i64.store8', 'i64.store16', 'i64.store32',
];

const HEX = /[0-9a-fA-F](_?[0-9a-fA-F])*/.source;
const DEC = /[0-9](_?[0-9])*/.source;
/** An unsigned integer immediate (an index, a depth, an offset, an alignment). */
const NAT = new RegExp(`0x${HEX}|${DEC}`);

/**
 * The block type of `block`, `loop` and `if`: parameters, then results, each in as many
 * groups as written (`(param i32) (param i64) (result i32)`), as in the WAT spec.
 * @param {any} $
 */
function blockType($) {
  return [
    repeat(field('param', $.param_decl)),
    repeat(field('type', $.result_type)),
  ];
}

module.exports = grammar({
  name: 'watplus',

  externals: ($) => [$.block_comment, $.raw_string, $.annotation],

  // Annotations `(@name ...)` may stand wherever white space may, and mean nothing here (the
  // WAT spec lets a tool ignore the ones it does not know).
  extras: ($) => [/\s/, $.line_comment, $.block_comment, $.annotation],

  conflicts: ($) => [
    // `select` then `(`: a typed `select (result i32)`, or an untyped one and the next form.
    [$.select_instr],
  ],

  word: ($) => $.word,

  rules: {
    body: ($) => repeat(choice($._statement, $.module, $.func)),

    _statement: ($) => choice($.local_decl, $.macro, $._instr),

    // Anything that can stand alone in a body or a block.
    _instr: ($) => choice($._plain, $._expr, $.flat_block, $.flat_loop, $.flat_if),

    // Anything that can be an operand of a folded instruction.
    _expr: ($) => choice($.folded_instr, $.block, $.loop, $.if, $.string, $.raw_string),

    // ---- declarations and macros -------------------------------------------------------------

    local_decl: ($) => seq(
      '(', 'local',
      optional(field('name', $.identifier)),
      repeat(field('type', $.value_type)),
      ')',
    ),

    value_type: (_) => choice('i32', 'i64', 'f32', 'f64', 'str', 'bytes'),

    macro: ($) => seq(
      '(',
      field('name', choice('argv', 'argv!', 'resv', 'resv!', 'check', 'check!')),
      repeat(field('argument', choice($.identifier, $.number, $._expr))),
      ')',
    ),

    // ---- plain instructions (flat form, and the head of a folded form) ----------------------

    _plain: ($) => choice(
      $.const_instr,
      $.local_instr,
      $.global_instr,
      $.branch_instr,
      $.br_table_instr,
      $.call_instr,
      $.memory_instr,
      $.select_instr,
      $.simple_instr,
      $.unknown_instr,
    ),

    const_instr: ($) => seq(
      field('op', choice('i32.const', 'i64.const', 'f32.const', 'f64.const')),
      field('value', $.number),
    ),

    local_instr: ($) => seq(
      field('op', choice('local.get', 'local.set', 'local.tee')),
      field('local', $._index),
    ),

    global_instr: ($) => seq(
      field('op', choice('global.get', 'global.set')),
      field('global', $._index),
    ),

    branch_instr: ($) => seq(
      field('op', choice('br', 'br_if')),
      field('label', $._index),
    ),

    br_table_instr: ($) => seq(
      field('op', 'br_table'),
      repeat1(field('label', $._index)),
    ),

    call_instr: ($) => seq(
      field('op', 'call'),
      field('function', $._index),
    ),

    memory_instr: ($) => seq(
      field('op', choice(...LOAD_OPS, ...STORE_OPS)),
      optional(field('offset', $.mem_offset)),
      optional(field('align', $.mem_align)),
    ),

    /** `select`, untyped or typed: `select (result i32)`. */
    select_instr: ($) => seq(
      field('op', 'select'),
      repeat(field('type', $.result_type)),
    ),

    simple_instr: (_) => field('op', choice(...NUMERIC_OPS, ...CONTROL_OPS)),

    /**
     * A word that is no known mnemonic, with whatever immediates follow it; reported by the
     * preprocessor with a suggestion. `/` belongs to the word for old names like `i32.trunc_s/f64`.
     */
    unknown_instr: ($) => prec.right(seq(
      field('name', $.word),
      repeat(field('immediate', choice($.identifier, $.number, $.mem_offset, $.mem_align))),
    )),

    word: (_) => /[A-Za-z_][A-Za-z0-9_.\/]*!?/,

    mem_offset: (_) => token(seq('offset=', NAT)),
    mem_align: (_) => token(seq('align=', NAT)),

    // ---- folded forms ------------------------------------------------------------------------

    folded_instr: ($) => seq(
      '(',
      field('instr', $._plain),
      repeat(field('operand', $._expr)),
      ')',
    ),

    block: ($) => seq(
      '(', 'block',
      optional(field('label', $.identifier)),
      ...blockType($),
      repeat($._statement),
      ')',
    ),

    loop: ($) => seq(
      '(', 'loop',
      optional(field('label', $.identifier)),
      ...blockType($),
      repeat($._statement),
      ')',
    ),

    if: ($) => seq(
      '(', 'if',
      optional(field('label', $.identifier)),
      ...blockType($),
      repeat(field('condition', $._expr)),
      field('then', $.then_block),
      optional(field('else', $.else_block)),
      ')',
    ),

    then_block: ($) => seq('(', 'then', repeat($._statement), ')'),
    else_block: ($) => seq('(', 'else', repeat($._statement), ')'),

    result_type: ($) => seq('(', 'result', repeat($.value_type), ')'),

    // ---- flat (stack-style) structured forms -------------------------------------------------

    flat_block: ($) => seq(
      'block',
      optional(field('label', $.identifier)),
      ...blockType($),
      repeat($._statement),
      'end',
      optional(field('end_label', $.identifier)),
    ),

    flat_loop: ($) => seq(
      'loop',
      optional(field('label', $.identifier)),
      ...blockType($),
      repeat($._statement),
      'end',
      optional(field('end_label', $.identifier)),
    ),

    flat_if: ($) => seq(
      'if',
      optional(field('label', $.identifier)),
      ...blockType($),
      repeat($._statement),
      optional(seq('else', optional(field('else_label', $.identifier)), repeat($._statement))),
      'end',
      optional(field('end_label', $.identifier)),
    ),

    // ---- wrappers a model may send (unwrapped by the preprocessor) ---------------------------

    module: ($) => seq(
      '(', 'module',
      optional(field('name', $.identifier)),
      repeat(choice($.func, $.module_field)),
      ')',
    ),

    /** A module field other than a function; the template provides these, so they are ignored. */
    module_field: ($) => seq(
      '(',
      field('kind', choice('import', 'memory', 'export', 'data', 'global', 'type', 'table',
        'elem', 'start')),
      repeat($._datum),
      ')',
    ),

    func: ($) => seq(
      '(', 'func',
      optional(field('name', $.identifier)),
      repeat(field('header', choice($.export_decl, $.param_decl, $.result_type))),
      repeat($._statement),
      ')',
    ),

    export_decl: ($) => seq('(', 'export', $.string, ')'),

    param_decl: ($) => seq(
      '(', 'param',
      optional(field('name', $.identifier)),
      repeat(field('type', $.value_type)),
      ')',
    ),

    // Generic s-expression content of an ignored module field.
    _datum: ($) => choice(
      $.identifier, $.number, $.string, $.word, $.value_type, $.datum_list,
    ),
    datum_list: ($) => seq('(', repeat(choice($._datum, 'func', 'param', 'result', 'export',
      'local', 'memory', 'import', 'data', 'global', 'type', 'table', 'elem', 'mut')), ')'),

    // ---- tokens ------------------------------------------------------------------------------

    _index: ($) => choice($.identifier, $.number),

    // `$name`, or a quoted `$"any name"` (WAT escapes), which is the same identifier as
    // `$any name` would be.
    identifier: (_) => token(choice(
      /\$[0-9A-Za-z!#$%&'*+\-./:<=>?@\\^_`|~]+/,
      /\$"([^"\\\n]|\\[^\n])*"/,
    )),

    number: (_) => token(choice(
      new RegExp(`[+-]?${DEC}(\\.(${DEC})?)?([eE][+-]?${DEC})?`),
      new RegExp(`[+-]?0x${HEX}(\\.(${HEX})?)?([pP][+-]?${DEC})?`),
      /[+-]?inf/,
      new RegExp(`[+-]?nan(:0x${HEX})?`),
    )),

    // WAT strings: no raw newline, escapes \n \t \\ \' \" \hh \u{...}.
    string: (_) => /"([^"\\\n]|\\[^\n])*"/,

    line_comment: (_) => token(seq(';;', /[^\n]*/)),
  },
});

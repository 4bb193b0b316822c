// External scanner for WAT-plus: the two tokens a regular expression cannot describe.
//
// - BLOCK_COMMENT: `(; ... ;)`, which nests in WAT: `(; a (; b ;) c ;)` is one comment.
// - RAW_STRING: `"""..."""`, a literal without escapes that may span lines; it ends at the first
//   `"""`. It must be tried before the ordinary string token, which would read `""` as empty.
//
// The scanner keeps no state between tokens, so (de)serialisation is empty. An unterminated
// comment or raw string is not a token: the scanner returns false and the parser produces a local
// ERROR node; the preprocessor's lexical check reports it with the line where it was opened.

#include "tree_sitter/parser.h"

#include <wctype.h>

enum TokenType {
  BLOCK_COMMENT,
  RAW_STRING,
};

void *tree_sitter_watplus_external_scanner_create(void) { return NULL; }

void tree_sitter_watplus_external_scanner_destroy(void *payload) { (void)payload; }

unsigned tree_sitter_watplus_external_scanner_serialize(void *payload, char *buffer) {
  (void)payload;
  (void)buffer;
  return 0;
}

void tree_sitter_watplus_external_scanner_deserialize(void *payload, const char *buffer,
                                                       unsigned length) {
  (void)payload;
  (void)buffer;
  (void)length;
}

static void advance(TSLexer *lexer) { lexer->advance(lexer, false); }

// Called with the lexer just past `(;`.
static bool scan_block_comment(TSLexer *lexer) {
  unsigned depth = 1;
  while (depth > 0) {
    if (lexer->eof(lexer)) {
      return false;
    }
    int32_t c = lexer->lookahead;
    advance(lexer);
    if (c == '(' && lexer->lookahead == ';') {
      advance(lexer);
      depth++;
    } else if (c == ';' && lexer->lookahead == ')') {
      advance(lexer);
      depth--;
    }
  }
  lexer->mark_end(lexer);
  lexer->result_symbol = BLOCK_COMMENT;
  return true;
}

// Called with the lexer just past the opening `"""`.
static bool scan_raw_string(TSLexer *lexer) {
  unsigned quotes = 0;
  while (!lexer->eof(lexer)) {
    int32_t c = lexer->lookahead;
    advance(lexer);
    if (c != '"') {
      quotes = 0;
    } else if (++quotes == 3) {
      lexer->mark_end(lexer);
      lexer->result_symbol = RAW_STRING;
      return true;
    }
  }
  return false;
}

bool tree_sitter_watplus_external_scanner_scan(void *payload, TSLexer *lexer,
                                               const bool *valid_symbols) {
  (void)payload;
  while (iswspace(lexer->lookahead)) {
    lexer->advance(lexer, true);
  }

  if (lexer->lookahead == '(' && valid_symbols[BLOCK_COMMENT]) {
    advance(lexer);
    if (lexer->lookahead != ';') {
      return false;
    }
    advance(lexer);
    return scan_block_comment(lexer);
  }

  if (lexer->lookahead == '"' && valid_symbols[RAW_STRING]) {
    for (int i = 0; i < 3; i++) {
      if (lexer->lookahead != '"') {
        return false;
      }
      advance(lexer);
    }
    return scan_raw_string(lexer);
  }

  return false;
}

// External scanner for WAT-plus: the three tokens a regular expression cannot describe.
//
// - BLOCK_COMMENT: `(; ... ;)`, which nests in WAT: `(; a (; b ;) c ;)` is one comment.
// - RAW_STRING: `"""..."""`, a literal without escapes that may span lines; it ends at the first
//   `"""`. It must be tried before the ordinary string token, which would read `""` as empty.
// - ANNOTATION: `(@name ...)`, whose contents are any balanced tokens: parentheses nest, and
//   those inside strings and comments do not count. One token, since nothing in it matters.
//
// The scanner keeps no state between tokens, so (de)serialisation is empty. An unterminated
// comment or raw string is not a token: the scanner returns false and the parser produces a local
// ERROR node; the preprocessor's lexical check reports it with the line where it was opened.

#include "tree_sitter/parser.h"

#include <wctype.h>

enum TokenType {
  BLOCK_COMMENT,
  RAW_STRING,
  ANNOTATION,
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

// Called with the lexer just past `"` inside an annotation; consumes up to the closing `"`.
static bool skip_string(TSLexer *lexer) {
  while (!lexer->eof(lexer)) {
    int32_t c = lexer->lookahead;
    advance(lexer);
    if (c == '"') {
      return true;
    }
    if (c == '\\' && !lexer->eof(lexer)) {
      advance(lexer);
    }
  }
  return false;
}

// Called with the lexer just past `(@`: the rest of the annotation, nested parentheses, strings
// and comments included.
static bool scan_annotation(TSLexer *lexer) {
  unsigned depth = 1;
  while (depth > 0) {
    if (lexer->eof(lexer)) {
      return false;
    }
    int32_t c = lexer->lookahead;
    advance(lexer);
    if (c == '"') {
      if (!skip_string(lexer)) {
        return false;
      }
    } else if (c == '(' && lexer->lookahead == ';') {
      advance(lexer);
      unsigned comment = 1;
      while (comment > 0) {
        if (lexer->eof(lexer)) {
          return false;
        }
        int32_t d = lexer->lookahead;
        advance(lexer);
        if (d == '(' && lexer->lookahead == ';') {
          advance(lexer);
          comment++;
        } else if (d == ';' && lexer->lookahead == ')') {
          advance(lexer);
          comment--;
        }
      }
    } else if (c == ';' && lexer->lookahead == ';') {
      while (!lexer->eof(lexer) && lexer->lookahead != '\n') {
        advance(lexer);
      }
    } else if (c == '(') {
      depth++;
    } else if (c == ')') {
      depth--;
    }
  }
  lexer->mark_end(lexer);
  lexer->result_symbol = ANNOTATION;
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

  if (lexer->lookahead == '(' && (valid_symbols[BLOCK_COMMENT] || valid_symbols[ANNOTATION])) {
    advance(lexer);
    if (lexer->lookahead == ';' && valid_symbols[BLOCK_COMMENT]) {
      advance(lexer);
      return scan_block_comment(lexer);
    }
    if (lexer->lookahead == '@' && valid_symbols[ANNOTATION]) {
      advance(lexer);
      return scan_annotation(lexer);
    }
    return false;
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

package frontend

import (
	"fmt"
	"unicode/utf8"
)

// lexer turns source bytes into tokens. Errors (unknown characters, unterminated comments,
// malformed numbers) are reported to the error list and scanning goes on, so that one bad
// character does not hide the rest of the file.
type lexer struct {
	src  []byte
	off  int
	line int
	col  int
	errs *ErrorList
}

func newLexer(src []byte, errs *ErrorList) *lexer {
	return &lexer{src: src, line: 1, col: 1, errs: errs}
}

func (l *lexer) pos() Pos { return Pos{l.line, l.col} }

func (l *lexer) peekByte(ahead int) byte {
	if l.off+ahead < len(l.src) {
		return l.src[l.off+ahead]
	}
	return 0
}

func (l *lexer) advance() {
	if l.off >= len(l.src) {
		return
	}
	if l.src[l.off] == '\n' {
		l.line++
		l.col = 1
	} else {
		l.col++
	}
	l.off++
}

// skipSpace skips whitespace and comments.
func (l *lexer) skipSpace() {
	for l.off < len(l.src) {
		c := l.src[l.off]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			l.advance()
		case c == '/' && l.peekByte(1) == '/':
			for l.off < len(l.src) && l.src[l.off] != '\n' {
				l.advance()
			}
		case c == '/' && l.peekByte(1) == '*':
			start := l.pos()
			l.advance()
			l.advance()
			for {
				if l.off >= len(l.src) {
					l.errs.Add(start, "unterminated /* comment: add the closing */")
					return
				}
				if l.src[l.off] == '*' && l.peekByte(1) == '/' {
					l.advance()
					l.advance()
					break
				}
				l.advance()
			}
		default:
			return
		}
	}
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// next returns the next token; at the end it returns EOF forever.
func (l *lexer) next() Token {
	for {
		l.skipSpace()
		start, pos := l.off, l.pos()
		if l.off >= len(l.src) {
			return Token{Kind: EOF, Pos: pos}
		}
		c := l.src[l.off]
		switch {
		case isLetter(c):
			for l.off < len(l.src) && (isLetter(l.src[l.off]) || isDigit(l.src[l.off])) {
				l.advance()
			}
			text := string(l.src[start:l.off])
			if k, ok := keywords[text]; ok {
				return Token{Kind: k, Pos: pos, Text: text}
			}
			return Token{Kind: IDENT, Pos: pos, Text: text}
		case isDigit(c):
			return l.number(start, pos)
		}
		if t, ok := l.operator(pos); ok {
			return t
		}
		r, size := utf8.DecodeRune(l.src[l.off:])
		what := fmt.Sprintf("%q", r)
		switch {
		case r == utf8.RuneError && size <= 1:
			what = fmt.Sprintf("byte 0x%02x (not valid UTF-8)", c)
			size = 1
		case r == '\ufeff':
			what += " (a byte-order mark: save the file as UTF-8 without one)"
		}
		l.errs.Add(pos, fmt.Sprintf("unexpected character %s", what))
		for i := 0; i < size; i++ {
			l.advance()
		}
	}
}

func isHexDigit(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// number scans an integer or float literal: digits ['.' digits*] [exponent], digits 'i', or
// '0x' hex digits.
func (l *lexer) number(start int, pos Pos) Token {
	if l.peekByte(0) == '0' && (l.peekByte(1) == 'x' || l.peekByte(1) == 'X') {
		return l.hex(start, pos)
	}
	for isDigit(l.peekByte(0)) {
		l.advance()
	}
	kind := INT
	if l.peekByte(0) == '.' {
		kind = FLOAT
		l.advance()
		for isDigit(l.peekByte(0)) {
			l.advance()
		}
	}
	if c := l.peekByte(0); c == 'e' || c == 'E' {
		n := 1
		if s := l.peekByte(1); s == '+' || s == '-' {
			n = 2
		}
		if isDigit(l.peekByte(n)) {
			kind = FLOAT
			for i := 0; i < n; i++ {
				l.advance()
			}
			for isDigit(l.peekByte(0)) {
				l.advance()
			}
		}
	}
	text := string(l.src[start:l.off])
	if kind == INT && l.peekByte(0) == 'i' && !isLetter(l.peekByte(1)) && !isDigit(l.peekByte(1)) {
		l.advance() // the i suffix changes nothing
	}
	if isLetter(l.peekByte(0)) {
		for isLetter(l.peekByte(0)) || isDigit(l.peekByte(0)) {
			l.advance()
		}
		l.errs.Add(pos, fmt.Sprintf("malformed number %s", l.src[start:l.off]))
	}
	return Token{Kind: kind, Pos: pos, Text: text}
}

// hex scans a hexadecimal integer literal `0x` hex digits.
func (l *lexer) hex(start int, pos Pos) Token {
	l.advance()
	l.advance()
	for isHexDigit(l.peekByte(0)) {
		l.advance()
	}
	text := string(l.src[start:l.off])
	if len(text) == 2 || isLetter(l.peekByte(0)) || l.peekByte(0) == '.' {
		for isLetter(l.peekByte(0)) || isDigit(l.peekByte(0)) || l.peekByte(0) == '.' {
			l.advance()
		}
		l.errs.Add(pos, fmt.Sprintf("malformed hexadecimal literal %s (write 0x followed by digits 0-9, a-f, as in 0xFF)", l.src[start:l.off]))
		return Token{Kind: INT, Pos: pos, Text: "0"}
	}
	return Token{Kind: INT, Pos: pos, Text: text}
}

var threeCharOps = map[string]TokenKind{"<<=": SHL_ASSIGN, ">>=": SHR_ASSIGN}

var twoCharOps = map[string]TokenKind{
	"==": EQL, "!=": NEQ, "<=": LEQ, ">=": GEQ, "&&": LAND, "||": LOR,
	"+=": ADD_ASSIGN, "-=": SUB_ASSIGN, "*=": MUL_ASSIGN, "/=": QUO_ASSIGN, "%=": REM_ASSIGN,
	"&=": AND_ASSIGN, "|=": OR_ASSIGN, "^=": XOR_ASSIGN, "<<": SHL, ">>": SHR, "->": ARROW,
}

var oneCharOps = map[byte]TokenKind{
	'+': ADD, '-': SUB, '*': MUL, '/': QUO, '%': REM, '&': AND, '|': OR, '^': XOR, '~': TILDE, '<': LSS, '>': GTR, '!': NOT, '=': ASSIGN,
	',': COMMA, ';': SEMICOLON, '(': LPAREN, ')': RPAREN, '[': LBRACK, ']': RBRACK, '{': LBRACE, '}': RBRACE,
}

// operator scans punctuation; it reports false for a character that starts no token.
func (l *lexer) operator(pos Pos) (Token, bool) {
	if l.off+2 < len(l.src) {
		s := string(l.src[l.off : l.off+3])
		if k, ok := threeCharOps[s]; ok {
			for range 3 {
				l.advance()
			}
			return Token{Kind: k, Pos: pos, Text: s}, true
		}
	}
	if l.off+1 < len(l.src) {
		s := string(l.src[l.off : l.off+2])
		if k, ok := twoCharOps[s]; ok {
			l.advance()
			l.advance()
			return Token{Kind: k, Pos: pos, Text: s}, true
		}
	}
	c := l.src[l.off]
	if k, ok := oneCharOps[c]; ok {
		l.advance()
		return Token{Kind: k, Pos: pos, Text: string(c)}, true
	}
	return Token{}, false
}

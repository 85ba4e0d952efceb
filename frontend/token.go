package frontend

import "fmt"

// Pos is a position in a source file; lines and columns count from 1 (columns in bytes).
type Pos struct {
	Line, Col int
}

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Less orders positions by line, then column.
func (p Pos) Less(q Pos) bool {
	return p.Line < q.Line || p.Line == q.Line && p.Col < q.Col
}

// TokenKind is the kind of a lexical token.
type TokenKind int

// Token kinds. Keywords and type names are their own kinds.
const (
	EOF TokenKind = iota
	ILLEGAL
	IDENT
	INT
	FLOAT

	// keywords
	FN
	VAR
	RETURN
	IF
	ELSE
	WHILE
	ARRAY
	AS
	TYPE // a scalar type name: f32 f64 f16 bf16 i8 i16 i32 int i64 u8 u16 u32 u64 bool

	// operators and punctuation
	ADD   // +
	SUB   // -
	MUL   // *
	QUO   // /
	REM   // %
	AND   // &
	OR    // |
	XOR   // ^
	SHL   // <<
	SHR   // >>
	TILDE // ~
	EQL   // ==
	NEQ   // !=
	LSS   // <
	GTR   // >
	LEQ   // <=
	GEQ   // >=
	LAND
	LOR
	NOT
	ASSIGN     // =
	ADD_ASSIGN // +=
	SUB_ASSIGN // -=
	MUL_ASSIGN // *=
	QUO_ASSIGN // /=
	REM_ASSIGN // %=
	AND_ASSIGN // &=
	OR_ASSIGN  // |=
	XOR_ASSIGN // ^=
	SHL_ASSIGN // <<=
	SHR_ASSIGN // >>=
	ARROW      // ->
	COMMA
	SEMICOLON
	LPAREN
	RPAREN
	LBRACK
	RBRACK
	LBRACE
	RBRACE
)

var tokenText = map[TokenKind]string{
	EOF: "end of file", ILLEGAL: "illegal character", IDENT: "identifier", INT: "integer literal",
	FLOAT: "float literal", FN: "fn", VAR: "var", RETURN: "return", IF: "if", ELSE: "else",
	WHILE: "while", ARRAY: "array", AS: "as", TYPE: "type name",
	ADD: "+", SUB: "-", MUL: "*", QUO: "/", REM: "%", AND: "&", OR: "|", XOR: "^", SHL: "<<", SHR: ">>", TILDE: "~", EQL: "==", NEQ: "!=", LSS: "<", GTR: ">",
	LEQ: "<=", GEQ: ">=", LAND: "&&", LOR: "||", NOT: "!", ASSIGN: "=", ADD_ASSIGN: "+=",
	SUB_ASSIGN: "-=", MUL_ASSIGN: "*=", QUO_ASSIGN: "/=", REM_ASSIGN: "%=", AND_ASSIGN: "&=", OR_ASSIGN: "|=",
	XOR_ASSIGN: "^=", SHL_ASSIGN: "<<=", SHR_ASSIGN: ">>=", ARROW: "->", COMMA: ",", SEMICOLON: ";",
	LPAREN: "(", RPAREN: ")", LBRACK: "[", RBRACK: "]", LBRACE: "{", RBRACE: "}",
}

func (k TokenKind) String() string {
	if s, ok := tokenText[k]; ok {
		return s
	}
	return fmt.Sprintf("token(%d)", int(k))
}

var keywords = map[string]TokenKind{
	"fn": FN, "var": VAR, "return": RETURN, "if": IF, "else": ELSE, "while": WHILE,
	"array": ARRAY, "as": AS,
	"f32": TYPE, "f64": TYPE, "f16": TYPE, "bf16": TYPE, "i8": TYPE, "i16": TYPE, "i32": TYPE, "int": TYPE, "i64": TYPE,
	"u8": TYPE, "u16": TYPE, "u32": TYPE, "u64": TYPE, "bool": TYPE,
}

// Token is one lexical token with its position and source text.
type Token struct {
	Kind TokenKind
	Pos  Pos
	Text string
}

// describe renders a token for "expected X, found Y" messages.
func (t Token) describe() string {
	switch t.Kind {
	case EOF:
		return "end of file"
	case IDENT, INT, FLOAT, TYPE:
		return fmt.Sprintf("%s %s", t.Kind, t.Text)
	}
	return fmt.Sprintf("'%s'", t.Text)
}

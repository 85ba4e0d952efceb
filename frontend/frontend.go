// Package frontend turns SimpLang source into a typed syntax tree: a lexer, a recursive-descent
// parser and a type checker, as docs/language.md defines the language.
//
// Call Parse with a file name and its source. It returns the checked *File, ready for a code
// generator, or an *ErrorList holding every diagnostic found (up to MaxErrors), each printed
// as file:line:col: message, the source line and a caret. Parse never panics, whatever its input.
//
// A checked file is fully explicit: every identifier refers to its *Var, every call to its
// *Func or Builtin, every expression has a Type, untyped constants have taken the type of their
// context and every implicit conversion is a *Convert node. Statements after a return are
// dropped.
package frontend

// Parse parses and type-checks one SimpLang source file.
func Parse(filename string, src []byte) (*File, error) {
	errs := &ErrorList{file: filename, src: src}
	f := parseFile(filename, src, errs)
	if errs.Len() > 0 {
		return nil, errs.Err()
	}
	checkFile(f, errs)
	if errs.Len() == 0 {
		for _, fn := range f.Funcs {
			checkAllocations(fn, errs)
		}
	}
	if errs.Len() > 0 {
		return nil, errs.Err()
	}
	return f, nil
}

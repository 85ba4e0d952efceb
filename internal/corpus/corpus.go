// Package corpus lists the programs of the shared SimpLang corpora (../shared/corpus and
// ../shared/corpus2 beside the repository) and reads the diagnostics a rejected program
// states, for the tests of the frontend and of the whole compiler.
package corpus

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// dirs are the corpora: the first compiler's, and the language additions' (unsigned and
// half-precision types, bit operations, conversions).
var dirs = []string{"corpus", "corpus2"}

// Programs returns the .sl files of folder sub ("run", "errors") of every corpus, failing the
// test when a corpus has none there. The corpora are found from the test's folder, a package
// one level below the repository's root, as go test runs it.
func Programs(t testing.TB, sub string) []string {
	t.Helper()
	var files []string
	for _, d := range dirs {
		dir := filepath.Join("..", "..", "shared", d, sub)
		found, _ := filepath.Glob(filepath.Join(dir, "*.sl"))
		if len(found) == 0 {
			t.Fatalf("no corpus programs in %s", dir)
		}
		files = append(files, found...)
	}
	return files
}

// WantError is one `// error: LINE[:COL] TEXT` line of a program that must be rejected.
type WantError struct {
	Line, Col int // Col 0: any column
	Text      string
}

var errorLine = regexp.MustCompile(`(?m)^// error: (\d+)(?::(\d+))? (.+)$`)

// WantErrors returns the diagnostics src states, failing the test when it states none.
func WantErrors(t testing.TB, src []byte) []WantError {
	t.Helper()
	var wants []WantError
	for _, m := range errorLine.FindAllSubmatch(src, -1) {
		w := WantError{Text: strings.TrimSpace(string(m[3]))}
		w.Line, _ = strconv.Atoi(string(m[1]))
		if len(m[2]) > 0 {
			w.Col, _ = strconv.Atoi(string(m[2]))
		}
		wants = append(wants, w)
	}
	if len(wants) == 0 {
		t.Fatal("the program states no // error: line")
	}
	return wants
}

// Matches reports whether a diagnostic at line:col saying msg is the one w states: the same
// line, the same column if w names one, and w's text within msg, ignoring case.
func (w WantError) Matches(line, col int, msg string) bool {
	return line == w.Line && (w.Col == 0 || col == w.Col) && strings.Contains(strings.ToLower(msg), strings.ToLower(w.Text))
}

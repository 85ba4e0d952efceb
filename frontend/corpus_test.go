package frontend

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/simplang/simplang/internal/corpus"
)

// TestCorpusErrors: Parse rejects every error program of the shared corpora with the
// diagnostics it states.
func TestCorpusErrors(t *testing.T) {
	files := corpus.Programs(t, "errors")
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Parse(path, src)
			var list *ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Parse accepted the program (err = %v)", err)
			}
			for _, w := range corpus.WantErrors(t, src) {
				if !slices.ContainsFunc(list.Errs, func(e *Error) bool { return w.Matches(e.Pos.Line, e.Pos.Col, e.Msg) }) {
					t.Errorf("missing diagnostic %d:%d %q; got:\n%v", w.Line, w.Col, w.Text, list)
				}
			}
		})
	}
}

// TestCorpusRunProgramsCheck: Parse accepts every program of the corpora that must run.
func TestCorpusRunProgramsCheck(t *testing.T) {
	files := corpus.Programs(t, "run")
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(path, src); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
}

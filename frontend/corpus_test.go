package frontend

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const corpusDir = "../../shared/corpus"

// wantError is one `// error: LINE[:COL] TEXT` line of a corpus file.
type wantError struct {
	line, col int // col 0: any column
	text      string
}

var errorLine = regexp.MustCompile(`(?m)^// error: (\d+)(?::(\d+))? (.+)$`)

func parseWantErrors(t *testing.T, src []byte) []wantError {
	var wants []wantError
	for _, m := range errorLine.FindAllSubmatch(src, -1) {
		w := wantError{text: strings.TrimSpace(string(m[3]))}
		w.line, _ = strconv.Atoi(string(m[1]))
		if len(m[2]) > 0 {
			w.col, _ = strconv.Atoi(string(m[2]))
		}
		wants = append(wants, w)
	}
	if len(wants) == 0 {
		t.Fatal("corpus file has no // error: lines")
	}
	return wants
}

func TestCorpusErrors(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "errors", "*.sl"))
	if len(files) == 0 {
		t.Fatalf("no corpus error programs under %s", corpusDir)
	}
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
			for _, w := range parseWantErrors(t, src) {
				if !hasError(list, w) {
					t.Errorf("missing diagnostic %d:%d %q; got:\n%v", w.line, w.col, w.text, list)
				}
			}
		})
	}
}

func hasError(list *ErrorList, w wantError) bool {
	for _, e := range list.Errs {
		if e.Pos.Line == w.line && (w.col == 0 || e.Pos.Col == w.col) &&
			strings.Contains(strings.ToLower(e.Msg), strings.ToLower(w.text)) {
			return true
		}
	}
	return false
}

func TestCorpusRunProgramsCheck(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "run", "*.sl"))
	if len(files) == 0 {
		t.Fatalf("no corpus run programs under %s", corpusDir)
	}
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

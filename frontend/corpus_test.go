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

// corpusDirs are the shared corpora: the first compiler's and the language additions'.
var corpusDirs = []string{"../../shared/corpus", "../../shared/corpus2"}

// corpusFiles lists the programs in folder sub of every corpus, failing when one has none.
func corpusFiles(t *testing.T, sub string) []string {
	var files []string
	for _, dir := range corpusDirs {
		found, _ := filepath.Glob(filepath.Join(dir, sub, "*.sl"))
		if len(found) == 0 {
			t.Fatalf("no corpus programs under %s/%s", dir, sub)
		}
		files = append(files, found...)
	}
	return files
}

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
	files := corpusFiles(t, "errors")
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
	files := corpusFiles(t, "run")
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

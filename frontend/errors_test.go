package frontend

import (
	"strings"
	"testing"
)

// TestDiagnosticDisplay: a diagnostic shows its source line with a caret under the column;
// a long line is cut to a window around the column, marked with "...", the caret still under
// the character it points at.
func TestDiagnosticDisplay(t *testing.T) {
	caretAt := func(text string) (line, caret string) {
		parts := strings.Split(text, "\n\t")
		if len(parts) != 3 {
			t.Fatalf("diagnostic %q: want a message, a source line and a caret line", text)
		}
		return parts[1], parts[2]
	}
	short := "\tvar x = (1.0 + ;"
	_, err := Parse("s.sl", []byte("fn f() {\n"+short+"\n}\n"))
	line, caret := caretAt(err.Error())
	if line != short || caret != "\t               ^" {
		t.Errorf("short line: %q / %q", line, caret)
	}

	long := "    var s = 0.0" + strings.Repeat(" + 1.0", 50000) + " + ;" + strings.Repeat(" ", 10) + "// é" + strings.Repeat("x", 1000)
	_, err = Parse("l.sl", []byte("fn f() {\n"+long+"\n}\n"))
	if err == nil {
		t.Fatal("no error")
	}
	text := err.Error()
	line, caret = caretAt(strings.SplitN(text, "\nl.sl", 2)[0])
	if len(line) > maxShownLine+6 || !strings.HasPrefix(line, "...") || !strings.HasSuffix(line, "...") {
		t.Errorf("long line shown as %d bytes: %q", len(line), line)
	}
	if at := len(caret) - 1; at >= len(line) || line[at] != ';' {
		t.Errorf("the caret (column %d) is not under the ';' in %q", at, line)
	}
}

// TestByteOrderMark: a file saved with a byte-order mark is told what the character is.
func TestByteOrderMark(t *testing.T) {
	_, err := Parse("bom.sl", []byte("\ufefffn f() -> i64 { return 1; }\n"))
	if err == nil || !strings.Contains(err.Error(), "bom.sl:1:1: unexpected character '\\ufeff' (a byte-order mark: save the file as UTF-8 without one)") {
		t.Errorf("Parse of a file with a BOM: %v", err)
	}
}

package frontend

import (
	"strings"
	"testing"
)

// TestNoValue: a call of a function without a result is an error wherever a value is needed,
// conditions and indexed arrays included (it once reached the code generators there).
func TestNoValue(t *testing.T) {
	src := "fn g() {}\nfn f() -> i64 {\n    if (g()) {\n        return 1;\n    }\n    var x = g()[0];\n    while (g()) {}\n    return 0;\n}\n"
	_, err := Parse("void.sl", []byte(src))
	if err == nil {
		t.Fatal("Parse accepted calls of g as values")
	}
	for _, want := range []string{"void.sl:3:9: g returns no value", "void.sl:6:13: g returns no value", "void.sl:7:12: g returns no value"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
}

package linetable

import (
	"strings"
	"testing"

	"github.com/llir/llvm/ir"
	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/types"

	"github.com/simplang/simplang/frontend"
)

func TestTable(t *testing.T) {
	m := ir.NewModule()
	lines := New(m, "dir/k.sl")
	f := m.NewFunc("k", types.I32)
	lines.Func(f, frontend.Pos{Line: 3, Col: 1})
	b := f.NewBlock("")
	lines.Opened(b)
	lines.Locate(frontend.Pos{Line: 4, Col: 5})
	sum := b.NewAdd(constant.NewInt(types.I32, 1), constant.NewInt(types.I32, 2))
	lines.Locate(frontend.Pos{Line: 5, Col: 2})
	b.NewRet(sum)
	lines.Flush()

	text := m.String()
	for _, want := range []string{
		`!DIFile(filename: "k.sl", directory: "dir")`,
		`distinct !DISubprogram(name: "k"`,
		`add i32 1, 2, !dbg`,
		`ret i32 %1, !dbg`,
		`!DILocation(line: 4, column: 5`,
		`!DILocation(line: 5, column: 2`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in\n%s", want, text)
		}
	}
}

func TestNil(t *testing.T) {
	var lines *Table // without a line table every method does nothing
	m := ir.NewModule()
	f := m.NewFunc("k", types.Void)
	lines.Func(f, frontend.Pos{Line: 1, Col: 1})
	b := f.NewBlock("")
	lines.Opened(b)
	lines.Locate(frontend.Pos{Line: 2, Col: 1})
	b.NewRet(nil)
	lines.Flush()
	if text := m.String(); strings.Contains(text, "!dbg") {
		t.Errorf("debug information without a table:\n%s", text)
	}
}

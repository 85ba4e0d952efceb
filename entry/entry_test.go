package entry

import (
	"regexp"
	"strings"
	"testing"

	"github.com/simplang/simplang/abi"
)

// TestModule checks the tables, the run time of checks, and one packed entry per function,
// with the expanded C arguments in order and the result stored through the last slot.
func TestModule(t *testing.T) {
	funcs := []abi.Func{
		{Name: "dot", Params: []abi.Param{{Name: "a", Kind: abi.F32, Array: true}, {Name: "n", Kind: abi.I64}}, Result: abi.F32},
		{Name: "fill", Params: []abi.Param{{Name: "out", Kind: abi.I8, Array: true}, {Name: "on", Kind: abi.Bool}}},
		{Name: "q", Params: []abi.Param{{Name: "p", Kind: abi.U8, Array: true}, {Name: "w", Kind: abi.BF16, Array: true},
			{Name: "s", Kind: abi.F16}, {Name: "n", Kind: abi.U64}}, Result: abi.U32},
	}
	sites := []abi.Site{{Pos: "d.sl:3:9", Func: "dot", Kind: abi.IndexSite, Array: "a"}}
	text := Module(funcs, sites)
	for _, want := range []string{
		`@simplang_signatures = constant [`,
		`c"fn dot(f32[] a, i64 n) -> f32\0Afn fill(i8[] out, bool on)\0Afn q(u8[] p, bf16[] w, f16 s, u64 n) -> u32\0A\00"`,
		`declare float @dot(float* %a.allocated, float* noalias %a.aligned, i64 %a.offset, i64 %a.size, i64 %a.stride, i64 %n)`,
		`declare void @fill(i8* %out.allocated, i8* noalias %out.aligned, i64 %out.offset, i64 %out.size, i64 %out.stride, i1 %on)`,
		`declare i32 @q(i8* %p.allocated, i8* noalias %p.aligned, i64 %p.offset, i64 %p.size, i64 %p.stride, i16* %w.allocated, i16* noalias %w.aligned, i64 %w.offset, i64 %w.size, i64 %w.stride, i16 %s, i64 %n)`,
		`@simplang_sites = constant [`,
		`c"d.sl:3:9\09dot\09index\09a\090\0A\00"`,
		`define i32 @_mlir_dot(i8** %args)`,
		`define i32 @_mlir_fill(i8** %args)`,
		`define i32 @simplang_take_error(`,
		`define void @simplang_report(`,
		`define void @simplang_trace(i32 %on)`,
		`define i64 @simplang_trace_read(i64 %events, i64 %cap)`,
		`define i64 @simplang_now()`,
		`getelementptr inbounds i8*, i8** %args, i64 6`, // dot's result slot
	} {
		if !strings.Contains(text, want) {
			t.Errorf("entry module lacks %q:\n%s", want, text)
		}
	}
	if len(regexp.MustCompile(`call \S+ @(dot|fill|q)\(`).FindAllString(text, -1)) != 3 || strings.Count(text, "thread_local") != 1 {
		t.Errorf("want one call per entry:\n%s", text)
	}
}

package omp

import (
	"strings"
	"testing"

	"github.com/llir/llvm/ir"
	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/types"

	"github.com/simplang/simplang/frontend"
)

func TestFork(t *testing.T) {
	m := ir.NewModule()
	data := ir.NewParam("data", types.NewPointer(types.Float))
	scale := ir.NewParam("scale", types.Float)
	f := m.NewFunc("k", types.Void, data, scale)
	b := f.NewBlock("")
	lb, trips := constant.NewInt(types.I64, 0), constant.NewInt(types.I64, 100)
	at := Source{File: "k.sl", Func: "k", Pos: frontend.Pos{Line: 7, Col: 3}}
	r := Fork(m, b, "k.par.1", at, lb, trips, []Capture{{V: data, NoAlias: true}, {V: scale}})
	b.NewRet(nil)

	body := r.Func.NewBlock("")
	_, count, thread, caps := r.Share(body)
	if len(caps) != 2 || !caps[0].Type().Equal(data.Type()) || !caps[1].Type().Equal(types.Float) {
		t.Fatalf("captured values %v, want a float* and a float", caps)
	}
	if count != r.Func.Params[3] || thread == nil {
		t.Fatal("no trip count or thread")
	}
	body.NewRet(nil)

	text := m.String()
	for _, want := range []string{
		`define internal void @k.par.1(i32* %gtid, i32* %btid, i64 %lb, i64 %trips, float* noalias %cap0, i64 %cap1)`,
		`call void (%struct.ident_t*, i32, void (i32*, i32*, ...)*, ...) @__kmpc_fork_call(`,
		`c";k.sl;k;7;3;;\00"`,
		`call i32 @omp_get_thread_num()`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in\n%s", want, text)
		}
	}
}

package lower

import (
	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/loops"
)

// Float dot products on lanes. LLVM vectorizes a loop
//
//	while (j < n) { s += a[ia + j] * b[ib + j]; j = j + 1; }
//
// (a and b f32 arrays, or bf16 ones widened to f32; s an f32 variable they do not read) with
// four vector sums, and on Intel's Sapphire Rapids a mat-vec's rows stream slower that way
// than with one: measured 2026-12-02, 2 threads, the two builds alternated token by token,
// the 125M f32 decode step took 0.954 of its time with the rewrite below (q4 0.992, bf16
// 0.998), and called from C beside llama2.c's forward it went from 0.93 to 0.96–0.975 of
// llama2.c's speed on huge pages and from about 1.00 to 1.04 on 4 KiB pages. Unless
// StrictFP, such a loop (or several side by side, as unroll-and-jam leaves them) becomes
//
//	var dot_end = j + (trips & −16);
//	while (j < dot_end) { Prefetch(a, ia + j + ahead); s = s + FloatDot(a, ia + j, b, ib + j, 1); j = j + 16; }
//	the loop as written, for the iterations left over
//
// with s held as 16 lanes (Loop.Lanes), which LLVM leaves as it is, and a Prefetch
// PrefetchAhead bytes on of each array that streams (see streamed: a mat-vec's rows, new in
// every trip of the loop around): the f32 decode step took 0.953 of its time with it at 125M
// and 0.952 at 1B (as below). A bf16 array takes this form only where it streams, 32
// elements (a 64-byte line) a trip:
//
//	while (j < dot_end) { Prefetch(…); s = s + FloatDot(a, ia + j, b, ib + j, 2); j = j + 32; }
//
// which adds the line's two vectors of products before the lanes sums, so that the sums'
// chain of additions has one link per line. Measured as below, the bf16 decode step took 0.90
// of its time at 125M and 0.95 at 1B on one vector a trip with a prefetch 1024 bytes on into
// every cache level, then the line a trip 0.96 and 0.94 of that, then the prefetch into the
// second level 8192 bytes on 0.90 and 0.93 of that, then the line's sum added to the lanes
// sums without reassoc 0.955 and 0.94 of that (with it, LLVM chained both products' FMAs on
// the sums: two links a line). Rows read again from cache, as a
// prefill's are for each token, are left to LLVM's four sums: on one, the bf16 prefill of 64
// tokens took 1.5 times as long. (The f32 prefill runs four tokens side by side, four sums;
// its prefetches of those tokens' inputs cost nothing measurable: 1.000.)

// floatDots rewrites the float dot-product loops (above) in list and the blocks inside it,
// with the prefetches of the rows they stream when prefetch is true. On AMD's Zen 4 the rows
// stream faster without them (measured 2026-12-03, 2 threads, the two builds alternated token
// by token in one process): the f32 decode step took 0.85–0.99 of its time at 125M and 0.89
// and 0.96 at 1B, both page sizes, and bf16 0.90–0.97 at 125M (both page sizes); without the
// rewrite at all (LLVM's four sums) f32 took 1.06–1.08, and with 2 or 4 vectors a trip
// instead of one (without the prefetch) 0.94 and 1.04–1.07 of the one-vector time; the
// jammed rows stay (unjammed: 0.87–0.93 against 0.84–0.85 jammed). The q8 and q4 groups'
// prefetches still pay there (q4 without them: 1.03–1.06), but bf16 rows asking for each
// line three times as those do (PrefetchTimes) took 1.00–1.05 of the time without prefetch
// (125M and 1B). Package compiler decides by the CPU (Options.NoFloatPrefetch).
func floatDots(list []frontend.Stmt, lanes map[*frontend.While][]*frontend.Var, prefetch bool) []frontend.Stmt {
	return beforeLoopsIn(list, nil, func(w, outer *frontend.While) []frontend.Stmt { return floatDotLanes(w, outer, lanes, prefetch) })
}

// floatDotLanes returns the statements that run w's whole blocks of 16 on lanes when w is made
// of float dot products, leaving w the rest; nil for any other loop. outer is the loop around
// w (nil: none).
func floatDotLanes(w, outer *frontend.While, lanes map[*frontend.While][]*frontend.Var, prefetch bool) []frontend.Stmt {
	c := loops.Count(w)
	if c == nil || c.Step != 1 || c.Var.Type != frontend.I64 || c.CmpType != frontend.I64 || len(c.Body) == 0 {
		return nil
	}
	pos := w.Pos
	changing := changingIn(w.Body)
	streams := streamed(outer, w)
	type dot struct {
		sum          *frontend.Var
		a, ia, b, ib frontend.Expr
	}
	var dots []dot
	var prefetches []frontend.Stmt
	fetch := prefetcher{pos: pos}
	vectors := int64(1)                              // of 16 elements per FloatDot: 2 with bf16, a 64-byte line of it
	products := map[*frontend.Var]*frontend.Binary{} // temporaries holding a product, until used
	for _, s := range c.Body {
		switch s := s.(type) {
		case *frontend.VarDecl:
			p, ok := s.Init.(*frontend.Binary)
			if !ok || p.Op != frontend.MUL || p.Type() != frontend.F32 {
				return nil
			}
			products[s.Var] = p
		case *frontend.Assign:
			sum, ok := s.Target.(*frontend.Ident)
			if !ok || sum.Var.Type != frontend.F32 {
				return nil
			}
			var term frontend.Expr
			switch v, isBin := s.Value.(*frontend.Binary); {
			case s.Op == frontend.ADD_ASSIGN:
				term = s.Value
			case s.Op == frontend.ASSIGN && isBin && v.Op == frontend.ADD && isVar(v.X, sum.Var):
				term = v.Y
			default:
				return nil
			}
			if id, isIdent := term.(*frontend.Ident); isIdent && products[id.Var] != nil {
				term = products[id.Var]
				delete(products, id.Var)
			}
			p, ok := term.(*frontend.Binary)
			if !ok || p.Op != frontend.MUL {
				return nil
			}
			d := dot{sum: sum.Var}
			var okA, okB bool
			d.a, d.ia, okA = floatStream(p.X, c.Var, changing)
			d.b, d.ib, okB = floatStream(p.Y, c.Var, changing)
			if !okA || !okB || readsVar(p, sum.Var) {
				return nil
			}
			for _, x := range []struct{ a, i frontend.Expr }{{d.a, d.ia}, {d.b, d.ib}} {
				bf16 := x.a.Type().Kind == abi.BF16
				switch {
				case streams(x.i):
					if prefetch {
						prefetches = append(prefetches, fetch.of(x.a, x.i)...)
					}
					if bf16 {
						vectors = 2
					}
				case bf16:
					return nil // bf16 from cache (a prefill's rows): LLVM's four sums do better
				}
			}
			dots = append(dots, d)
		default:
			return nil
		}
	}
	if len(dots) == 0 || len(products) != 0 { // a temporary no sum reads
		return nil
	}
	body := prefetches
	var sums []*frontend.Var
	for _, d := range dots {
		call := frontend.NewBuiltin(pos, frontend.FloatDot, frontend.F32, cloneExpr(d.a), d.ia, cloneExpr(d.b), d.ib, frontend.IntConst(pos, frontend.I64, vectors))
		body = append(body, frontend.Set(frontend.Use(pos, d.sum), frontend.NewBinary(frontend.ADD, frontend.Use(pos, d.sum), call)))
		sums = append(sums, d.sum)
	}
	end, blocks := wholeBlocks(c, pos, 16*vectors, "dot_end", body)
	lanes[blocks] = sums
	return []frontend.Stmt{end, blocks}
}

// floatStream matches e = x[base + j] (or x[j + base], or x[j]), x a one-dimensional f32
// array or a bf16 one widened to f32, j the counter and base unchanged in the loop
// (changing: what the loop changes); it returns x and the index as written.
func floatStream(e frontend.Expr, j *frontend.Var, changing map[*frontend.Var]bool) (frontend.Expr, frontend.Expr, bool) {
	if cv, isConv := e.(*frontend.Convert); isConv && cv.T == frontend.F32 && cv.X.Type().Kind == abi.BF16 {
		e = cv.X
	} else if e.Type() != frontend.F32 {
		return nil, nil, false
	}
	ix, ok := e.(*frontend.Index)
	if !ok || len(ix.Indices) != 1 {
		return nil, nil, false
	}
	if _, isVar := ix.Array.(*frontend.Ident); !isVar {
		return nil, nil, false
	}
	i := unwiden(ix.Indices[0])
	switch b, isBin := i.(*frontend.Binary); {
	case isVar(i, j):
	case isBin && b.Op == frontend.ADD && isVar(b.X, j) && loops.Invariant(b.Y, changing):
	case isBin && b.Op == frontend.ADD && isVar(b.Y, j) && loops.Invariant(b.X, changing):
	default:
		return nil, nil, false
	}
	return ix.Array, cloneExpr(ix.Indices[0]), true
}

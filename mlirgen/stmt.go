package mlirgen

import (
	"fmt"
	"strings"

	"github.com/simplang/simplang/frontend"
)

// stmts emits a statement list. Arrays allocated by the list are freed at its end, which is
// the end of their block.
func (g *gen) stmts(list []frontend.Stmt) {
	mark := len(g.live)
	for _, s := range list {
		g.stmt(s)
		if g.terminated {
			return
		}
	}
	g.free(g.live[mark:])
	g.live = g.live[:mark]
}

func (g *gen) stmt(s frontend.Stmt) {
	g.pos = s.Position()
	switch s := s.(type) {
	case *frontend.VarDecl:
		g.env[s.Var] = g.expr(s.Init)
	case *frontend.Assign:
		g.assign(s)
	case *frontend.ExprStmt:
		g.call(s.X)
	case *frontend.Block:
		g.stmts(s.Stmts)
	case *frontend.If:
		g.ifStmt(s)
	case *frontend.While:
		if l := g.fn.Loop(s); l != nil {
			g.forLoop(s, l)
		} else {
			g.whileLoop(s)
		}
	case *frontend.Return:
		g.ret(s)
	}
}

// assign emits an assignment; the lowering made every assignment a plain one.
func (g *gen) assign(s *frontend.Assign) {
	switch t := s.Target.(type) {
	case *frontend.Ident:
		if sums := g.env[t.Var]; sums.lanes { // s = s + ScaledDot(…)
			g.env[t.Var] = value{v: g.scaledDot(s.Value.(*frontend.Binary).Y.(*frontend.Call), sums.v), lanes: true}
			return
		}
		g.env[t.Var] = g.expr(s.Value)
	case *frontend.Index:
		m, idx := g.address(t)
		g.op("memref.store %s, %s[%s] : %s", g.expr(s.Value).v, m, idx, typ(t.Array.Type()))
	}
}

// ret leaves the function: after lowering, every return is a statement of the function body.
func (g *gen) ret(s *frontend.Return) {
	op := "func.return"
	if s.Value != nil {
		op += fmt.Sprintf(" %s : %s", g.expr(s.Value).v, typ(g.fn.Result))
	}
	g.freeAll()
	g.op("%s", op)
	g.terminated = true
}

// scope is what a region (a branch, a loop body) may change in the environment: the
// values before it of the variables it declares or assigns. Restoring those, rather than a
// copy of the whole environment, keeps the generator linear in a function's length (one
// copy per checked array access made 8000 of them take seconds).
type scope map[*frontend.Var]saved

// saved is a variable's value before a region.
type saved struct {
	val   value
	bound bool // false: the variable is bound only inside the region
}

// enter records the scope of stmts and of the variables extra (a loop's counter).
func (g *gen) enter(extra []*frontend.Var, stmts ...frontend.Stmt) scope {
	sc := scope{}
	note := func(v *frontend.Var) {
		if _, seen := sc[v]; !seen {
			val, bound := g.env[v]
			sc[v] = saved{val, bound}
		}
	}
	for _, v := range extra {
		note(v)
	}
	for _, s := range stmts {
		if s == nil {
			continue
		}
		frontend.Inspect(s, func(n frontend.Node) bool {
			switch n := n.(type) {
			case *frontend.VarDecl:
				note(n.Var)
			case *frontend.Assign:
				if n.Rebinds() {
					note(n.Target.(*frontend.Ident).Var)
				}
			}
			return true
		})
	}
	return sc
}

// restore puts the environment back as it was when sc was entered.
func (g *gen) restore(sc scope) {
	for v, before := range sc {
		if before.bound {
			g.env[v] = before.val
		} else {
			delete(g.env, v)
		}
	}
}

// carried lists the variables, already defined here, that stmts give new values to.
func (g *gen) carried(stmts ...frontend.Stmt) []*frontend.Var {
	var vars []*frontend.Var
	seen := map[*frontend.Var]bool{}
	for _, s := range stmts {
		if s == nil {
			continue
		}
		for _, v := range frontend.Assigned(s) {
			if _, defined := g.env[v]; defined && !seen[v] {
				seen[v] = true
				vars = append(vars, v)
			}
		}
	}
	return vars
}

// parts flattens the current values of vars (arrays of rank > 1 carry their dimensions).
func (g *gen) parts(vars []*frontend.Var) (vals, types []string) {
	for _, v := range vars {
		val := g.env[v]
		vals = append(vals, val.v)
		if val.lanes {
			types = append(types, laneType)
		} else {
			types = append(types, typ(v.Type))
		}
		for _, d := range val.dims {
			vals = append(vals, d)
			types = append(types, "index")
		}
	}
	return vals, types
}

// bind gives vars the flattened values vals (in the order of parts).
func (g *gen) bind(vars []*frontend.Var, vals []string) {
	i := 0
	for _, v := range vars {
		val := value{v: vals[i], lanes: g.env[v].lanes}
		i++
		if v.Type.Rank > 1 {
			val.dims = vals[i : i+v.Type.Rank]
			i += v.Type.Rank
		}
		g.env[v] = val
	}
}

// regionArgs names a fresh block argument for each of list and returns them with the list
// "%a<sep>item, …": with sep " = " and initial values, their binding in scf.for iter_args or
// scf.while; with sep ": " and types, their declaration in a block.
func (g *gen) regionArgs(list []string, sep string) (args []string, text string) {
	pairs := make([]string, len(list))
	for i, item := range list {
		args = append(args, g.fresh())
		pairs[i] = args[i] + sep + item
	}
	return args, strings.Join(pairs, ", ")
}

// results names the n results of an op: "%r:n" for the definition and %r#i for each.
func (g *gen) results(n int) (def string, refs []string) {
	r := g.fresh()
	for i := 0; i < n; i++ {
		refs = append(refs, fmt.Sprintf("%s#%d", r, i))
	}
	return fmt.Sprintf("%s:%d = ", r, n), refs
}

func (g *gen) yield(vars []*frontend.Var) {
	vals, types := g.parts(vars)
	if len(vals) == 0 {
		g.op("scf.yield")
		return
	}
	g.op("scf.yield %s : %s", strings.Join(vals, ", "), strings.Join(types, ", "))
}

// ifStmt emits scf.if yielding the variables either branch assigns.
func (g *gen) ifStmt(s *frontend.If) {
	cond := g.expr(s.Cond).v
	vars := g.carried(s.Then, s.Else)
	sc := g.enter(nil, s.Then, s.Else)
	_, types := g.parts(vars)
	def, refs := "", []string(nil)
	if len(types) > 0 {
		def, refs = g.results(len(types))
		g.open("%sscf.if %s -> (%s) {", def, cond, strings.Join(types, ", "))
	} else {
		g.open("scf.if %s {", cond)
	}
	g.stmts(s.Then.Stmts)
	g.yield(vars)
	g.restore(sc)
	if s.Else != nil || len(types) > 0 {
		g.mid("} else {")
		if s.Else != nil {
			g.stmt(s.Else)
		}
		g.yield(vars)
	}
	g.close()
	g.restore(sc)
	g.bind(vars, refs)
}

package frontend

import "fmt"

// checkAllocations enforces the rules that let local arrays live on the heap without a
// garbage collector: `array<…>(…)` stands only as the value of a declaration or assignment,
// and no array outlives the block of the statement that created it (it may be passed to
// functions, which cannot keep it). It also marks the allocations whose sizes never change
// as hoistable.
func checkAllocations(fn *Func, errs *ErrorList) {
	a := &allocations{
		errs:   errs,
		parent: map[*Block]*Block{},
		home:   map[*Var]*Block{},
		owner:  map[*ArrayAlloc]*Block{},
		holds:  map[*Var]map[*ArrayAlloc]bool{},
	}
	for _, p := range fn.Params {
		a.home[p] = fn.Body
	}
	a.block(fn.Body, nil)
	a.propagate()
	a.checkEscapes()
	changing := map[*Var]bool{}
	for _, v := range Assigned(fn.Body) {
		changing[v] = true
	}
	for site := range a.owner {
		site.Hoist = invariant(site.Dims, changing)
	}
}

type allocations struct {
	errs   *ErrorList
	parent map[*Block]*Block             // enclosing block
	home   map[*Var]*Block               // block that declares each variable
	owner  map[*ArrayAlloc]*Block        // block of the statement that creates each array
	holds  map[*Var]map[*ArrayAlloc]bool // arrays each variable may refer to
	flows  []flow                        // array values stored into variables
}

// flow is an array value given to a variable by a declaration or assignment.
type flow struct {
	target *Var
	value  Expr // an *ArrayAlloc or an *Ident
	pos    Pos
	decl   bool
}

func (a *allocations) block(b, parent *Block) {
	a.parent[b] = parent
	for _, s := range b.Stmts {
		a.stmt(s, b)
	}
}

func (a *allocations) stmt(s Stmt, b *Block) {
	switch s := s.(type) {
	case *VarDecl:
		a.home[s.Var] = b
		a.value(s.Init, b, s.Var, true)
	case *Assign:
		if id, ok := s.Target.(*Ident); ok && s.Rebinds() && s.Op == ASSIGN {
			a.value(s.Value, b, id.Var, false)
		} else {
			a.misplaced(s.Value)
		}
		a.misplaced(s.Target)
	case *If:
		a.misplaced(s.Cond)
		a.block(s.Then, b)
		if s.Else != nil {
			if eb, ok := s.Else.(*Block); ok {
				a.block(eb, b)
			} else {
				a.stmt(s.Else, b)
			}
		}
	case *While:
		a.misplaced(s.Cond)
		a.block(s.Body, b)
	case *Return:
		a.misplaced(s.Value)
	case *ExprStmt:
		a.misplaced(s.X)
	case *Block:
		a.block(s, b)
	}
}

// value records the array flowing into target from the value of a declaration or assignment.
func (a *allocations) value(e Expr, b *Block, target *Var, decl bool) {
	if site, ok := e.(*ArrayAlloc); ok {
		a.owner[site] = b
		for _, d := range site.Dims {
			a.misplaced(d)
		}
		a.flows = append(a.flows, flow{target, site, site.Pos, decl})
		return
	}
	a.misplaced(e)
	if id, ok := OutputOf(e).(*Ident); ok && id.Var.Type.IsArray() {
		a.flows = append(a.flows, flow{target, id, e.Position(), decl})
	}
}

// misplaced reports array<…> expressions anywhere under n.
func (a *allocations) misplaced(n Node) {
	Inspect(n, func(n Node) bool {
		if site, ok := n.(*ArrayAlloc); ok {
			a.errs.Add(site.Pos, fmt.Sprintf("array<%s>(…) can only be the value of a declaration or assignment: declare it first, as in var tmp = array<%s>([n]);", site.Elem, site.Elem))
		}
		return true
	})
}

// propagate computes, to a fixed point, which arrays each variable may refer to.
func (a *allocations) propagate() {
	for changed := true; changed; {
		changed = false
		for _, f := range a.flows {
			set := a.holds[f.target]
			if set == nil {
				set = map[*ArrayAlloc]bool{}
				a.holds[f.target] = set
			}
			add := func(site *ArrayAlloc) {
				if !set[site] {
					set[site] = true
					changed = true
				}
			}
			switch v := f.value.(type) {
			case *ArrayAlloc:
				add(v)
			case *Ident:
				for site := range a.holds[v.Var] {
					add(site)
				}
			}
		}
	}
}

// checkEscapes reports assignments that let an array outlive the block that created it.
func (a *allocations) checkEscapes() {
	for _, f := range a.flows {
		if f.decl {
			continue // a new variable lives inside the block of its value
		}
		var sites map[*ArrayAlloc]bool
		switch v := f.value.(type) {
		case *ArrayAlloc:
			sites = map[*ArrayAlloc]bool{v: true}
		case *Ident:
			sites = a.holds[v.Var]
		}
		for site := range sites {
			if !a.within(a.home[f.target], a.owner[site]) {
				a.errs.Add(f.pos, fmt.Sprintf("the array created at %s would outlive its block through this assignment to %s, which is declared outside that block: declare %s in that block, or create the array where %s is declared", site.Pos, f.target.Name, f.target.Name, f.target.Name))
				break
			}
		}
	}
}

// within reports whether block b is outer or nested inside it.
func (a *allocations) within(b, outer *Block) bool {
	for ; b != nil; b = a.parent[b] {
		if b == outer {
			return true
		}
	}
	return false
}

// invariant reports whether expressions depend only on constants and variables that never
// change, and cannot trap when evaluated early (no division, calls or loads).
func invariant(exprs []Expr, changing map[*Var]bool) bool {
	ok := true
	for _, e := range exprs {
		Inspect(e, func(n Node) bool {
			switch n := n.(type) {
			case *Const, *Unary, *Convert:
			case *Ident:
				ok = ok && n.Var.Param && !changing[n.Var]
			case *Binary:
				ok = ok && n.Op != QUO && n.Op != REM
			default:
				ok = false
			}
			return ok
		})
	}
	return ok
}

package frontend

import "fmt"

// checkAllocations enforces the rules that let local arrays live on the heap without a
// garbage collector: `array<…>(…)` stands only as the value of a declaration or assignment,
// and no array outlives the block of the statement that created it (it may be passed to
// functions, which cannot keep it).
func checkAllocations(fn *Func, errs *ErrorList) {
	a := &allocations{
		errs:   errs,
		parent: map[*Block]*Block{},
		home:   map[*Var]*Block{},
		owner:  map[*ArrayAlloc]*Block{},
		roots:  ArrayRoots(fn),
	}
	for _, p := range fn.Params {
		a.home[p] = fn.Body
	}
	a.block(fn.Body, nil)
	a.checkEscapes()
}

type allocations struct {
	errs   *ErrorList
	parent map[*Block]*Block      // enclosing block
	home   map[*Var]*Block        // block that declares each variable
	owner  map[*ArrayAlloc]*Block // block of the statement that creates each array
	roots  map[*Var]map[any]bool  // arrays each variable may refer to (ArrayRoots)
	flows  []flow                 // array values stored into variables
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

// checkEscapes reports assignments that let an array outlive the block that created it.
func (a *allocations) checkEscapes() {
	for _, f := range a.flows {
		if f.decl {
			continue // a new variable lives inside the block of its value
		}
		sites := map[any]bool{f.value: true}
		if id, ok := f.value.(*Ident); ok {
			sites = a.roots[id.Var]
		}
		for root := range sites {
			site, ok := root.(*ArrayAlloc)
			if ok && !a.within(a.home[f.target], a.owner[site]) {
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

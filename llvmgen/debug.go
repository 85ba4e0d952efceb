package llvmgen

import (
	"path/filepath"
	"reflect"
	"strings"

	"github.com/llir/llvm/ir"
	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/metadata"
	"github.com/llir/llvm/ir/types"

	"github.com/simplang/simplang/frontend"
)

// debug is the DWARF line table of a module generated with lower.Options.Debug: a compile
// unit for the source file, a DISubprogram for every function (the outlined parallel bodies
// too), and on every instruction the DILocation of the statement it was emitted for.
//
// llir's blocks, into which the generator emits, know nothing of positions. So locate sets
// the position of the code that follows, and first gives every instruction emitted since the
// previous call the previous position (flush).
type debug struct {
	file *metadata.DIFile
	unit *metadata.DICompileUnit
	// funcType is the DISubroutineType all subprograms share (a line table needs no types).
	funcType *metadata.DISubroutineType
	pos      frontend.Pos
	// open are the blocks that may still receive instructions: those started since the
	// last flush, and the unterminated ones; done says how many of a block's instructions
	// have their location already.
	open   []*ir.Block
	done   map[*ir.Block]int
	scopes map[*ir.Func]*metadata.DISubprogram
	locs   map[debugLoc]*metadata.DILocation
}

type debugLoc struct {
	scope     *metadata.DISubprogram
	line, col int64
}

// dwarfVersion is the DWARF version of the line table, the one the MLIR backend's objects
// get by default.
const dwarfVersion = 4

// newDebug starts the debug information of g's module for source file name: the compile
// unit names the file as the user gave it, split like MLIR does into a directory (the
// compilation directory) and a base name.
func (g *gen) newDebug(name string) {
	dir, base := filepath.Split(name)
	if len(dir) > 1 {
		dir = strings.TrimSuffix(dir, "/")
	}
	d := &debug{
		file:   &metadata.DIFile{MetadataID: -1, Filename: base, Directory: dir},
		done:   map[*ir.Block]int{},
		scopes: map[*ir.Func]*metadata.DISubprogram{},
		locs:   map[debugLoc]*metadata.DILocation{},
	}
	d.unit = &metadata.DICompileUnit{MetadataID: -1, Distinct: true, Language: enum.DwarfLangC, File: d.file,
		Producer: "simplang", IsOptimized: true, EmissionKind: enum.EmissionKindLineTablesOnly}
	d.funcType = &metadata.DISubroutineType{MetadataID: -1, Types: &metadata.Tuple{MetadataID: -1}}
	flag := func(name string, v int64) *metadata.Tuple {
		// Behaviour 2: a warning when linked with a module that disagrees.
		return &metadata.Tuple{MetadataID: -1, Fields: []metadata.Field{
			constant.NewInt(types.I32, 2), &metadata.String{Value: name}, constant.NewInt(types.I32, v)}}
	}
	version, dwarf := flag("Debug Info Version", 3), flag("Dwarf Version", dwarfVersion)
	g.mod.MetadataDefs = append(g.mod.MetadataDefs, d.file, d.unit, d.funcType, d.funcType.Types, version, dwarf)
	g.mod.NamedMetadataDefs["llvm.dbg.cu"] = &metadata.NamedDef{Name: "llvm.dbg.cu", Nodes: []metadata.Node{d.unit}}
	g.mod.NamedMetadataDefs["llvm.module.flags"] = &metadata.NamedDef{Name: "llvm.module.flags", Nodes: []metadata.Node{version, dwarf}}
	g.dbg = d
}

// subprogram gives function f, which starts at pos, its DISubprogram.
func (g *gen) subprogram(f *ir.Func, pos frontend.Pos) {
	d := g.dbg
	if d == nil {
		return
	}
	flags := enum.DISPFlagDefinition | enum.DISPFlagOptimized
	if f.Linkage == enum.LinkageInternal {
		flags |= enum.DISPFlagLocalToUnit
	}
	sp := &metadata.DISubprogram{MetadataID: -1, Distinct: true, Name: f.Name(), Scope: d.file, File: d.file,
		Line: int64(pos.Line), Type: d.funcType, ScopeLine: int64(pos.Line), SPFlags: flags, Unit: d.unit}
	g.mod.MetadataDefs = append(g.mod.MetadataDefs, sp)
	f.Metadata = append(f.Metadata, &metadata.Attachment{Name: "dbg", Node: sp})
	d.scopes[f] = sp
}

// locate makes pos the position of the code emitted from now on and returns the previous
// one, so that a statement can restore it: defer g.locate(g.locate(s.Position())).
// Without Debug it does nothing.
func (g *gen) locate(pos frontend.Pos) (previous frontend.Pos) {
	d := g.dbg
	if d == nil {
		return frontend.Pos{}
	}
	g.flush()
	previous, d.pos = d.pos, pos
	return previous
}

// opened notes that block b may receive instructions.
func (g *gen) opened(b *ir.Block) {
	if g.dbg != nil {
		g.dbg.open = append(g.dbg.open, b)
	}
}

// flush gives the instructions emitted since the last flush the current position.
func (g *gen) flush() {
	d := g.dbg
	if d == nil {
		return
	}
	open := d.open[:0]
	for _, b := range d.open {
		insts := b.Insts[d.done[b]:]
		if len(insts) == 0 && b.Term == nil {
			open = append(open, b)
			continue
		}
		loc := g.debugLocation(b.Parent)
		for _, inst := range insts {
			attach(inst, loc)
		}
		if b.Term == nil {
			d.done[b] = len(b.Insts)
			open = append(open, b)
		} else {
			attach(b.Term, loc) // a terminated block receives nothing more
			delete(d.done, b)
		}
	}
	d.open = open
}

// debugLocation is the DILocation of the current position in function f.
func (g *gen) debugLocation(f *ir.Func) *metadata.DILocation {
	d := g.dbg
	key := debugLoc{d.scopes[f], int64(d.pos.Line), int64(d.pos.Col)}
	loc, ok := d.locs[key]
	if !ok {
		loc = &metadata.DILocation{MetadataID: -1, Line: key.line, Column: key.col, Scope: key.scope}
		g.mod.MetadataDefs = append(g.mod.MetadataDefs, loc)
		d.locs[key] = loc
	}
	return loc
}

// attach gives an instruction or terminator the !dbg attachment loc. (Each of llir's
// instruction types embeds an ir.Metadata field, but no method sets it.)
func attach(inst any, loc *metadata.DILocation) {
	md := reflect.ValueOf(inst).Elem().FieldByName("Metadata")
	md.Set(reflect.Append(md, reflect.ValueOf(&metadata.Attachment{Name: "dbg", Node: loc})))
}

// Package linetable gives an LLVM IR module built with github.com/llir/llvm a DWARF line
// table pointing into a SimpLang file: a compile unit for the file, a DISubprogram for every
// function, and on every instruction the DILocation of the source position it was emitted
// for.
//
// llir's blocks know nothing of positions. So a generator tells the table where the code
// that follows comes from (Locate) and which blocks it starts (Opened); each Locate, and the
// Flush at the end, gives every instruction emitted since the previous one the previous
// position. Every method of a nil *Table does nothing, so a generator without a line table
// calls them all the same.
package linetable

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

// Table is the line table of one module.
type Table struct {
	mod  *ir.Module
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

// New starts the line table of module m for source file name: the compile unit names the
// file as the user gave it, split like MLIR does into a directory (the compilation
// directory) and a base name.
func New(m *ir.Module, name string) *Table {
	dir, base := filepath.Split(name)
	if len(dir) > 1 {
		dir = strings.TrimSuffix(dir, "/")
	}
	t := &Table{
		mod:    m,
		file:   &metadata.DIFile{MetadataID: -1, Filename: base, Directory: dir},
		done:   map[*ir.Block]int{},
		scopes: map[*ir.Func]*metadata.DISubprogram{},
		locs:   map[debugLoc]*metadata.DILocation{},
	}
	t.unit = &metadata.DICompileUnit{MetadataID: -1, Distinct: true, Language: enum.DwarfLangC, File: t.file,
		Producer: "simplang", IsOptimized: true, EmissionKind: enum.EmissionKindLineTablesOnly}
	t.funcType = &metadata.DISubroutineType{MetadataID: -1, Types: &metadata.Tuple{MetadataID: -1}}
	flag := func(name string, v int64) *metadata.Tuple {
		// Behaviour 2: a warning when linked with a module that disagrees.
		return &metadata.Tuple{MetadataID: -1, Fields: []metadata.Field{
			constant.NewInt(types.I32, 2), &metadata.String{Value: name}, constant.NewInt(types.I32, v)}}
	}
	version, dwarf := flag("Debug Info Version", 3), flag("Dwarf Version", dwarfVersion)
	m.MetadataDefs = append(m.MetadataDefs, t.file, t.unit, t.funcType, t.funcType.Types, version, dwarf)
	m.NamedMetadataDefs["llvm.dbg.cu"] = &metadata.NamedDef{Name: "llvm.dbg.cu", Nodes: []metadata.Node{t.unit}}
	m.NamedMetadataDefs["llvm.module.flags"] = &metadata.NamedDef{Name: "llvm.module.flags", Nodes: []metadata.Node{version, dwarf}}
	return t
}

// Func gives function f, which starts at pos, its DISubprogram.
func (t *Table) Func(f *ir.Func, pos frontend.Pos) {
	if t == nil {
		return
	}
	flags := enum.DISPFlagDefinition | enum.DISPFlagOptimized
	if f.Linkage == enum.LinkageInternal {
		flags |= enum.DISPFlagLocalToUnit
	}
	sp := &metadata.DISubprogram{MetadataID: -1, Distinct: true, Name: f.Name(), Scope: t.file, File: t.file,
		Line: int64(pos.Line), Type: t.funcType, ScopeLine: int64(pos.Line), SPFlags: flags, Unit: t.unit}
	t.mod.MetadataDefs = append(t.mod.MetadataDefs, sp)
	f.Metadata = append(f.Metadata, &metadata.Attachment{Name: "dbg", Node: sp})
	t.scopes[f] = sp
}

// Locate makes pos the position of the code emitted from now on and returns the previous
// one, so that a statement can restore it: defer t.Locate(t.Locate(s.Position())).
func (t *Table) Locate(pos frontend.Pos) (previous frontend.Pos) {
	if t == nil {
		return frontend.Pos{}
	}
	t.Flush()
	previous, t.pos = t.pos, pos
	return previous
}

// Opened notes that block b may receive instructions.
func (t *Table) Opened(b *ir.Block) {
	if t != nil {
		t.open = append(t.open, b)
	}
}

// Flush gives the instructions emitted since the last flush the current position.
func (t *Table) Flush() {
	if t == nil {
		return
	}
	open := t.open[:0]
	for _, b := range t.open {
		insts := b.Insts[t.done[b]:]
		if len(insts) == 0 && b.Term == nil {
			open = append(open, b)
			continue
		}
		loc := t.location(b.Parent)
		for _, inst := range insts {
			attach(inst, loc)
		}
		if b.Term == nil {
			t.done[b] = len(b.Insts)
			open = append(open, b)
		} else {
			attach(b.Term, loc) // a terminated block receives nothing more
			delete(t.done, b)
		}
	}
	t.open = open
}

// location is the DILocation of the current position in function f.
func (t *Table) location(f *ir.Func) *metadata.DILocation {
	key := debugLoc{t.scopes[f], int64(t.pos.Line), int64(t.pos.Col)}
	loc, ok := t.locs[key]
	if !ok {
		loc = &metadata.DILocation{MetadataID: -1, Line: key.line, Column: key.col, Scope: key.scope}
		t.mod.MetadataDefs = append(t.mod.MetadataDefs, loc)
		t.locs[key] = loc
	}
	return loc
}

// attach gives an instruction or terminator the !dbg attachment loc. (Each of llir's
// instruction types embeds an ir.Metadata field, but no method sets it.)
func attach(inst any, loc *metadata.DILocation) {
	md := reflect.ValueOf(inst).Elem().FieldByName("Metadata")
	md.Set(reflect.Append(md, reflect.ValueOf(&metadata.Attachment{Name: "dbg", Node: loc})))
}

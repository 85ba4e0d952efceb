package abi

import (
	"fmt"
	"strconv"
	"strings"
)

// Checked code (language §4.1) reports a failed check as the number of its site, the index
// and the size; the object's site table, the NUL-terminated string SitesSymbol, says where
// each site is, one per line in site order:
//
//	dot.sl:4:26	dot	index	b	0
//	dot.sl:7:12	dot	divide
//
// A C caller reads the report of its last call with TakeErrorSymbol:
//
//	typedef struct { int32_t site; int64_t index, size; } simplang_error;
//	int simplang_take_error(simplang_error *e); // 1 and *e filled if a check failed
const (
	SitesSymbol     = "simplang_sites"
	TakeErrorSymbol = "simplang_take_error"
)

// The run-time functions checked code calls (package entry defines them in every object).
const (
	SlotSymbol    = "simplang_error_slot"     // i64 (): where this thread reports
	SetSlotSymbol = "simplang_set_error_slot" // i64 (i64 slot): report there instead; the one before
	ReportSymbol  = "simplang_report"         // void (i64 slot, i32 site, i64 index, i64 size)
)

// SiteKind is what a site checks.
type SiteKind uint8

// The kinds of checks.
const (
	IndexSite  SiteKind = iota // an array index against the array's size
	DivideSite                 // an integer divisor against zero
)

// Site is a place in a kernel's source where a check can fail.
type Site struct {
	Pos   string // file:line:col of the index expression or of the operator
	Func  string // the function that holds it
	Kind  SiteKind
	Array string // IndexSite: the array's name
	Dim   int    // IndexSite: which index of a multi-dimensional local array (0 for the first)
}

// Message describes a failure at s with index and size, as
// "dot.sl:4:26: dot: index 1000000 out of range for b (size 3)".
func (s Site) Message(index, size int64) string {
	if s.Kind == DivideSite {
		return fmt.Sprintf("%s: %s: integer division by zero", s.Pos, s.Func)
	}
	what := s.Array
	if s.Dim > 0 {
		what = fmt.Sprintf("dimension %d of %s", s.Dim+1, s.Array)
	}
	return fmt.Sprintf("%s: %s: index %d out of range for %s (size %d)", s.Pos, s.Func, index, what, size)
}

// EncodeSites renders a site table.
func EncodeSites(sites []Site) string {
	var b strings.Builder
	for _, s := range sites {
		if s.Kind == DivideSite {
			fmt.Fprintf(&b, "%s\t%s\tdivide\n", s.Pos, s.Func)
		} else {
			fmt.Fprintf(&b, "%s\t%s\tindex\t%s\t%d\n", s.Pos, s.Func, s.Array, s.Dim)
		}
	}
	return b.String()
}

// DecodeSites parses a site table written by EncodeSites.
func DecodeSites(table string) ([]Site, error) {
	var sites []Site
	for i, line := range strings.Split(table, "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		switch {
		case len(f) == 3 && f[2] == "divide":
			sites = append(sites, Site{Pos: f[0], Func: f[1], Kind: DivideSite})
		case len(f) == 5 && f[2] == "index":
			dim, err := strconv.Atoi(f[4])
			if err != nil || dim < 0 {
				return nil, fmt.Errorf("site table line %d %q: bad dimension", i+1, line)
			}
			sites = append(sites, Site{Pos: f[0], Func: f[1], Kind: IndexSite, Array: f[3], Dim: dim})
		default:
			return nil, fmt.Errorf("site table line %d %q: not a site", i+1, line)
		}
	}
	return sites, nil
}

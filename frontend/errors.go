package frontend

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// MaxErrors is how many diagnostics a file reports before the compiler gives up on it.
const MaxErrors = 10

// Error is one diagnostic at a position of a source file.
type Error struct {
	File string
	Pos  Pos
	Msg  string
	line string // the source line, for the caret display
}

// Error renders the diagnostic as language §7 asks: file:line:col: message, then the source line
// and a caret under the column.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d:%d: %s", e.File, e.Pos.Line, e.Pos.Col, e.Msg)
	if e.line != "" {
		line, col := shownLine(e.line, e.Pos.Col-1)
		b.WriteString("\n\t")
		b.WriteString(line)
		b.WriteString("\n\t")
		// Keep tabs in the caret line so that it lines up under tab-indented source.
		for i := 0; i < col && i < len(line); i++ {
			if line[i] == '\t' {
				b.WriteByte('\t')
			} else {
				b.WriteByte(' ')
			}
		}
		b.WriteByte('^')
	}
	return b.String()
}

// maxShownLine is how much of a source line a diagnostic shows: a line of a megabyte
// (generated code) would otherwise be printed whole, with a caret line as long.
const maxShownLine = 160

// shownLine returns the part of line shown under a diagnostic at byte col (from 0), with
// "..." where it was cut, and col within it.
func shownLine(line string, col int) (string, int) {
	if len(line) <= maxShownLine {
		return line, col
	}
	from := max(0, min(col-maxShownLine/2, len(line)-maxShownLine))
	for from > 0 && !utf8.RuneStart(line[from]) {
		from--
	}
	to := min(len(line), from+maxShownLine)
	for to < len(line) && !utf8.RuneStart(line[to]) {
		to++
	}
	shown, col := line[from:to], col-from
	if from > 0 {
		shown, col = "..."+shown, col+3
	}
	if to < len(line) {
		shown += "..."
	}
	return shown, col
}

// ErrorList collects the diagnostics of one file, in the manner of go/scanner.ErrorList.
type ErrorList struct {
	file  string
	src   []byte
	Errs  []*Error
	extra int // errors dropped after MaxErrors
}

// NewErrorList starts the diagnostics of a file, for a stage after Parse that finds more.
func NewErrorList(f *File) *ErrorList { return &ErrorList{file: f.Name, src: f.Source} }

// Add records a diagnostic at pos. Only the first error at a given position is kept, so that
// one mistake does not produce a cascade of messages at the same place.
func (l *ErrorList) Add(pos Pos, msg string) {
	for _, e := range l.Errs {
		if e.Pos == pos {
			return
		}
	}
	if len(l.Errs) >= MaxErrors {
		l.extra++
		return
	}
	l.Errs = append(l.Errs, &Error{File: l.file, Pos: pos, Msg: msg, line: sourceLine(l.src, pos.Line)})
}

// Len is the number of diagnostics kept.
func (l *ErrorList) Len() int { return len(l.Errs) }

// full reports whether the list has reached MaxErrors.
func (l *ErrorList) full() bool { return len(l.Errs) >= MaxErrors }

// Err returns the list as an error, sorted by position, or nil when it is empty.
func (l *ErrorList) Err() error {
	if len(l.Errs) == 0 {
		return nil
	}
	sort.SliceStable(l.Errs, func(i, j int) bool { return l.Errs[i].Pos.Less(l.Errs[j].Pos) })
	return l
}

func (l *ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l.Errs {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	if l.extra > 0 {
		fmt.Fprintf(&b, "\n%s: too many errors (%d more not shown)", l.file, l.extra)
	}
	return b.String()
}

// sourceLine returns line n (from 1) of src without its newline, or "" when out of range.
func sourceLine(src []byte, n int) string {
	for i := 1; i < n; i++ {
		nl := bytes.IndexByte(src, '\n')
		if nl < 0 {
			return ""
		}
		src = src[nl+1:]
	}
	if nl := bytes.IndexByte(src, '\n'); nl >= 0 {
		src = src[:nl]
	}
	return strings.TrimRight(string(src), "\r")
}

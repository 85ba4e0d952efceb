// Package progress shows how far a long load or conversion of a model file has got, the same
// way in every command: a line redrawn in place at most ten times a second on a terminal, or
// a line at 25, 50 and 75% when the output is a log.
package progress

import (
	"fmt"
	"io"
	"os"
	"time"
)

// MinBytes is the size from which a file's load or conversion shows its progress (Start; 1
// GiB): smaller ones take a second or two. A variable for the tests.
var MinBytes int64 = 1 << 30

// Start shows the progress of what ("loading FILE"), an operation on size bytes begun at
// start, on w from MinBytes on: the callback for the operation, whose counts are of units of
// unit bytes (1 for bytes, 4 for float32 elements), nil for a smaller size; and what ends the
// display.
func Start(w io.Writer, what string, size, unit int64, start time.Time) (update func(done, total int64), finish func()) {
	if size < MinBytes {
		return nil, func() {}
	}
	p := New(w, what, start)
	return func(done, total int64) { p.Update(unit*done, unit*total) }, p.Finish
}

// Progress is the display of one operation's progress.
type Progress struct {
	w        io.Writer
	what     string // "loading FILE"
	start    time.Time
	terminal bool
	shown    time.Duration // terminal: when the line was last drawn, 0 before the first time
	quarter  int64         // log: the last quarter printed
}

// New shows the progress of what ("loading FILE", "quantizing FILE to q8"), begun at start,
// on w: redrawn in place when w is a terminal.
func New(w io.Writer, what string, start time.Time) *Progress {
	p := &Progress{w: w, what: what, start: start}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

// Update shows that done of total bytes are through.
func (p *Progress) Update(done, total int64) {
	elapsed := time.Since(p.start)
	line := fmt.Sprintf("%s: %d%% of %.1f GB, %.2f GB/s", p.what, 100*done/total, float64(total)/1e9, float64(done)/1e9/elapsed.Seconds())
	if p.terminal {
		if p.shown == 0 || elapsed-p.shown >= 100*time.Millisecond || done == total {
			p.shown = elapsed
			fmt.Fprintf(p.w, "\r%s\033[K", line)
		}
		return
	}
	if q := 4 * done / total; q > p.quarter && q < 4 {
		p.quarter = q
		fmt.Fprintln(p.w, line)
	}
}

// Finish clears the line drawn on a terminal.
func (p *Progress) Finish() {
	if p.terminal {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

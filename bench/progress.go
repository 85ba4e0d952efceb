package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// progress shows what the benchmark is doing on standard error: a bar redrawn in place on a
// terminal, or a line every 25% when the output is a log.
type progress struct {
	w        io.Writer
	terminal bool
	last     int // last percentage printed for the current label
	label    string
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, last: -1}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

// note prints one line.
func (p *progress) note(format string, args ...any) {
	p.clear()
	fmt.Fprintf(p.w, format+"\n", args...)
}

// bar shows done of total for label.
func (p *progress) bar(label string, done, total int64) {
	if label != p.label {
		p.clear()
		p.label, p.last = label, -1
	}
	pct := int(100 * done / max(total, 1))
	if p.terminal {
		const width = 30
		filled := width * pct / 100
		bar := make([]byte, width)
		for i := range bar {
			bar[i] = '.'
			if i < filled {
				bar[i] = '#'
			}
		}
		fmt.Fprintf(p.w, "\r%s [%s] %3d%%", label, bar, pct)
		return
	}
	if step := pct / 25 * 25; step > p.last {
		p.last = step
		fmt.Fprintf(p.w, "%s: %d%%\n", label, step)
	}
}

// done ends label's bar with the time it took.
func (p *progress) done(label string, took time.Duration) {
	p.clear()
	fmt.Fprintf(p.w, "%s: done in %.2f s\n", label, took.Seconds())
	p.label = ""
}

// clear ends a bar being redrawn on a terminal.
func (p *progress) clear() {
	if p.terminal && p.label != "" {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

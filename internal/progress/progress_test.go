package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgress(t *testing.T) {
	var log bytes.Buffer
	p := New(&log, "loading big.bin", time.Now().Add(-time.Second))
	for done := int64(0); done <= 100; done += 10 {
		p.Update(done<<20, 100<<20)
	}
	p.Finish()
	lines := strings.Split(strings.TrimSuffix(log.String(), "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "loading big.bin: 30% of 0.1 GB, ") || !strings.Contains(lines[2], " 80% ") {
		t.Errorf("progress in a log: %q, want lines at 30, 50 and 80%%", lines)
	}
	var term bytes.Buffer
	p = New(&term, "loading big.bin", time.Now())
	p.terminal = true
	p.Update(50, 100)
	p.Update(60, 100) // within 0.1 s of the last: not drawn
	p.Update(100, 100)
	p.Finish()
	if got := term.String(); strings.Count(got, "\r") != 3 || strings.Contains(got, "60%") || !strings.Contains(got, "\rloading big.bin: 100% of ") || !strings.HasSuffix(got, "\r\033[K") {
		t.Errorf("progress on a terminal: %q", got)
	}
}

// TestStart: below MinBytes no display; from it, counts in units of unit bytes.
func TestStart(t *testing.T) {
	var log bytes.Buffer
	if update, _ := Start(&log, "small.bin", MinBytes-1, 1, time.Now()); update != nil {
		t.Errorf("a size under %d bytes shows progress", MinBytes)
	}
	update, finish := Start(&log, "quantizing big.bin", MinBytes, 4, time.Now().Add(-time.Second))
	if update == nil || finish == nil {
		t.Fatalf("a size of %d bytes shows no progress", MinBytes)
	}
	update(50<<20, 100<<20) // float32 elements: 200 of 400 MiB
	finish()
	if got := log.String(); !strings.HasPrefix(got, "quantizing big.bin: 50% of 0.4 GB, ") {
		t.Errorf("progress %q, want half of 0.4 GB", got)
	}
}

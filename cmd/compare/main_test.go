package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var tokPattern = regexp.MustCompile(`achieved tok/s: ([0-9.]+)`)

func TestFigure(t *testing.T) {
	for _, tt := range []struct {
		name, output string
		pattern      *regexp.Regexp
		want         float64
		err          string
	}{
		{"llama2.c", "Once upon a time\nachieved tok/s: 61.234568\n", tokPattern, 61.234568, ""},
		{"the last line counts", "achieved tok/s: 1.5\ntext\nachieved tok/s: 2.5\nmore text\n", tokPattern, 2.5, ""},
		{"no trailing newline", "achieved tok/s: 7", tokPattern, 7, ""},
		{"other pattern", "eval rate: 12.5 tokens/s\n", regexp.MustCompile(`eval rate: ([0-9.]+) tokens/s`), 12.5, ""},
		{"missing", "Once upon a time\n", tokPattern, 0, "no line of its output matches achieved tok/s: ([0-9.]+)"},
		{"not a number", "achieved tok/s: 1.2.3\n", tokPattern, 0, `"1.2.3" is not a finite number`},
		{"not finite", "rate: Inf\n", regexp.MustCompile(`rate: (\S+)`), 0, `"Inf" is not a finite number`},
		{"empty lines skipped", "  42  \n\n  \n", regexp.MustCompile(`(.*)`), 0, `"  42  " is not a finite number`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := figure(tt.pattern, []byte(tt.output))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("figure = %v, %v; want an error containing %q", got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("figure = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-runs", "3", "-names", "ours,peer", "cmd a", "cmd b"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.runs != 3 || o.programs != [2]program{{"ours", "cmd a"}, {"peer", "cmd b"}} || o.pattern.String() != tokPattern.String() {
		t.Errorf("parsed %+v", o)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"only one"}, "want two command lines"},
		{[]string{"a", "b", "c"}, "got 3 arguments"},
		{[]string{"a", "b", "-runs", "3"}, "got 4 arguments; flags go before the two commands"},
		{[]string{"-runs", "0", "a", "b"}, "-runs 0"},
		{[]string{"-pattern", "(", "a", "b"}, "-pattern: "},
		{[]string{"-pattern", "tok/s: [0-9.]+", "a", "b"}, "has 0 groups"},
		{[]string{"-names", "one", "a", "b"}, `-names "one"`},
	} {
		if _, err := parseFlags(tt.args, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseFlags(%q) = %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
}

func TestCompare(t *testing.T) {
	// Each run appends its name to a log, to show the order, and prints a figure that depends
	// on the run: A gives 10, 30, 20; B gives 10 on standard error every time.
	dir := t.TempDir()
	log := filepath.Join(dir, "order")
	a := `echo A >> ` + log + `; n=$(grep -c A ` + log + `); echo "text"; echo "achieved tok/s: $(( (n * 20 + 10) % 30 + 10 ))"`
	b := `echo B >> ` + log + `; echo "achieved tok/s: 10" >&2`
	var out bytes.Buffer
	o := &options{programs: [2]program{{"ours", a}, {"peer", b}}, runs: 3, pattern: tokPattern}
	if err := compare(context.Background(), o, &out); err != nil {
		t.Fatal(err)
	}
	order, _ := os.ReadFile(log)
	if string(order) != "A\nB\nA\nB\nA\nB\n" {
		t.Errorf("runs in the order %q, want alternating", order)
	}
	for _, want := range []string{
		"run 1/3  ours  10\n", "run 1/3  peer  10\n", "run 2/3  ours  30\n", "run 3/3  ours  20\n",
		"ours  median 20  (min 10, max 30)\n", "peer  median 10  (min 10, max 10)\n",
		"ratio of the medians, ours / peer: 2.000\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	out.Reset()
	o = &options{programs: [2]program{{"ours", `echo "achieved tok/s: 5"`}, {"peer", `echo "achieved tok/s: 0"`}}, runs: 1, pattern: tokPattern}
	if err := compare(context.Background(), o, &out); err != nil || !strings.Contains(out.String(), "ratio of the medians, ours / peer: none (peer's median is 0)") {
		t.Errorf("a zero median: %v\n%s", err, out.String())
	}

	for _, tt := range []struct {
		name string
		b    string
		want []string
	}{
		{"exit status", `echo loading; echo "no such model" >&2; exit 3`, []string{"run 1 of peer failed: exit status 3", "command: echo loading;", "    loading\n    no such model"}},
		{"not found", `/nonexistent/run model.bin`, []string{"exit status 127", "/nonexistent/run: not found"}},
		{"no figure", `echo "Once upon a time"`, []string{"run 1 of peer failed: no line of its output matches", "    Once upon a time"}},
		{"no output", `true`, []string{"no line of its output matches", "    (none)"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			o := &options{programs: [2]program{{"ours", `echo "achieved tok/s: 5"`}, {"peer", tt.b}}, runs: 3, pattern: tokPattern}
			err := compare(context.Background(), o, &out)
			if err == nil {
				t.Fatalf("compare succeeded:\n%s", out.String())
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if !strings.Contains(out.String(), "run 1/3  ours  5\n") || strings.Contains(out.String(), "run 2/3") || strings.Contains(out.String(), "median") {
				t.Errorf("output before the failure:\n%s", out.String())
			}
		})
	}
}

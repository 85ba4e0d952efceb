// Command compare runs two programs alternately and compares the figure each prints, for
// example generate and llama2.c's run on the same checkpoint (both print "achieved tok/s: N"):
//
//	compare -runs 5 -names generate,llama2.c \
//	    '/tmp/generate -checkpoint m.bin -temperature 0 -threads 2' \
//	    'OMP_NUM_THREADS=2 /tmp/llama2.c/run m.bin -t 0'
//
// Each command line is run by sh -c, A then B, runs times over. The figure is the first
// group of -pattern in the last line of a run's output (standard output and error) that
// matches it. compare prints every run as it finishes, then each program's median, and the
// ratio of the medians, A ÷ B. A run that fails, or prints no figure, stops the comparison:
// compare shows the command, why, and the end of its output, and exits with status 1.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/simplang/simplang/internal/stats"
)

// program is one side of the comparison.
type program struct {
	name    string
	command string // run by sh -c
}

// options are the command-line settings.
type options struct {
	programs [2]program
	runs     int
	pattern  *regexp.Regexp
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "compare: %v\n", err)
		os.Exit(2)
	}
	if err := compare(context.Background(), o, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "compare: %v\n", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	fs.IntVar(&o.runs, "runs", 5, "runs of each command, alternating")
	pattern := fs.String("pattern", `achieved tok/s: ([0-9.]+)`, "regular expression whose one group is the figure to compare")
	names := fs.String("names", "A,B", "names of the two commands in the report, separated by a comma")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: compare [flags] 'COMMAND A' 'COMMAND B'\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() != 2 {
		hint := ""
		if slices.ContainsFunc(fs.Args(), func(a string) bool { return strings.HasPrefix(a, "-") }) {
			hint = "; flags go before the two commands"
		}
		return nil, fmt.Errorf("want two command lines, each one argument (quote them), got %d arguments%s", fs.NArg(), hint)
	}
	if o.runs < 1 {
		return nil, fmt.Errorf("-runs %d: must be at least 1", o.runs)
	}
	re, err := regexp.Compile(*pattern)
	if err != nil {
		return nil, fmt.Errorf("-pattern: %v", err)
	}
	if re.NumSubexp() != 1 {
		return nil, fmt.Errorf("-pattern %q has %d groups; it needs exactly one, around the number", *pattern, re.NumSubexp())
	}
	o.pattern = re
	n := strings.Split(*names, ",")
	if len(n) != 2 || n[0] == "" || n[1] == "" {
		return nil, fmt.Errorf("-names %q: want two names separated by a comma", *names)
	}
	for i := range o.programs {
		o.programs[i] = program{name: n[i], command: fs.Arg(i)}
	}
	return o, nil
}

// compare runs the two programs alternately and writes every run, both medians and their
// ratio to out. It stops at the first run that fails or prints no figure.
func compare(ctx context.Context, o *options, out io.Writer) error {
	width := max(len(o.programs[0].name), len(o.programs[1].name))
	for _, p := range o.programs {
		fmt.Fprintf(out, "%-*s  %s\n", width, p.name, p.command)
	}
	fmt.Fprintf(out, "%d runs each, alternating; figure: %s\n", o.runs, o.pattern)
	var figures [2][]float64
	for run := 1; run <= o.runs; run++ {
		for i, p := range o.programs {
			output, err := exec.CommandContext(ctx, "sh", "-c", p.command).CombinedOutput()
			if err == nil {
				var f float64
				if f, err = figure(o.pattern, output); err == nil {
					figures[i] = append(figures[i], f)
					fmt.Fprintf(out, "run %d/%d  %-*s  %g\n", run, o.runs, width, p.name, f)
					continue
				}
			}
			return fmt.Errorf("run %d of %s failed: %v\ncommand: %s\nlast lines of its output:\n%s", run, p.name, err, p.command, tail(output, 10))
		}
	}
	m := [2]float64{stats.Median(figures[0]), stats.Median(figures[1])}
	for i, p := range o.programs {
		fmt.Fprintf(out, "%-*s  median %g  (min %g, max %g)\n", width, p.name, m[i], slices.Min(figures[i]), slices.Max(figures[i]))
	}
	if m[1] == 0 {
		fmt.Fprintf(out, "ratio of the medians, %s / %s: none (%s's median is 0)\n", o.programs[0].name, o.programs[1].name, o.programs[1].name)
		return nil
	}
	fmt.Fprintf(out, "ratio of the medians, %s / %s: %.3f\n", o.programs[0].name, o.programs[1].name, m[0]/m[1])
	return nil
}

// figure returns the number in re's group on the last non-empty line of output that
// matches re; it must be finite.
func figure(re *regexp.Regexp, output []byte) (float64, error) {
	lines := bytes.Split(output, []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		if len(bytes.TrimSpace(lines[i])) == 0 {
			continue
		}
		if m := re.FindSubmatch(lines[i]); m != nil {
			f, err := strconv.ParseFloat(string(m[1]), 64)
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				return 0, fmt.Errorf("line %q: %q is not a finite number", lines[i], m[1])
			}
			return f, nil
		}
	}
	return 0, fmt.Errorf("no line of its output matches %s", re)
}

// tail returns the last n lines of output, indented, or a note that there was none.
func tail(output []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(output), "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return "    (none)"
	}
	lines = lines[max(0, len(lines)-n):]
	return "    " + strings.Join(lines, "\n    ")
}

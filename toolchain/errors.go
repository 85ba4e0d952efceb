package toolchain

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// installHint is the remedy for every missing or unusable tool.
const installHint = "run scripts/install-toolchain.sh (or: apt-get install mlir-19-tools clang-19 libomp-19-dev)"

// MissingError reports a tool that was not found, or was found only in versions that cannot
// be used.
type MissingError struct {
	Tool     string   // what was looked for, e.g. "mlir-opt"
	Searched []string // where it was looked for, in order
	Rejected []string // candidates that were found but cannot be used, and why
}

func (e *MissingError) Error() string {
	var b strings.Builder
	if len(e.Rejected) > 0 {
		fmt.Fprintf(&b, "no usable %s: %s", e.Tool, strings.Join(e.Rejected, "; "))
	} else {
		fmt.Fprintf(&b, "%s not found", e.Tool)
	}
	if len(e.Searched) > 0 {
		fmt.Fprintf(&b, " (searched %s)", strings.Join(e.Searched, ", "))
	}
	b.WriteString("; " + installHint)
	return b.String()
}

// ToolError reports an external tool that failed: it exited with an error, could not be
// started, or was stopped because the build's context ended.
type ToolError struct {
	Tool     string   // path of the program
	Args     []string // its arguments; file names are relative to Dir
	Dir      string   // the directory it ran in
	Stderr   string   // everything it printed
	ExitCode int      // -1 when it did not exit by itself
	Err      error    // the cause when it did not exit by itself (e.g. context.Canceled)
}

// Limits on how much of a tool's output Error shows; the full text stays in Stderr.
const (
	maxErrLines = 40
	maxErrBytes = 4000
)

func (e *ToolError) Error() string {
	name := filepath.Base(e.Tool)
	cancelled := errors.Is(e.Err, context.Canceled) || errors.Is(e.Err, context.DeadlineExceeded)
	var b strings.Builder
	switch {
	case e.ExitCode >= 0:
		fmt.Fprintf(&b, "%s failed with exit code %d", name, e.ExitCode)
	case cancelled:
		fmt.Fprintf(&b, "%s was stopped: %v", name, e.Err)
	default:
		fmt.Fprintf(&b, "%s could not run: %v", name, e.Err)
	}
	fmt.Fprintf(&b, "\n  command: %s\n  in: %s\n", commandLine(e.Tool, e.Args), e.Dir)
	if out := trimOutput(e.Stderr); out != "" {
		b.WriteString(out)
		b.WriteString("\n")
	}
	switch {
	case e.ExitCode >= 0:
		fmt.Fprintf(&b, "%s rejected its input. If the input came from a SimpLang code generator, "+
			"this is a compiler bug: build again with WorkDir set (simpc --keep DIR) to keep the intermediate files, and report them.", name)
	case cancelled:
		b.WriteString("The build was cancelled.")
	default:
		fmt.Fprintf(&b, "Check that %s is a working program, or %s.", e.Tool, installHint)
	}
	return b.String()
}

func (e *ToolError) Unwrap() error { return e.Err }

// commandLine renders a command so that it can be pasted into a shell.
func commandLine(tool string, args []string) string {
	words := append([]string{tool}, args...)
	for i, w := range words {
		if w == "" || strings.ContainsAny(w, " \t\n'\"\\$`*?;&|<>()[]{}") {
			words[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
		}
	}
	return strings.Join(words, " ")
}

// trimOutput keeps the head of a tool's output, which holds the first (root) error.
func trimOutput(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	var b strings.Builder
	for i, l := range lines {
		if i == maxErrLines || b.Len()+len(l) > maxErrBytes {
			fmt.Fprintf(&b, "  ... (%d more lines)", len(lines)-i)
			break
		}
		b.WriteString("  " + l + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

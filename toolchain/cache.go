package toolchain

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/simplang/simplang/outfile"
)

// key names a build's object in the cache: a hash of its input files and of every step
// (tool path, tool version, arguments) that would run on them, so that changing the
// input, an option, a tool, or this package's commands gives a new key.
func (t *Tools) key(inputs map[string]string, steps []step, march string) string {
	h := sha256.New()
	field := func(name, val string) { fmt.Fprintf(h, "%s %d\n%s\n", name, len(val), val) }
	names := make([]string, 0, len(inputs))
	for name := range inputs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		field("file "+name, inputs[name])
	}
	for _, s := range steps {
		field("tool", s.tool.Path)
		field("version", s.tool.Version)
		fmt.Fprintf(h, "args %d\n", len(s.args))
		for _, a := range s.args {
			field("arg", a)
		}
	}
	field("libomp", t.OMPDir)
	if march == "native" {
		field("cpu", t.hostCPU)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// install copies the file src to dst atomically (outfile: a temporary file beside dst,
// then a rename), so that a reader of dst, such as a parallel build of the same kernel,
// sees either no file or the whole of it.
func install(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := outfile.Create(dst, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Abort()
		return err
	}
	return out.Commit()
}

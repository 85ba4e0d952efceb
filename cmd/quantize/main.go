// Command quantize turns a llama2.c float32 checkpoint into a llama2.c version-2 export: the
// Q8_0 file that llama2.c's runq.c reads and that generate runs on its q8 kernel without
// quantizing at every start.
//
//	quantize -checkpoint stories110M.bin -out stories110M_q80.bin
//
// The weights are quantized as llama2.c's export.py --version 2 does
// (llama.Checkpoint.Quantize: groups of -group values, default 32, each with the float32
// scale max|w|/127), the norms are copied, and a classifier shared with the token embedding
// stays shared (the header's flag). The file is written next to -out under a temporary name
// and renamed when it is complete (package outfile), so that a failed or interrupted run
// leaves no partial export behind.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/simplang/simplang/internal/progress"
	"github.com/simplang/simplang/llama"
	"github.com/simplang/simplang/loader"
	"github.com/simplang/simplang/outfile"
)

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "quantize: %v\n", err)
		os.Exit(2)
	}
	if err := run(o, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "quantize: %v\n", err)
		os.Exit(1)
	}
}

type options struct {
	checkpoint, out string
	group           int
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("quantize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.checkpoint, "checkpoint", "", "llama2.c float32 checkpoint to read (.bin)")
	fs.StringVar(&o.out, "out", "", "version-2 export to write (Q8_0, as runq.c reads)")
	fs.IntVar(&o.group, "group", llama.DefaultGroupSize, "values per scale; must divide dim and hidden_dim")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: quantize -checkpoint IN.bin -out OUT.bin [-group 32]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q (flags only)", fs.Arg(0))
	case o.checkpoint == "":
		return o, errors.New("-checkpoint is required: a llama2.c float32 checkpoint such as stories15M.bin")
	case o.out == "":
		return o, errors.New("-out is required: the version-2 export to write")
	case o.group <= 0:
		return o, fmt.Errorf("-group %d: must be positive", o.group)
	}
	return o, nil
}

func run(o options, stderr io.Writer) error {
	start := time.Now()
	out, err := outfile.Create(o.out, 0o644, o.checkpoint) // before reading anything
	if err != nil {
		return fmt.Errorf("-out %v", err)
	}
	defer out.Abort() // a no-op once committed
	isExport, err := llama.HasExportMagic(o.checkpoint)
	if err != nil {
		return err
	}
	if isExport {
		return fmt.Errorf("checkpoint %s is a llama2.c export already (it starts with the \"ak42\" magic); quantize reads float32 legacy checkpoints", o.checkpoint)
	}
	ckpt, err := llama.Open(o.checkpoint)
	if err != nil {
		return err
	}
	defer ckpt.Close()
	if !ckpt.Leased() { // the lease makes a program truncating the file wait until it is closed
		fmt.Fprintf(stderr, "quantize: no lease on %s (open for writing elsewhere, another user's, or a file system without leases): a truncation while it is read would end quantize with SIGBUS\n", o.checkpoint)
	}
	if err := ckpt.Config.ValidateWeights(llama.Q8, o.group); err != nil {
		return fmt.Errorf("-group %d: checkpoint %s: %w", o.group, o.checkpoint, err)
	}
	// An interrupted run removes its partial export (gigabytes at 7B) before it ends.
	interrupted := make(chan os.Signal, 1)
	signal.Notify(interrupted, os.Interrupt, syscall.SIGTERM)
	defer func() { signal.Stop(interrupted); close(interrupted) }() // ends the goroutine below
	go func() {
		if sig, ok := <-interrupted; ok {
			out.Abort()
			fmt.Fprintf(stderr, "quantize: %v: stopped, nothing written to %s\n", sig, o.out)
			os.Exit(130)
		}
	}()
	update, finish := progress.Start(stderr, fmt.Sprintf("quantizing %s to q8", o.checkpoint), ckpt.Size, 4, start) // counts float32 elements
	// Memory outside the Go heap, faulted in before it is written: on 4 KiB heap pages the
	// quantizing took as long again in page faults (1B: 7.5–7.7 s against 3.9–4.2 s in all).
	mem := loader.Arena{Pages: loader.HugePages}
	defer mem.Free()
	q, err := ckpt.Quantize(llama.Q8, o.group, mem.Floats, update)
	finish()
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", o.checkpoint, err)
	}
	size, err := writeExport(out, o.out, ckpt.Config, q, ckpt.SharedClassifier)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "quantize: wrote %s (%.1f MB, llama2.c version-2 export: q8, groups of %d) from %s (%.1f MB of float32) in %.2f s\n",
		o.out, float64(size)/1e6, o.group, o.checkpoint, float64(ckpt.Size)/1e6, time.Since(start).Seconds())
	return nil
}

// writeExport writes q as a version-2 export into out and commits it (see outfile), and
// returns the export's size; on failure out is left for the caller to abort.
func writeExport(out *outfile.File, path string, cfg llama.Config, q *llama.QWeights, shared bool) (int64, error) {
	counted := &counter{w: out}
	w := bufio.NewWriterSize(counted, 1<<20)
	err := llama.WriteV2(w, cfg, q, shared)
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		return 0, fmt.Errorf("writing %s: %w", path, err) // run's deferred Abort removes it
	}
	return counted.n, out.Commit()
}

// counter counts the bytes written through it (the export's size, also when -out is a
// device such as /dev/null).
type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

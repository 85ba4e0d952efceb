// Package outfile writes a command's output file whole or not at all: into a temporary file
// beside the destination, renamed onto it when complete, so that a reader (or a failed run)
// never sees part of it. A destination that is a symbolic link is written at the file it
// points to, and one that is a device or a pipe (/dev/null) is written directly: renaming
// over those would replace the link or the device node with a plain file.
package outfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// File is an output being written. Write to it, then Commit; Abort (or a failed Commit)
// removes what was written.
type File struct {
	*os.File
	dst  string // where Commit puts the file
	temp bool   // File is a temporary file beside dst, rather than dst itself
}

// Check reports why path cannot take a command's output, without creating anything: it
// names a directory, its directory does not exist, or it is one of inputs (by file
// identity, links followed).
func Check(path string, inputs ...string) error {
	_, _, err := resolve(path, inputs)
	return err
}

// Create checks path as Check does and opens the output: a temporary file beside it with
// permissions perm, or path itself when it is a device or a pipe.
func Create(path string, perm os.FileMode, inputs ...string) (*File, error) {
	dst, special, err := resolve(path, inputs)
	if err != nil {
		return nil, err
	}
	if special {
		f, err := os.OpenFile(dst, os.O_WRONLY, 0)
		if err != nil {
			return nil, err
		}
		return &File{File: f, dst: dst}, nil
	}
	f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("cannot create a file in %s: %w", filepath.Dir(dst), err)
	}
	out := &File{File: f, dst: dst, temp: true}
	if err := f.Chmod(perm); err != nil { // CreateTemp's 0600 would keep other users out
		out.Abort()
		return nil, err
	}
	return out, nil
}

// Commit syncs and closes the file and, for a temporary one, renames it onto the
// destination. On failure nothing is left at the temporary name.
func (f *File) Commit() error {
	var err error
	if f.temp {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && f.temp {
		err = os.Rename(f.Name(), f.dst)
	}
	if err != nil {
		f.Abort()
		return fmt.Errorf("writing %s: %w", f.dst, err)
	}
	return nil
}

// Abort closes the file and removes the temporary file; it leaves a device or pipe, and an
// output already committed, alone.
func (f *File) Abort() {
	f.Close()
	if f.temp {
		os.Remove(f.Name())
	}
}

// resolve returns where the output to path goes (links followed) and whether that is a
// device or pipe to write directly, or why path cannot take it.
func resolve(path string, inputs []string) (dst string, special bool, err error) {
	dst = path
	if st, err := os.Lstat(path); err == nil && st.Mode()&os.ModeSymlink != 0 {
		if dst, err = filepath.EvalSymlinks(path); err != nil {
			return "", false, fmt.Errorf("%s is a link to a missing file: %w", path, err)
		}
	}
	st, err := os.Stat(dst)
	switch {
	case errors.Is(err, os.ErrNotExist):
		dir := filepath.Dir(dst)
		if dirSt, err := os.Stat(dir); err != nil || !dirSt.IsDir() {
			return "", false, fmt.Errorf("cannot write %s: directory %s does not exist", path, dir)
		}
		return dst, false, nil
	case err != nil:
		return "", false, err
	case st.IsDir():
		return "", false, fmt.Errorf("%s is a directory: name a file in it", path)
	}
	for _, in := range inputs {
		if ist, err := os.Stat(in); err == nil && os.SameFile(st, ist) {
			return "", false, fmt.Errorf("%s is the input %s itself: writing it would destroy it", path, in)
		}
	}
	return dst, !st.Mode().IsRegular(), nil
}

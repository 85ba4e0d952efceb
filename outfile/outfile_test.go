package outfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, path, text string, inputs ...string) error {
	t.Helper()
	f, err := Create(path, 0o644, inputs...)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Abort()
		return err
	}
	return f.Commit()
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// names lists dir's entries, so that a test sees a temporary file left behind.
func names(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, e := range entries {
		s = append(s, e.Name())
	}
	return strings.Join(s, " ")
}

func TestWholeOrNothing(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.bin")
	if err := write(t, out, "first"); err != nil {
		t.Fatal(err)
	}
	if got := read(t, out); got != "first" {
		t.Errorf("out holds %q, want first", got)
	}
	if st, _ := os.Stat(out); st.Mode().Perm() != 0o644 {
		t.Errorf("out has mode %v, want 0644", st.Mode().Perm())
	}

	f, err := Create(out, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("second, half written")
	if got := read(t, out); got != "first" {
		t.Errorf("before Commit out holds %q, want the old first", got)
	}
	f.Abort()
	if got, files := read(t, out), names(t, dir); got != "first" || files != "out.bin" {
		t.Errorf("after Abort out holds %q and the directory %q, want first and out.bin alone", got, files)
	}
	if err := write(t, out, "third"); err != nil || read(t, out) != "third" || names(t, dir) != "out.bin" {
		t.Errorf("rewrite: err %v, out %q, directory %q", err, read(t, out), names(t, dir))
	}
}

func TestRefuses(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.sl")
	os.WriteFile(in, []byte("source"), 0o644)
	os.Symlink(in, filepath.Join(dir, "link.sl"))
	for _, tc := range []struct{ out, want string }{
		{dir, "is a directory"},
		{filepath.Join(dir, "missing", "x.so"), "directory " + filepath.Join(dir, "missing") + " does not exist"},
		{in, "is the input " + in + " itself"},
		{filepath.Join(dir, "link.sl"), "itself"},
		{filepath.Join(dir, "dangling"), "a link to a missing file"},
	} {
		if tc.out == filepath.Join(dir, "dangling") {
			os.Symlink(filepath.Join(dir, "nowhere"), tc.out)
		}
		err := Check(tc.out, in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Check(%s) = %v, want an error saying %q", tc.out, err, tc.want)
		}
		if err := write(t, tc.out, "object", in); err == nil {
			t.Errorf("Create(%s) wrote", tc.out)
		}
	}
	if got := read(t, in); got != "source" {
		t.Errorf("the input holds %q after the refusals", got)
	}
	if files := names(t, dir); files != "dangling in.sl link.sl" {
		t.Errorf("the directory holds %q after the refusals", files)
	}
}

// TestThroughLinks writes through a link to a file, which stays a link, and through a link
// to /dev/null, which stays the device (a rename would have replaced either with a file).
func TestThroughLinks(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target.so")
	link := filepath.Join(dir, "link.so")
	os.WriteFile(target, []byte("old"), 0o644)
	os.Symlink(target, link)
	if err := write(t, link, "new"); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 || read(t, target) != "new" {
		t.Errorf("writing through a link: link %v (%v), target %q; want the link kept and the target written", st.Mode(), err, read(t, target))
	}

	null := filepath.Join(dir, "null")
	os.Symlink(os.DevNull, null)
	if err := write(t, null, "discarded"); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(os.DevNull); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		t.Errorf("%s is now %v (%v)", os.DevNull, st.Mode(), err)
	}
	if st, err := os.Lstat(null); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link to %s was replaced: %v (%v)", os.DevNull, st.Mode(), err)
	}
	if files := names(t, dir); files != "link.so null target.so" {
		t.Errorf("the directory holds %q", files)
	}
}

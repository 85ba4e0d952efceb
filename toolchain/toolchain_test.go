package toolchain

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeTools writes scripts that report version and do nothing else, and returns their directory.
func fakeTools(t *testing.T, version string, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		script := fmt.Sprintf("#!/bin/sh\necho 'Fake LLVM version %s'\n", version)
		if err := os.WriteFile(filepath.Join(dir, n), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestFind(t *testing.T) {
	llvm19 := filepath.Dir(findTools(t).MLIROpt.Path)
	old := fakeTools(t, "18.1.3", "mlir-opt", "mlir-translate")
	ancient := fakeTools(t, "13.0.1", "clang")
	tests := []struct {
		name string
		env  map[string]string
		// check inspects what Find returned (nil Tools when it failed).
		check func(t *testing.T, tools *Tools, err error)
	}{
		{"MLIR hidden", map[string]string{"SIMPLANG_MLIR_BIN": "/nonexistent"}, func(t *testing.T, tools *Tools, err error) {
			if err != nil {
				t.Fatal(err)
			}
			if tools.HasMLIR() {
				t.Fatalf("MLIR found at %v", tools.MLIROpt)
			}
			wantIn(t, tools.CheckMLIR(), "mlir-opt not found", "$SIMPLANG_MLIR_BIN=/nonexistent")
			_, err = tools.BuildMLIR(context.Background(), "", BuildOptions{})
			var me *MissingError
			if !errors.As(err, &me) {
				t.Fatalf("BuildMLIR: %v, want a *MissingError", err)
			}
			wantIn(t, err, "mlir-opt not found", "$SIMPLANG_MLIR_BIN=/nonexistent", "scripts/install-toolchain.sh")
		}},
		{"MLIR of another version", map[string]string{"SIMPLANG_MLIR_BIN": old}, func(t *testing.T, tools *Tools, err error) {
			if err != nil {
				t.Fatal(err)
			}
			_, err = tools.BuildMLIR(context.Background(), "", BuildOptions{})
			wantIn(t, err, filepath.Join(old, "mlir-opt"), "18.1.3", "need LLVM 19", "scripts/install-toolchain.sh")
			wantIn(t, errors.New(tools.String()), "18.1.3")
		}},
		{"MLIR from a directory", map[string]string{"SIMPLANG_MLIR_BIN": llvm19}, func(t *testing.T, tools *Tools, err error) {
			if err != nil {
				t.Fatal(err)
			}
			if !tools.HasMLIR() || filepath.Dir(tools.MLIROpt.Path) != llvm19 || tools.MLIROpt.Major != MLIRVersion {
				t.Errorf("mlir-opt %v, want version %d from %s", tools.MLIROpt, MLIRVersion, llvm19)
			}
			if err := tools.CheckMLIR(); err != nil {
				t.Errorf("CheckMLIR: %v", err)
			}
		}},
		{"clang named but missing", map[string]string{"SIMPLANG_CLANG": "/nonexistent/clang"}, func(t *testing.T, tools *Tools, err error) {
			wantIn(t, err, "clang not found", "$SIMPLANG_CLANG=/nonexistent/clang", "scripts/install-toolchain.sh")
		}},
		{"opt and llc hidden", map[string]string{"SIMPLANG_LLVM_BIN": "/nonexistent"}, func(t *testing.T, tools *Tools, err error) {
			if err != nil {
				t.Fatal(err)
			}
			if tools.Opt.Path != "" || tools.LLC.Path != "" {
				t.Errorf("found opt %v, llc %v", tools.Opt, tools.LLC)
			}
			_, err = tools.BuildLLVM(context.Background(), "", BuildOptions{Route: ViaOptLLC})
			wantIn(t, err, "opt and llc not found", "$SIMPLANG_LLVM_BIN=/nonexistent")
		}},
		{"clang named but too old", map[string]string{"SIMPLANG_CLANG": filepath.Join(ancient, "clang")}, func(t *testing.T, tools *Tools, err error) {
			wantIn(t, err, "no usable clang", "13.0.1", "need LLVM 14 to 19", "scripts/install-toolchain.sh")
		}},
		{"cache off", map[string]string{"SIMPLANG_CACHE": "off"}, func(t *testing.T, tools *Tools, err error) {
			if err != nil {
				t.Fatal(err)
			}
			if tools.CacheDir != "" {
				t.Errorf("CacheDir %q, want caching off", tools.CacheDir)
			}
			wantIn(t, errors.New(tools.String()), "cache           off")
		}},
		{"cache elsewhere", map[string]string{"SIMPLANG_CACHE": "rel/cache"}, func(t *testing.T, tools *Tools, err error) {
			if err != nil {
				t.Fatal(err)
			}
			if !filepath.IsAbs(tools.CacheDir) || !strings.HasSuffix(tools.CacheDir, "rel/cache") {
				t.Errorf("CacheDir %q, want rel/cache made absolute", tools.CacheDir)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			tools, err := Find()
			tc.check(t, tools, err)
		})
	}
}

func wantIn(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error does not contain %q:\n%v", p, err)
		}
	}
}

func TestString(t *testing.T) {
	tools := findTools(t)
	s := tools.String()
	for _, want := range []string{tools.MLIROpt.Path, tools.MLIROpt.Version, tools.MLIRTranslate.Path, tools.Clang.Path,
		tools.Opt.Path, tools.LLC.Path, tools.CC.Path, tools.OMPDir, tools.CacheDir} {
		if !strings.Contains(s, want) {
			t.Errorf("description lacks %q:\n%s", want, s)
		}
	}
}

func TestToolError(t *testing.T) {
	long := strings.Repeat("x.mlir:1:1: error: bad\n", 100)
	tests := []struct {
		name    string
		err     *ToolError
		want    []string
		notWant []string
	}{
		{
			name: "exit code, output trimmed",
			err:  &ToolError{Tool: "/bin/mlir-opt", Args: []string{"in file.mlir", "-o", "out"}, Dir: "/tmp/w", Stderr: long, ExitCode: 1},
			want: []string{"mlir-opt failed with exit code 1", "/bin/mlir-opt 'in file.mlir' -o out", "in: /tmp/w",
				"x.mlir:1:1: error: bad", "(60 more lines)", "WorkDir"},
		},
		{
			name:    "cancelled",
			err:     &ToolError{Tool: "/bin/clang", Dir: "/tmp/w", ExitCode: -1, Err: context.Canceled},
			want:    []string{"clang was stopped: context canceled", "cancelled"},
			notWant: []string{"rejected"},
		},
		{
			name: "does not start",
			err:  &ToolError{Tool: "/bin/llc", Dir: "/tmp/w", ExitCode: -1, Err: errors.New("exec format error")},
			want: []string{"llc could not run: exec format error", "scripts/install-toolchain.sh"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := tc.err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("lacks %q:\n%s", w, msg)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(msg, w) {
					t.Errorf("has %q:\n%s", w, msg)
				}
			}
		})
	}
}

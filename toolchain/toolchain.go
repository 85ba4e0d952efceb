// Package toolchain turns generated code — MLIR text or LLVM IR text — into a shared object,
// by finding and running the external LLVM tools (mlir-opt, mlir-translate, clang, or
// opt+llc+cc). It knows nothing of SimpLang: package compiler parses a source file,
// generates the text and hands it to a build here.
//
// Find the tools once, then build as often as needed:
//
//	tools, err := toolchain.Find()
//	...
//	built, err := tools.BuildMLIR(ctx, mlirText, toolchain.BuildOptions{})
//	... dlopen built.Path ...
//
// Built objects are cached by content (see Tools.CacheDir), so building the same text with
// the same options and tools again returns at once. A tool that fails is reported as a
// *ToolError holding its command line and output; a tool that is missing as a *MissingError
// naming where it was searched and how to install it.
//
// The tools are looked up as follows (the environment variables let users and tests choose):
//
//   - mlir-opt, mlir-translate (MLIR 19): only in $SIMPLANG_MLIR_BIN when it is set (so
//     pointing it at a directory without them hides MLIR), else /usr/lib/llvm-19/bin, else
//     PATH (mlir-opt-19, mlir-opt).
//   - clang (14–19): $SIMPLANG_CLANG when set, else /usr/lib/llvm-19/bin/clang, else
//     clang-19 … clang-14, clang on PATH.
//   - opt and llc (14–19, same version), for machines without clang: only in
//     $SIMPLANG_LLVM_BIN when it is set, else PATH, else /usr/lib/llvm-19 … llvm-14/bin.
//   - cc, the link driver for the opt+llc route: cc on PATH, else the clang found.
//   - libomp: the lib directory beside the clang found, else /usr/lib/llvm-19/lib, else the
//     one beside the opt found.
package toolchain

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Tool is one external program.
type Tool struct {
	Path    string // where it is; empty when it was not found
	Version string // the line of its --version output that names the version
	Major   int    // the LLVM major version; 0 when the version names none (cc)
}

func (t Tool) String() string {
	if t.Path == "" {
		return "none"
	}
	return t.Path + " (" + t.Version + ")"
}

// Tools are the external programs found on this machine. Find fills them in; a zero Tool
// is one that is not available. Tools are safe for concurrent use by several builds.
type Tools struct {
	MLIROpt       Tool
	MLIRTranslate Tool
	Clang         Tool
	Opt           Tool
	LLC           Tool
	CC            Tool   // link driver for the opt+llc route
	OMPDir        string // directory holding libomp.so; empty when not found
	VecLib        string // the vector math library LLVM may call (vecLib), "" when none was found

	// CacheDir holds built objects, named by a hash of everything that went into them.
	// Find sets it to $SIMPLANG_CACHE, or os.UserCacheDir()/simplang when that is unset;
	// "off", or an empty CacheDir, disables caching. The directory may be deleted at any
	// time: it only ever saves work.
	CacheDir string

	noMLIR   error  // why MLIR is unavailable; nil when it is
	noClang  error  // why clang is unavailable
	noOptLLC error  // why the opt+llc+cc route is unavailable
	noOMP    error  // why libomp is unavailable
	hostCPU  string // identifies this CPU in cache keys of -march=native builds
	runs     atomic.Int64
}

// MLIRVersion is the only MLIR major version the pass pipeline is written for.
const MLIRVersion = 19

// The range of LLVM major versions accepted for clang, opt and llc.
const (
	minLLVM = 14
	maxLLVM = 19
)

const llvm19Bin = "/usr/lib/llvm-19/bin"

// Find looks for the external tools (see the package comment for where). It fails only when
// no route from LLVM IR to a shared object exists, that is when neither clang nor opt+llc+cc
// was found, or when $SIMPLANG_CLANG names an unusable program. MLIR may still be missing:
// check HasMLIR, or let BuildMLIR report why.
func Find() (*Tools, error) {
	t := &Tools{hostCPU: hostCPU()}
	t.MLIROpt, t.MLIRTranslate, t.noMLIR = findMLIR()
	var err error
	if t.Clang, err = findClang(); err != nil {
		if _, set := os.LookupEnv("SIMPLANG_CLANG"); set {
			return nil, err
		}
		t.noClang = err
	}
	t.Opt, t.LLC, t.noOptLLC = findOptLLC()
	if cc, err := exec.LookPath("cc"); err == nil {
		t.CC = probe(cc)
	} else {
		t.CC = t.Clang
	}
	if t.noOptLLC == nil && t.CC.Path == "" {
		t.noOptLLC = &MissingError{Tool: "cc", Searched: []string{"PATH (cc)", "clang"}}
	}
	if t.noClang != nil && t.noOptLLC != nil {
		return nil, fmt.Errorf("no compiler for LLVM IR:\n  %v\n  %v", t.noClang, t.noOptLLC)
	}
	t.OMPDir, t.noOMP = findOMP(t.Clang.Path, t.Opt.Path)
	t.VecLib = findVecLib(t.Clang, t.CC)
	t.CacheDir = cacheDir()
	return t, nil
}

// HasMLIR reports whether MLIR text can be built.
func (t *Tools) HasMLIR() bool {
	return t.noMLIR == nil && t.MLIROpt.Path != "" && t.MLIRTranslate.Path != ""
}

// CheckMLIR says why MLIR text cannot be built (a *MissingError naming where the tools were
// looked for and how to install them), or returns nil when it can.
func (t *Tools) CheckMLIR() error {
	switch {
	case t.HasMLIR():
		return nil
	case t.noMLIR != nil:
		return t.noMLIR
	}
	return &MissingError{Tool: "mlir-opt and mlir-translate"}
}

// String describes the tools found, one per line, for diagnostics and `simpc --version`.
func (t *Tools) String() string {
	var b strings.Builder
	line := func(name string, tool Tool, why error) {
		fmt.Fprintf(&b, "%-15s %s", name, tool)
		if tool.Path == "" && why != nil {
			fmt.Fprintf(&b, " (%v)", why)
		}
		b.WriteByte('\n')
	}
	// Tools found in pairs share one reason, shown once.
	line("mlir-opt", t.MLIROpt, t.noMLIR)
	line("mlir-translate", t.MLIRTranslate, nil)
	line("clang", t.Clang, t.noClang)
	line("opt", t.Opt, t.noOptLLC)
	line("llc", t.LLC, nil)
	line("cc", t.CC, nil)
	line("libomp", Tool{Path: t.OMPDir, Version: "libomp.so"}, t.noOMP)
	vecLib := t.VecLib
	if vecLib == "" {
		vecLib = "none (exp, sin, cos, pow in loops stay scalar)"
	}
	fmt.Fprintf(&b, "%-15s %s\n", "vector math", vecLib)
	cache := t.CacheDir
	if cache == "" {
		cache = "off"
	}
	fmt.Fprintf(&b, "%-15s %s\n", "cache", cache)
	return b.String()
}

// findMLIR looks for mlir-opt and mlir-translate of version MLIRVersion.
func findMLIR() (mlirOpt, translate Tool, err error) {
	var dirs, pathNames []string
	var searched []string
	if dir, set := os.LookupEnv("SIMPLANG_MLIR_BIN"); set {
		dirs = []string{dir}
		searched = []string{"$SIMPLANG_MLIR_BIN=" + dir}
	} else {
		dirs = []string{llvm19Bin}
		pathNames = []string{"-19", ""}
		searched = []string{llvm19Bin, "PATH (mlir-opt-19, mlir-opt)"}
	}
	find := func(name string) (Tool, error) {
		var cands []string
		for _, d := range dirs {
			cands = append(cands, filepath.Join(d, name))
		}
		for _, suffix := range pathNames {
			if p, err := exec.LookPath(name + suffix); err == nil {
				cands = append(cands, p)
			}
		}
		return pick(name, cands, searched, MLIRVersion, MLIRVersion)
	}
	if mlirOpt, err = find("mlir-opt"); err != nil {
		return Tool{}, Tool{}, err
	}
	if translate, err = find("mlir-translate"); err != nil {
		return Tool{}, Tool{}, err
	}
	return mlirOpt, translate, nil
}

// findClang looks for clang of a version from minLLVM to maxLLVM.
func findClang() (Tool, error) {
	if p, set := os.LookupEnv("SIMPLANG_CLANG"); set {
		return pick("clang", []string{p}, []string{"$SIMPLANG_CLANG=" + p}, minLLVM, maxLLVM)
	}
	cands := []string{filepath.Join(llvm19Bin, "clang")}
	var names []string
	for v := maxLLVM; v >= minLLVM; v-- {
		names = append(names, "clang-"+strconv.Itoa(v))
	}
	names = append(names, "clang")
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			cands = append(cands, p)
		}
	}
	searched := []string{filepath.Join(llvm19Bin, "clang"), "PATH (" + strings.Join(names, ", ") + ")"}
	return pick("clang", cands, searched, minLLVM, maxLLVM)
}

// findOptLLC looks for an opt and an llc of the same version, from minLLVM to maxLLVM.
func findOptLLC() (opt, llc Tool, err error) {
	type pair struct{ opt, llc string }
	var pairs []pair
	var searched []string
	if dir, set := os.LookupEnv("SIMPLANG_LLVM_BIN"); set {
		pairs = append(pairs, pair{filepath.Join(dir, "opt"), filepath.Join(dir, "llc")})
		searched = []string{"$SIMPLANG_LLVM_BIN=" + dir}
	} else {
		o, errO := exec.LookPath("opt")
		l, errL := exec.LookPath("llc")
		if errO == nil && errL == nil {
			pairs = append(pairs, pair{o, l})
		}
		searched = []string{"PATH (opt, llc)"}
		for v := maxLLVM; v >= minLLVM; v-- {
			dir := fmt.Sprintf("/usr/lib/llvm-%d/bin", v)
			pairs = append(pairs, pair{filepath.Join(dir, "opt"), filepath.Join(dir, "llc")})
			searched = append(searched, dir)
		}
	}
	var rejected []string
	for _, p := range pairs {
		o, l := probe(p.opt), probe(p.llc)
		switch {
		case o.Path == "" || l.Path == "":
			continue
		case o.Major != l.Major:
			rejected = append(rejected, fmt.Sprintf("%s is %s but %s is %s", o.Path, o.Version, l.Path, l.Version))
		case o.Major < minLLVM || o.Major > maxLLVM:
			rejected = append(rejected, fmt.Sprintf("%s reports %q, need LLVM %d to %d", o.Path, o.Version, minLLVM, maxLLVM))
		default:
			return o, l, nil
		}
	}
	return Tool{}, Tool{}, &MissingError{Tool: "opt and llc", Searched: searched, Rejected: rejected}
}

// pick returns the first candidate that runs and reports an LLVM major version in
// [minMajor, maxMajor].
func pick(name string, cands, searched []string, minMajor, maxMajor int) (Tool, error) {
	var rejected []string
	for _, c := range cands {
		t := probe(c)
		switch {
		case t.Path == "":
			continue
		case t.Major < minMajor || t.Major > maxMajor:
			want := fmt.Sprintf("need LLVM %d", minMajor)
			if maxMajor != minMajor {
				want = fmt.Sprintf("need LLVM %d to %d", minMajor, maxMajor)
			}
			rejected = append(rejected, fmt.Sprintf("%s reports %q, %s", t.Path, t.Version, want))
		default:
			return t, nil
		}
	}
	return Tool{}, &MissingError{Tool: name, Searched: searched, Rejected: rejected}
}

var versionRE = regexp.MustCompile(`version (\d+)\.\d+`)

// probe runs `path --version`. It returns a zero Tool when path is not an executable file;
// one with Major 0 when it runs but names no LLVM version (its first line is kept).
func probe(path string) Tool {
	if st, err := os.Stat(path); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return Tool{}
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").CombinedOutput()
	if err != nil {
		return Tool{Path: path, Version: "does not run: " + strings.TrimSpace(firstLine(string(out))+" "+err.Error())}
	}
	t := Tool{Path: path, Version: firstLine(string(out))}
	for _, l := range strings.Split(string(out), "\n") {
		if m := versionRE.FindStringSubmatch(l); m != nil {
			t.Version = strings.TrimSpace(l)
			t.Major, _ = strconv.Atoi(m[1])
			break
		}
	}
	return t
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

// findOMP returns the first directory holding libomp.so: beside clang, LLVM 19's, beside
// opt; or an error naming the directories searched.
func findOMP(clang, opt string) (string, error) {
	var dirs []string
	beside := func(tool string) {
		if tool == "" {
			return
		}
		if real, err := filepath.EvalSymlinks(tool); err == nil {
			tool = real
		}
		dirs = append(dirs, filepath.Join(filepath.Dir(filepath.Dir(tool)), "lib"))
	}
	beside(clang)
	dirs = append(dirs, "/usr/lib/llvm-19/lib")
	beside(opt)
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "libomp.so")); err == nil {
			return d, nil
		}
	}
	return "", &MissingError{Tool: "libomp.so", Searched: dirs}
}

// findVecLib returns the path of glibc's vector math library, libmvec, when the link driver
// (clang, else cc) finds it on x86-64 Linux: LLVM then vectorizes loops that call exp, sin,
// cos or pow into calls of its 8- and 16-lane functions (the gated activation's scalar exp
// was about a third of the time a 125M q4 decode step spent between its parallel loops,
// traced). Elsewhere, "".
func findVecLib(clang, cc Tool) string {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		return ""
	}
	driver := clang.Path
	if driver == "" {
		driver = cc.Path
	}
	if driver == "" {
		return ""
	}
	out, err := exec.Command(driver, "-print-file-name=libmvec.so").Output()
	path := strings.TrimSpace(string(out))
	if err != nil || !filepath.IsAbs(path) || !isFile(path) {
		return ""
	}
	return path
}

// cacheDir applies $SIMPLANG_CACHE; without a usable default, caching is off.
func cacheDir() string {
	dir, set := os.LookupEnv("SIMPLANG_CACHE")
	if !set {
		base, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(base, "simplang")
	}
	if dir == "off" || dir == "" {
		return ""
	}
	// Absolute, so that Built.Path stays valid when the program changes directory.
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return dir
}

// hostCPU identifies the processor, so that objects built for -march=native on one machine
// are not reused on another that shares the cache directory.
func hostCPU() string {
	info := CPUInfo("model name", "flags")
	if len(info) == 0 {
		return ""
	}
	return info["model name"] + "\n" + info["flags"]
}

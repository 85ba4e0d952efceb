package toolchain

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A build's private files in the temporary directory carry the process ID, so that what a
// process killed mid-build left behind (Ctrl-C during a compile, the OOM killer: a few MB
// of intermediate files each time) can be told from what a running build uses, and
// removed by the next build.
const (
	buildDirPrefix = "simplang-build-" // + PID + "-" + random: a build's intermediate files
	objectPrefix   = "simplang-"       // + PID + "-" + random + ".so": an object with caching off
)

// ownTemp is the os.MkdirTemp/CreateTemp pattern of this process's files with prefix.
func ownTemp(prefix, suffix string) string {
	return prefix + strconv.Itoa(os.Getpid()) + "-*" + suffix
}

// leftoverAge is how old a file of a process that no longer runs must be to be removed: a
// process in another PID namespace sharing the temporary directory looks gone from here,
// but its build would not take an hour.
const leftoverAge = time.Hour

// removeLeftovers removes the build directories and objects in the temporary directory
// whose process no longer runs.
func removeLeftovers() {
	entries, err := os.ReadDir(os.TempDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		rest, ok := strings.CutPrefix(name, buildDirPrefix)
		if !ok {
			if rest, ok = strings.CutPrefix(name, objectPrefix); !ok || !strings.HasSuffix(name, ".so") {
				continue
			}
		}
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		info, err := e.Info()
		if err == nil && time.Since(info.ModTime()) > leftoverAge && errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			os.RemoveAll(filepath.Join(os.TempDir(), name))
		}
	}
}

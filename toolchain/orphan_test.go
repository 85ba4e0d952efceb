package toolchain

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestToolDiesWithItsCaller runs a tool (sleep) from a child process, kills the child with
// SIGKILL, as the OOM killer or kill -9 would, and checks that the tool dies too.
func TestToolDiesWithItsCaller(t *testing.T) {
	if os.Getenv("SIMPLANG_TEST_TOOL_CALLER") == "1" {
		sleep, err := exec.LookPath("sleep")
		if err == nil {
			err = (&Tools{}).run(context.Background(), t.TempDir(), step{tool: Tool{Path: sleep}, args: []string{"60"}})
		}
		t.Fatalf("the tool returned: %v", err)
	}
	caller := exec.Command(os.Args[0], "-test.run=^TestToolDiesWithItsCaller$")
	caller.Env = append(os.Environ(), "SIMPLANG_TEST_TOOL_CALLER=1")
	if err := caller.Start(); err != nil {
		t.Fatal(err)
	}
	tool := 0
	for deadline := time.Now().Add(20 * time.Second); tool == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		tool = childOf(caller.Process.Pid)
	}
	caller.Process.Kill()
	caller.Wait()
	if tool == 0 {
		t.Fatal("the caller started no tool")
	}
	for deadline := time.Now().Add(5 * time.Second); alive(tool); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			syscall.Kill(tool, syscall.SIGKILL)
			t.Fatalf("the tool (pid %d) outlived its caller by 5 s", tool)
		}
	}
}

// childOf returns the PID of a process whose parent is pid, or 0.
func childOf(pid int) int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		if fields := procStat(path); len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			child, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
			return child
		}
	}
	return 0
}

// alive reports whether pid runs (a zombie that nobody reaps does not).
func alive(pid int) bool {
	fields := procStat("/proc/" + strconv.Itoa(pid) + "/stat")
	return len(fields) > 0 && fields[0] != "Z"
}

// procStat returns the fields of a /proc/PID/stat file after the command's name: the
// state, then the parent's PID, ...
func procStat(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
}

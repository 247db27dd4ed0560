package main

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestSecondProcessOnOneSQLiteDataDirRefused: with SQLite, a second process
// on a data dir that one already serves exits at once with a sentence that
// names the holder, and serves nothing; once the first dies, even by
// SIGKILL, the data dir can be served again.
func TestSecondProcessOnOneSQLiteDataDirRefused(t *testing.T) {
	dir := t.TempDir()
	first := startProcess(t, nil, "--listen", "127.0.0.1:0", "--data", dir)

	cmd := exec.Command(os.Args[0], "--listen", "127.0.0.1:0", "--data", dir)
	cmd.Env = append(os.Environ(), "HEARTH_TEST_MAIN=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("second process started on a served data dir:\n%s", out)
	}
	for _, want := range []string{
		"another homeserver process (PID " + strconv.Itoa(first.cmd.Process.Pid) + ") is already serving the data dir " + dir,
		"only one process may serve a data dir",
	} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("refusal does not say %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "serving at") {
		t.Fatalf("second process served:\n%s", out)
	}

	// The administration commands work beside the running server.
	admin := exec.Command(os.Args[0], "admin", "--data", dir, "rules")
	admin.Env = append(os.Environ(), "HEARTH_TEST_MAIN=1")
	if out, err := admin.CombinedOutput(); err != nil {
		t.Fatalf("admin beside the server: %v\n%s", err, out)
	}

	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	first.wait(t)
	again := startProcess(t, nil, "--listen", "127.0.0.1:0", "--data", dir)
	_ = again.cmd.Process.Signal(os.Interrupt)
	if code := again.wait(t); code != 0 {
		t.Fatalf("exit code %d\n%s", code, again.output)
	}
}

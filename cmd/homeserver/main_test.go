package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

// The test binary doubles as the homeserver: with HEARTH_TEST_MAIN set it
// runs main, so these tests drive a real process with real signals.
func TestMain(m *testing.M) {
	if os.Getenv("HEARTH_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	gin.SetMode(gin.ReleaseMode)
	os.Exit(m.Run())
}

type proc struct {
	cmd    *exec.Cmd
	url    string
	output *strings.Builder
	done   chan error
}

var servingLine = regexp.MustCompile(`serving at (http://\S+)`)

// startProcess runs the homeserver with args and env, and waits for its
// "serving at" line.
func startProcess(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "HEARTH_TEST_MAIN=1"), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, output: &strings.Builder{}, done: make(chan error, 1)}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.output.WriteString(line + "\n")
			if m := servingLine.FindStringSubmatch(line); m != nil {
				urlc <- m[1]
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	select {
	case p.url = <-urlc:
	case err := <-p.done:
		t.Fatalf("homeserver exited before serving: %v\n%s", err, p.output)
	case <-time.After(30 * time.Second):
		t.Fatalf("homeserver did not start\n%s", p.output)
	}
	return p
}

func (p *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("homeserver did not exit\n%s", p.output)
	}
	return p.cmd.ProcessState.ExitCode()
}

func TestServesAndStopsOnSIGTERM(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	p := startProcess(t, []string{"HEARTH_DATA=" + dir}, "--listen", "127.0.0.1:0")
	res, err := http.Get(p.url + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", res, err)
	}
	res.Body.Close()
	if _, err := os.Stat(filepath.Join(dir, "hearth.db")); err != nil {
		t.Fatalf("HEARTH_DATA not used: %v", err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit code %d after SIGTERM\n%s", code, p.output)
	}
	if !strings.Contains(p.output.String(), "msg=stopped") {
		t.Fatalf("no clean stop in the log:\n%s", p.output)
	}
}

func TestFlagWinsOverEnv(t *testing.T) {
	envDir, flagDir := filepath.Join(t.TempDir(), "env"), filepath.Join(t.TempDir(), "flag")
	p := startProcess(t, []string{"HEARTH_DATA=" + envDir, "HEARTH_LISTEN=127.0.0.1:0"}, "--data", flagDir)
	if _, err := os.Stat(filepath.Join(flagDir, "hearth.db")); err != nil {
		t.Fatalf("--data not used: %v", err)
	}
	if _, err := os.Stat(envDir); err == nil {
		t.Fatal("HEARTH_DATA used although --data was given")
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit code %d after SIGINT", code)
	}
}

func TestRefusesToStart(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cases := []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"port taken", []string{"--listen", busy.Addr().String(), "--data", t.TempDir()}, nil, "already in use"},
		{"bad env value", []string{"--data", t.TempDir()}, []string{"HEARTH_INSECURE_FEDERATION=maybe"}, "HEARTH_INSECURE_FEDERATION"},
		{"unknown flag", []string{"--frobnicate"}, nil, "flag provided but not defined"},
		{"database unreachable", []string{"--listen", "127.0.0.1:0", "--data", t.TempDir(), "--database", "postgres://postgres@127.0.0.1:1/test?connect_timeout=2"}, nil, "cannot open the PostgreSQL database"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], c.args...)
			cmd.Env = append(append(os.Environ(), "HEARTH_TEST_MAIN=1"), c.env...)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("started:\n%s", out)
			}
			if !strings.Contains(string(out), c.want) {
				t.Fatalf("output does not say %q:\n%s", c.want, out)
			}
		})
	}
}

// TestGracefulShutdownFinishesRequests: a request whose body is still
// arriving when SIGTERM comes is answered before the process exits.
func TestGracefulShutdownFinishesRequests(t *testing.T) {
	p := startProcess(t, nil, "--listen", "127.0.0.1:0", "--data", t.TempDir())
	pr, pw := io.Pipe()
	resc := make(chan *http.Response, 1)
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("POST", p.url+"/api/v10/auth/register", pr)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			errc <- err
			return
		}
		resc <- res
	}()
	if _, err := pw.Write([]byte(`{"username": "slow",`)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if _, err := pw.Write([]byte(` "password": "correct horse"}`)); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	select {
	case res := <-resc:
		res.Body.Close()
		if res.StatusCode != 201 {
			t.Fatalf("in-flight request answered %d", res.StatusCode)
		}
	case err := <-errc:
		t.Fatalf("in-flight request failed: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("no answer")
	}
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit code %d\n%s", code, p.output)
	}
}

package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	st "hearth/server/servertest"
)

// binary is cmd/bridge built once for the tests that kill it.
var binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// bridgeBinary builds cmd/bridge (once) and returns its path.
func bridgeBinary(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		if binary.dir, binary.err = os.MkdirTemp("", "hearth-bridge-bin"); binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "bridge")
		out, err := exec.Command("go", "build", "-o", binary.path, ".").CombinedOutput()
		if err != nil {
			binary.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

// removeBinary removes what bridgeBinary built (TestMain, after the run).
func removeBinary() {
	if binary.dir != "" {
		os.RemoveAll(binary.dir)
	}
}

// binProc is the bridge as a process of its own.
type binProc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan error
}

// startBinary runs the built bridge on flags with env added.
func startBinary(t *testing.T, flags []string, d discordSide, env ...string) *binProc {
	t.Helper()
	args := append(append([]string{}, flags...), "--discord-token", d.botToken, "--discord-url", d.api(), "--log-level", "warn")
	cmd := exec.Command(bridgeBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	p := &binProc{cmd: cmd, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = io.Discard, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		p.done <- nil
		if t.Failed() {
			t.Logf("the bridge process's log:\n%s", p.stderr)
		}
	})
	return p
}

// kill sends SIGKILL and waits for the process to end.
func (p *binProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := <-p.done
	p.done <- err
	if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the bridge ended with %v, not by SIGKILL", err)
	}
}

// TestBridgeSIGKILL kills the bridge's process with SIGKILL at named
// points while messages cross both ways: after the relay's intent row,
// after Discord answered a post and before its mapping was saved, and
// after a Discord message was imported and before its high-water mark
// moved. Discord goes on while it is down. Restarted, it
// brings every message to the other side exactly once, and later edits
// of the messages in flight at the kill find their mappings.
func TestBridgeSIGKILL(t *testing.T) {
	bridgeBinary(t) // built before the clocks of the waits start
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		for _, point := range []string{"relay-after-intent", "relay-after-execute", "import-after-commit"} {
			t.Run(point, func(t *testing.T) {
				e := linked(t, backend, 0)
				d, h := e.d, e.h
				e.br.stop()
				proc := startBinary(t, e.flags, d, "HEARTH_BRIDGE_FAILPOINT=pause:"+point)
				st.WaitFor(t, "the bridge process ready", wait, func() string {
					res, err := http.Get(e.br.url + "/readyz")
					if err != nil {
						return err.Error()
					}
					res.Body.Close()
					return map[bool]string{true: "", false: res.Status}[res.StatusCode == http.StatusOK]
				})
				h1 := st.OK(t, h.Do(t, "POST", "/api/v10/channels/"+e.mirror+"/messages", e.bob, map[string]any{"content": "h1"}), http.StatusOK)["id"].(string)
				d1 := st.OK(t, d.Do(t, "POST", "/api/v10/channels/"+d.general+"/messages", d.alice, map[string]any{"content": "d1"}), http.StatusOK)["id"].(string)
				st.WaitFor(t, "the bridge at "+point, wait, func() string {
					if strings.Contains(proc.stderr.String(), "failpoint="+point) {
						return ""
					}
					return "not yet"
				})
				proc.kill(t)

				// Discord goes on while the bridge is down (Hearth people's
				// sends wait for the mirror's origin, the bridge, to be back).
				st.OK(t, d.Do(t, "POST", "/api/v10/channels/"+d.general+"/messages", d.alice, map[string]any{"content": "d2"}), http.StatusOK)
				startBridge(t, e.flags, d)
				st.OK(t, h.Do(t, "POST", "/api/v10/channels/"+e.mirror+"/messages", e.bob, map[string]any{"content": "h2"}), http.StatusOK)
				waitContents(t, "Discord's messages on Hearth", h, e.bob, e.mirror, has("d1", "d2"))
				waitContents(t, "Hearth's messages on Discord", d.Server, d.alice, d.general, has("h1", "h2"))
				// A message more each way after the restart: what came
				// before it had its chance to come twice.
				st.OK(t, h.Do(t, "POST", "/api/v10/channels/"+e.mirror+"/messages", e.bob, map[string]any{"content": "h3"}), http.StatusOK)
				st.OK(t, d.Do(t, "POST", "/api/v10/channels/"+d.general+"/messages", d.alice, map[string]any{"content": "d3"}), http.StatusOK)
				onHearth := waitContents(t, "d3 on Hearth", h, e.bob, e.mirror, has("d3"))
				onDiscord := waitContents(t, "h3 on Discord", d.Server, d.alice, d.general, has("h3"))
				for _, c := range []string{"h1", "h2", "h3", "d1", "d2", "d3"} {
					if n := count(onHearth, c); n != 1 {
						t.Fatalf("%q is %d times on Hearth: %q", c, n, contents(onHearth))
					}
					if n := count(onDiscord, c); n != 1 {
						t.Fatalf("%q is %d times on Discord: %q", c, n, contents(onDiscord))
					}
				}

				// The messages in flight at the kill are mapped: edits follow.
				st.OK(t, h.Do(t, "PATCH", "/api/v10/channels/"+e.mirror+"/messages/"+h1, e.bob, map[string]any{"content": "h1 edited"}), http.StatusOK)
				st.OK(t, d.Do(t, "PATCH", "/api/v10/channels/"+d.general+"/messages/"+d1, d.alice, map[string]any{"content": "d1 edited"}), http.StatusOK)
				waitContents(t, "bob's edit on Discord", d.Server, d.alice, d.general, func(got []string) bool { return has("h1 edited")(got) && hasNot("h1")(got) })
				waitContents(t, "alice's edit on Hearth", h, e.bob, e.mirror, func(got []string) bool { return has("d1 edited")(got) && hasNot("d1")(got) })
			})
		}
	})
}

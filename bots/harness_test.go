// Package bots_test runs unmodified bot libraries other than discordgo (which
// the gateway's tests drive in-process) against a real homeserver: today
// discord.js, as a Node process. A scenario is one script in
// discordjs/scenarios and one test here that starts it with runDiscordJS.
package bots_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	st "hearth/server/servertest"
)

// project is the discord.js harness, ready to run: the source folder when
// its node_modules is installed (make test runs npm ci there), else a
// temporary copy installed once per test binary with npm ci.
var project struct {
	once sync.Once
	dir  string
	tmp  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if project.tmp != "" {
		os.RemoveAll(project.tmp)
	}
	os.Exit(code)
}

// needNode returns the harness's folder, or stops the test: with a clear
// failure under CI=true (where the bot tests must run), else with a skip
// that says what is missing.
func needNode(t *testing.T) string {
	t.Helper()
	project.once.Do(func() { project.dir, project.err = prepare() })
	if project.err != nil {
		msg := "the discord.js bot tests need Node.js 18+ with npm (and the npm registry for npm ci): " + project.err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg + " (set CI=true to make this a failure)")
	}
	return project.dir
}

var nodeMajor = regexp.MustCompile(`^v(\d+)\.`)

func prepare() (string, error) {
	out, err := exec.Command("node", "--version").Output()
	if err != nil {
		return "", fmt.Errorf("node not found: %w", err)
	}
	m := nodeMajor.FindSubmatch(bytes.TrimSpace(out))
	if m == nil {
		return "", fmt.Errorf("node --version said %q", bytes.TrimSpace(out))
	}
	if major, _ := strconv.Atoi(string(m[1])); major < 18 {
		return "", fmt.Errorf("node %s is too old", bytes.TrimSpace(out))
	}
	src, err := filepath.Abs("discordjs")
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(src, "node_modules", "discord.js", "package.json")); err == nil {
		return src, nil
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return "", fmt.Errorf("discordjs/node_modules is missing and npm is not found: %w", err)
	}
	tmp, err := os.MkdirTemp("", "hearth-discordjs-")
	if err != nil {
		return "", err
	}
	project.tmp = tmp
	if err := os.CopyFS(tmp, os.DirFS(src)); err != nil {
		return "", fmt.Errorf("copy the harness: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm ci in a copy of discordjs/: %w\n%s", err, out)
	}
	return tmp, nil
}

// lockedBuffer collects a process's output for the failure report.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// jsBot is a discord.js process running one scenario. Its steps arrive as
// events ("ready", "done", and the scenario's own).
type jsBot struct {
	t        *testing.T
	scenario string
	stdout   lockedBuffer
	stderr   lockedBuffer

	mu      sync.Mutex
	events  []map[string]any
	changed chan struct{} // closed and replaced when events or exited change
	exited  bool
	exitErr error
}

// runDiscordJS starts scenario (discordjs/scenarios/<scenario>.mjs) as the
// bot with token, on s, with args; the process is killed when the test
// ends, and its output is printed if the test failed.
func runDiscordJS(t *testing.T, s *st.Server, token, scenario string, args map[string]any) *jsBot {
	t.Helper()
	dir := needNode(t)
	enc, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "node", "run.mjs", scenario)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HEARTH_API="+s.URL()+"/api", "HEARTH_TOKEN="+token,
		"HEARTH_ARGS="+string(enc), "HEARTH_TIMEOUT_MS=90000")
	b := &jsBot{t: t, scenario: scenario, changed: make(chan struct{})}
	cmd.Stderr = &b.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node: %v", err)
	}
	done := make(chan struct{})
	go func() { // owned by the test: ends when the process's stdout closes
		defer close(done)
		b.read(out)
		err := cmd.Wait()
		b.mu.Lock()
		b.exited, b.exitErr = true, err
		b.signal()
		b.mu.Unlock()
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			b.report()
		}
	})
	return b
}

func (b *jsBot) signal() {
	close(b.changed)
	b.changed = make(chan struct{})
}

func (b *jsBot) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		b.stdout.Write([]byte(line + "\n"))
		rest, ok := strings.CutPrefix(line, "HEARTH ")
		if !ok {
			continue
		}
		var ev map[string]any
		if json.Unmarshal([]byte(rest), &ev) != nil {
			continue
		}
		b.mu.Lock()
		b.events = append(b.events, ev)
		b.signal()
		b.mu.Unlock()
	}
}

// report prints what the bot said: its steps in full, and the end of
// discord.js's debug log, where a failed request or a closed gateway shows.
func (b *jsBot) report() {
	b.t.Logf("discord.js scenario %q, stdout:\n%s", b.scenario, b.stdout.String())
	lines := strings.Split(strings.TrimRight(b.stderr.String(), "\n"), "\n")
	if len(lines) > 80 {
		lines = append([]string{fmt.Sprintf("... (%d earlier lines)", len(lines)-80)}, lines[len(lines)-80:]...)
	}
	b.t.Logf("discord.js scenario %q, stderr (debug log):\n%s", b.scenario, strings.Join(lines, "\n"))
}

// expect waits for the scenario's next-not-yet-seen event named name and
// returns it. An "error" event, an early exit or the timeout fails the
// test.
func (b *jsBot) expect(name string) map[string]any {
	b.t.Helper()
	deadline := time.NewTimer(90 * time.Second)
	defer deadline.Stop()
	for {
		b.mu.Lock()
		for _, ev := range b.events {
			if ev["event"] == "error" {
				b.mu.Unlock()
				b.t.Fatalf("discord.js scenario %q failed in %v: %v", b.scenario, ev["where"], ev["message"])
			}
			if ev["event"] == name && ev["seen"] == nil {
				ev["seen"] = true
				b.mu.Unlock()
				return ev
			}
		}
		exited, err, changed := b.exited, b.exitErr, b.changed
		b.mu.Unlock()
		if exited {
			b.t.Fatalf("discord.js scenario %q exited (%v) before %q", b.scenario, err, name)
		}
		select {
		case <-changed:
		case <-deadline.C:
			b.t.Fatalf("discord.js scenario %q: no %q within 90 s", b.scenario, name)
		}
	}
}

// finish waits for the scenario to report done and exit cleanly.
func (b *jsBot) finish() {
	b.t.Helper()
	b.expect("done")
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		b.mu.Lock()
		exited, err, changed := b.exited, b.exitErr, b.changed
		b.mu.Unlock()
		if exited {
			var exit *exec.ExitError
			if errors.As(err, &exit) || err != nil {
				b.t.Fatalf("discord.js scenario %q exited with %v", b.scenario, err)
			}
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			b.t.Fatalf("discord.js scenario %q said done but did not exit within 30 s", b.scenario)
		}
	}
}

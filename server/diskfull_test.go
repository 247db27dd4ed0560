package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	st "hearth/server/servertest"
)

// smallDisk mounts a tmpfs of size bytes at a fresh directory and returns
// it; it is unmounted when the test ends. Mounting needs root: without it
// the test skips, saying why, except in CI, which must run it.
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput()
	if err != nil {
		if os.Getenv("CI") != "" || os.Getenv("HEARTH_TEST_TMPFS") != "" {
			t.Fatalf("the disk-full test needs to mount a tmpfs as root: %v: %s", err, out)
		}
		t.Skipf("disk-full test skipped: cannot mount a tmpfs here (%v: %s); CI runs it", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill writes path until the disk has no room left, down to the last
// block, and returns how much it wrote.
func fill(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var total int64
	for _, size := range []int{1 << 20, 64 << 10, 4 << 10, 512} {
		buf := bytes.Repeat([]byte{0xAA}, size)
		for {
			n, err := f.Write(buf)
			total += int64(n)
			if errors.Is(err, syscall.ENOSPC) {
				break
			}
			if err != nil {
				t.Fatalf("fill: %v", err)
			}
		}
	}
	return total
}

// lockedLog is a log sink the server writes and the test reads at once.
type lockedLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestDiskFull: the data dir's disk fills up under a running server.
// Message sends and uploads (an attachment, an avatar) are refused with a
// 507 and a Discord-style body, never a 500 or a hang, and a log line
// says the disk is full; reads go on (a scaled image that cannot be kept
// is answered with the original), /readyz stays ready and gateway
// sessions stay connected.
// Once space is freed, writes succeed again without a restart; every
// message acknowledged is there, in order, the database passes
// integrity_check, and every stored file still has the content its name
// (its hash) says.
func TestDiskFull(t *testing.T) {
	dir := smallDisk(t, "48m")
	logs := &lockedLog{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs)
		}
	})
	s := st.Start(t, st.Options{DataDir: dir, Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	alice := s.Register(t, "alice", "correct horse")
	bob := s.Register(t, "bob", "correct horse")
	_, channel, invite := s.Guild(t, alice, "Full")
	st.OK(t, s.Do(t, "POST", "/api/v10/invites/"+invite, bob, nil), 200)

	// Every call of this test is bounded: a hang is a failure.
	client := &http.Client{Timeout: 60 * time.Second}
	call := func(method, path, tok, contentType string, body []byte) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, s.URL()+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		req.Header.Set("Authorization", tok)
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, b
	}
	send := func(content string) (int, []byte) {
		b, _ := json.Marshal(map[string]string{"content": content})
		return call("POST", "/api/v10/channels/"+channel+"/messages", alice, "application/json", b)
	}
	// refused checks a write's answer while the disk is full.
	refused := func(what string, status int, body []byte) {
		t.Helper()
		var e struct {
			Code    *int   `json:"code"`
			Message string `json:"message"`
		}
		if status != http.StatusInsufficientStorage || json.Unmarshal(body, &e) != nil || e.Code == nil || !strings.Contains(e.Message, "disk is full") {
			t.Fatalf("%s on a full disk: %d %s, want 507 with a Discord error body", what, status, body)
		}
	}
	var acked []string
	ack := func(status int, body []byte) string {
		t.Helper()
		if status != http.StatusOK {
			t.Fatalf("send: %d %s", status, body)
		}
		var m struct{ ID string }
		if err := json.Unmarshal(body, &m); err != nil || m.ID == "" {
			t.Fatalf("send: %s", body)
		}
		acked = append(acked, m.ID)
		return m.ID
	}
	for i := range 3 {
		ack(send(fmt.Sprintf("before %d", i)))
	}
	// Two files, one an image of which no scaled copy is asked yet.
	attached := bytes.Repeat([]byte("hearth "), 4096)
	var pic0 bytes.Buffer
	if err := png.Encode(&pic0, image.NewRGBA(image.Rect(0, 0, 48, 48))); err != nil {
		t.Fatal(err)
	}
	r := s.SendFiles(t, alice, channel, `{"content":"with files"}`, map[string][]byte{"a.txt": attached, "p.png": pic0.Bytes()})
	if r.Status != http.StatusOK {
		t.Fatalf("attachments before the disk filled: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	acked = append(acked, m["id"].(string))
	urls := map[string]string{}
	for _, a := range m["attachments"].([]any) {
		a := a.(map[string]any)
		u := a["url"].(string)
		urls[a["filename"].(string)] = u[strings.Index(u, "/attachments/"):]
	}

	// bob is connected to the gateway throughout.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	gw, _, err := websocket.Dial(ctx, strings.Replace(s.URL(), "http", "ws", 1)+"/gateway?v=10&encoding=json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer gw.CloseNow()
	type frame struct {
		Op int             `json:"op"`
		T  string          `json:"t"`
		D  json.RawMessage `json:"d"`
	}
	read := func() frame {
		t.Helper()
		_, b, err := gw.Read(ctx)
		if err != nil {
			t.Fatalf("gateway: %v", err)
		}
		var f frame
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		return f
	}
	write := func(v any) {
		t.Helper()
		b, _ := json.Marshal(v)
		if err := gw.Write(ctx, websocket.MessageText, b); err != nil {
			t.Fatalf("gateway: %v", err)
		}
	}
	read() // HELLO
	write(map[string]any{"op": 2, "d": map[string]any{"token": bob, "intents": 513, "properties": map[string]string{"os": "linux"}}})
	if f := read(); f.T != "READY" {
		t.Fatalf("after IDENTIFY: %+v", f)
	}

	// The disk fills. The WAL may still hold room a checkpoint freed, so
	// a few sends may yet be acknowledged; each answer is a success or
	// the 507, and the refusals come within a bounded number.
	filled := fill(t, filepath.Join(dir, "filler"))
	t.Logf("filler: %d bytes", filled)
	fullAt := -1
	for i := range 2000 {
		status, body := send(fmt.Sprintf("filling %d", i))
		if status == http.StatusOK {
			ack(status, body)
			continue
		}
		refused("message send", status, body)
		fullAt = i
		break
	}
	if fullAt < 0 {
		t.Fatal("2000 sends fitted on a full disk")
	}
	t.Logf("the disk refused send %d", fullAt)
	// SQLite may yet find room in a WAL a checkpoint reset, so a later
	// send is refused or acknowledged, never anything else.
	for i := range 3 {
		status, body := send(fmt.Sprintf("refused %d", i))
		if status == http.StatusOK {
			ack(status, body)
		} else {
			refused("message send", status, body)
		}
	}
	r = s.SendFiles(t, alice, channel, `{"content":"file on a full disk"}`, map[string][]byte{"b.txt": bytes.Repeat([]byte("full "), 64<<10)})
	refused("attachment", r.Status, r.Body)
	var pic bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	if err := png.Encode(&pic, img); err != nil {
		t.Fatal(err)
	}
	avatar, _ := json.Marshal(map[string]string{"avatar": "data:image/png;base64," + base64.StdEncoding.EncodeToString(pic.Bytes())})
	status, body := call("PATCH", "/api/v10/users/@me", alice, "application/json", avatar)
	refused("avatar", status, body)

	// A log line says so.
	st.WaitFor(t, "a log line saying the disk is full", time.Minute, func() string {
		for line := range strings.SplitSeq(logs.String(), "\n") {
			if strings.Contains(line, "disk is full") && (strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN")) {
				return ""
			}
		}
		return "none yet"
	})

	// Reads still work, and the gateway session is still there: it
	// answers a heartbeat.
	if status, body := call("GET", "/readyz", "", "", nil); status != http.StatusOK {
		t.Fatalf("/readyz on a full disk: %d %s (it stays ready: docs/operations.md)", status, body)
	}
	if status, body := call("GET", "/api/v10/channels/"+channel+"/messages?limit=5", bob, "", nil); status != http.StatusOK {
		t.Fatalf("read on a full disk: %d %s", status, body)
	}
	if status, body := call("GET", urls["a.txt"], "", "", nil); status != http.StatusOK || !bytes.Equal(body, attached) {
		t.Fatalf("attachment read on a full disk: %d, %d bytes", status, len(body))
	}
	// The gateway's persister, which records sessions every few seconds,
	// meets the full disk too: it warns, and keeps the session.
	st.WaitFor(t, "the gateway persister's warning", time.Minute, func() string {
		if strings.Contains(logs.String(), "sessions not recorded, the disk is full") {
			return ""
		}
		return "none yet"
	})
	// A scaled copy that cannot be kept gives way to the original (the
	// scaler serves the original whenever it cannot make a copy).
	if status, body := call("GET", urls["p.png"]+"&width=16", "", "", nil); status != http.StatusOK || !bytes.Equal(body, pic0.Bytes()) {
		t.Fatalf("scaled image on a full disk: %d, %d bytes, want the original's %d", status, len(body), pic0.Len())
	}
	write(map[string]any{"op": 1, "d": nil})
	for f := read(); f.Op != 11; f = read() {
	}

	// Space is freed: writes succeed again, without a restart.
	if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
		t.Fatal(err)
	}
	after := ack(send("after"))
	for f := read(); f.T != "MESSAGE_CREATE" || !strings.Contains(string(f.D), after); f = read() {
	}
	r = s.SendFiles(t, alice, channel, `{"content":"file after"}`, map[string][]byte{"c.txt": bytes.Repeat([]byte("after "), 64<<10)})
	if r.Status != http.StatusOK {
		t.Fatalf("attachment after space was freed: %d %s", r.Status, r.Body)
	}
	acked = append(acked, r.JSON(t)["id"].(string))
	if status, body := call("PATCH", "/api/v10/users/@me", alice, "application/json", avatar); status != http.StatusOK {
		t.Fatalf("avatar after space was freed: %d %s", status, body)
	}

	// Every acknowledged message is there, in order (newest first from
	// the API).
	var got []string
	before := ""
	for {
		q := "/api/v10/channels/" + channel + "/messages?limit=100"
		if before != "" {
			q += "&before=" + before
		}
		status, body := call("GET", q, bob, "", nil)
		if status != http.StatusOK {
			t.Fatalf("history: %d %s", status, body)
		}
		var page []struct{ ID string }
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, m := range page {
			got = append([]string{m.ID}, got...)
		}
		before = page[len(page)-1].ID
	}
	// The guild's system messages (a join) may come between; only the
	// acknowledged ones are compared.
	want := map[string]bool{}
	for _, id := range acked {
		want[id] = true
	}
	var kept []string
	for _, id := range got {
		if want[id] {
			kept = append(kept, id)
		}
	}
	if strings.Join(kept, ",") != strings.Join(acked, ",") {
		t.Fatalf("history after the disk was full:\n got %v\nwant %v", kept, acked)
	}

	// Stopped, the database is whole and every stored file is what its
	// name says; nothing staged was left behind.
	s.Stop()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "hearth.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q %v", check, err)
	}
	files := 0
	err = filepath.WalkDir(filepath.Join(dir, "files"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if filepath.Base(filepath.Dir(path)) == "tmp" {
			return fmt.Errorf("a staged upload was left behind: %s", path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != d.Name() {
			return fmt.Errorf("%s holds other content than its hash", path)
		}
		files++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 3 {
		t.Fatalf("%d files stored, want the two attachments and the avatar", files)
	}
}

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, to make restore targets

	"hearth/server"
	st "hearth/server/servertest"
	"hearth/storage/blobs"
	"hearth/storage/blobs/blobstest"
)

// sent is a message a client saw acknowledged.
type sent struct {
	id, content string
	file        []byte
}

// sendMessage posts content to channel, with file attached when not nil,
// and returns the new message's ID.
func sendMessage(base, tok, channel, content string, file []byte) (string, error) {
	var body bytes.Buffer
	ctype := "application/json"
	if file == nil {
		b, _ := json.Marshal(map[string]string{"content": content})
		body.Write(b)
	} else {
		w := multipart.NewWriter(&body)
		fw, _ := w.CreateFormField("payload_json")
		b, _ := json.Marshal(map[string]string{"content": content})
		_, _ = fw.Write(b)
		fw, _ = w.CreateFormFile("files[0]", "blob.bin")
		_, _ = fw.Write(file)
		w.Close()
		ctype = w.FormDataContentType()
	}
	req, _ := http.NewRequest("POST", base+"/api/v10/channels/"+channel+"/messages", &body)
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		return "", fmt.Errorf("send: %d %s", res.StatusCode, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return "", err
	}
	return m["id"].(string), nil
}

// runTool runs the homeserver command line in this process.
func runTool(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return runToolEnv(t, nil, args...)
}

// runToolEnv runs the homeserver command line in this process with the
// environment env and no other.
func runToolEnv(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errs bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	err := run(ctx, args, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errs)
	return out.String() + errs.String(), err
}

// needDumpTools fails (with HEARTH_TEST_POSTGRES set) or skips the
// PostgreSQL half of a backup test when pg_dump or pg_restore is missing.
func needDumpTools(t *testing.T, b st.Backend) {
	t.Helper()
	if b != st.Postgres {
		return
	}
	for _, tool := range []string{"pg_dump", "pg_restore"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("HEARTH_TEST_POSTGRES") != "" {
				t.Fatalf("HEARTH_TEST_POSTGRES is set but %s is not on PATH (install postgresql-client): %v", tool, err)
			}
			t.Skipf("PostgreSQL half skipped: %s is not on PATH", tool)
		}
	}
}

// textChannel is the first text channel of guild.
func textChannel(t *testing.T, base, tok, guild string) string {
	t.Helper()
	status, raw, _ := call(t, "GET", base+"/api/v10/guilds/"+guild+"/channels", tok, nil)
	var chans []map[string]any
	if status != 200 || json.Unmarshal(raw, &chans) != nil {
		t.Fatalf("channels: %d %s", status, raw)
	}
	for _, c := range chans {
		if c["type"] == float64(0) {
			return c["id"].(string)
		}
	}
	t.Fatalf("guild %s has no text channel", guild)
	return ""
}

// checkAttachments fails unless every message of want is in channel on the
// server at base, its file served with the bytes sent.
func checkAttachments(t *testing.T, base, tok, channel string, want []sent) {
	t.Helper()
	status, raw, err := call(t, "GET", base+"/api/v10/channels/"+channel+"/messages?limit=100", tok, nil)
	var page []map[string]any
	if err != nil || status != 200 || json.Unmarshal(raw, &page) != nil {
		t.Fatalf("history: %d %s %v", status, raw, err)
	}
	have := map[string]map[string]any{}
	for _, m := range page {
		have[m["id"].(string)] = m
	}
	for _, w := range want {
		m, ok := have[w.id]
		if !ok {
			t.Fatalf("message %s (%q) is missing", w.id, w.content)
		}
		atts, _ := m["attachments"].([]any)
		if len(atts) != 1 {
			t.Fatalf("message %s: attachments %v", w.id, m["attachments"])
		}
		u, err := url.Parse(atts[0].(map[string]any)["url"].(string))
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.Get(base + u.RequestURI())
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !bytes.Equal(got, w.file) {
			t.Fatalf("file of message %s: status %d, %d bytes, want the %d sent", w.id, res.StatusCode, len(got), len(w.file))
		}
	}
}

// TestBackupCopiesS3Files: a server with its files in an S3 bucket
// (--files s3://…) is backed up with its files copied out of the bucket
// into the backup, each checked against its name; the backup restores
// into another bucket prefix (the files uploaded there, the data dir
// holding none) and, with the S3 service gone altogether, into a data dir:
// a backup does not depend on the live bucket.
func TestBackupCopiesS3Files(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		needDumpTools(t, b)
		s3 := blobstest.StartS3(t)
		env := map[string]string{"AWS_ACCESS_KEY_ID": blobstest.AccessKey, "AWS_SECRET_ACCESS_KEY": blobstest.SecretKey}
		s3Flags := func(prefix string) []string {
			return []string{"--files", "s3://" + s3.Bucket + "/" + prefix, "--files-endpoint", s3.Endpoint,
				"--files-region", "us-east-1", "--files-path-style"}
		}
		dataDir := t.TempDir()
		s := st.Start(t, st.Options{Backend: b, DataDir: dataDir, Files: "s3://" + s3.Bucket + "/live", FilesS3: s3.Config("live", "")})
		tok := s.Register(t, "ann", "correct horse")
		guild := mustCall(t, "POST", s.URL()+"/api/v10/guilds", tok, map[string]any{"name": "Kept"}, 201)["id"].(string)
		channel := textChannel(t, s.URL(), tok, guild)
		var msgs []sent
		for i := range 3 {
			file := make([]byte, 1000+i)
			_, _ = rand.Read(file)
			content := fmt.Sprintf("with a file %d", i)
			id, err := sendMessage(s.URL(), tok, channel, content, file)
			if err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, sent{id, content, file})
		}

		backupDir := filepath.Join(t.TempDir(), "backup")
		args := append([]string{"backup", "--data", dataDir, "--to", backupDir}, s3Flags("live")...)
		if b == st.Postgres {
			args = append(args, "--database", s.Options.Database)
		}
		if out, err := runToolEnv(t, env, args...); err != nil {
			t.Fatalf("backup: %v\n%s", err, out)
		}
		s.Stop()
		var m server.Manifest
		mb, _ := os.ReadFile(filepath.Join(backupDir, server.ManifestName))
		if err := json.Unmarshal(mb, &m); err != nil {
			t.Fatal(err)
		}
		inBackup := map[string]bool{}
		for _, f := range m.Files {
			inBackup[f.Path] = true
		}
		for _, msg := range msgs {
			sum := sha256.Sum256(msg.file)
			if p := "files/" + blobs.Key(hex.EncodeToString(sum[:])); !inBackup[p] {
				t.Fatalf("the backup lacks %s, the file of message %s:\n%s", p, msg.id, mb)
			}
		}
		if m.FilesIn != "s3://"+s3.Bucket+"/live" {
			t.Fatalf("files_in = %q", m.FilesIn)
		}

		restore := func(t *testing.T, files []string) (string, string) {
			target := t.TempDir()
			args := append([]string{"restore", "--data", target, "--from", backupDir}, files...)
			var db string
			if b == st.Postgres {
				db = emptyDatabase(t, s.Options.Database)
				args = append(args, "--database", db)
			}
			if out, err := runToolEnv(t, env, args...); err != nil {
				t.Fatalf("restore: %v\n%s", err, out)
			}
			return target, db
		}
		t.Run("into another prefix", func(t *testing.T) {
			target, db := restore(t, s3Flags("restored"))
			// The files went to the bucket, not the data dir.
			filepath.WalkDir(filepath.Join(target, "files"), func(p string, d fs.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() {
					t.Errorf("the restore wrote %s into the data dir; with --files it belongs in the bucket", p)
				}
				return nil
			})
			r := st.Start(t, st.Options{Backend: b, DataDir: target, Database: db, ServerName: s.ServerName(),
				Files: "s3://" + s3.Bucket + "/restored", FilesS3: s3.Config("restored", "")})
			checkAttachments(t, r.URL(), tok, channel, msgs)
			r.Stop()
		})
		t.Run("into a data dir, the S3 service gone", func(t *testing.T) {
			s3.Stop()
			target, db := restore(t, nil)
			r := st.Start(t, st.Options{Backend: b, DataDir: target, Database: db, ServerName: s.ServerName()})
			checkAttachments(t, r.URL(), tok, channel, msgs)
		})
	})
}

// emptyDatabase makes a new PostgreSQL database for a restore and returns
// url pointing at it instead, keeping url's schema (search_path).
func emptyDatabase(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Del("search_path")
	admin := *u
	admin.RawQuery = q.Encode()
	db, err := sql.Open("pgx", admin.String())
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "hearth_restore_" + hex.EncodeToString(b[:])
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		db.Close()
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec("DROP DATABASE " + name + " WITH (FORCE)"); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
		db.Close()
	})
	u.Path = "/" + name
	return u.String()
}

// TestBackupDuringBurstRestores: a backup taken with `homeserver backup`
// while a client sends messages (every third with a file) restores, with
// `homeserver restore`, to a server that has every message acknowledged
// before the backup began, files included, and that takes new ones.
// Restore refuses a non-empty target and a damaged backup.
func TestBackupDuringBurstRestores(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		needDumpTools(t, b)
		dataDir := t.TempDir()
		s := st.Start(t, st.Options{Backend: b, DataDir: dataDir})
		tok := s.Register(t, "ann", "correct horse")
		guild := mustCall(t, "POST", s.URL()+"/api/v10/guilds", tok, map[string]any{"name": "Kept"}, 201)["id"].(string)
		channel := textChannel(t, s.URL(), tok, guild)

		var (
			mu    sync.Mutex
			acked []sent
			fail  error
		)
		stop := make(chan struct{})
		burstDone := make(chan struct{})
		go func() { // owned by this test: stopped through stop, awaited on burstDone
			defer close(burstDone)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var file []byte
				if i%3 == 0 {
					file = make([]byte, 2048+i)
					_, _ = rand.Read(file)
				}
				content := fmt.Sprintf("burst %d", i)
				id, err := sendMessage(s.URL(), tok, channel, content, file)
				mu.Lock()
				if err != nil {
					fail = err
					mu.Unlock()
					return
				}
				acked = append(acked, sent{id, content, file})
				mu.Unlock()
			}
		}()
		count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
		st.WaitFor(t, "30 messages acknowledged", 60*time.Second, func() string {
			if n := count(); n < 30 {
				return fmt.Sprintf("%d acknowledged", n)
			}
			return ""
		})
		mu.Lock()
		before := append([]sent(nil), acked...)
		mu.Unlock()

		backupDir := filepath.Join(t.TempDir(), "backup")
		args := []string{"backup", "--data", dataDir, "--to", backupDir}
		if b == st.Postgres {
			args = append(args, "--database", s.Options.Database)
		}
		out, err := runTool(t, args...)
		if err != nil {
			t.Fatalf("backup: %v\n%s", err, out)
		}
		atBackup := count()
		// The burst goes on a little past the backup, then stops.
		st.WaitFor(t, "messages after the backup", 60*time.Second, func() string {
			if count() < atBackup+5 {
				return "none yet"
			}
			return ""
		})
		close(stop)
		<-burstDone
		if fail != nil {
			t.Fatalf("burst: %v", fail)
		}
		s.Stop()
		if !strings.Contains(out, "manifest.json") {
			t.Fatalf("backup said: %s", out)
		}

		// A non-empty target is refused; so is a damaged backup.
		args = []string{"restore", "--data", dataDir, "--from", backupDir}
		if b == st.Postgres {
			args = append(args, "--database", s.Options.Database)
		}
		if out, err := runTool(t, args...); err == nil || !strings.Contains(err.Error(), "restore refused") || !strings.Contains(err.Error(), "not empty") {
			t.Fatalf("restore into the served data dir: %v\n%s", err, out)
		}
		if b == st.Postgres {
			args = []string{"restore", "--data", t.TempDir(), "--database", s.Options.Database, "--from", backupDir}
			if out, err := runTool(t, args...); err == nil || !strings.Contains(err.Error(), "already holds tables") {
				t.Fatalf("restore into the served database: %v\n%s", err, out)
			}
		}
		damaged := filepath.Join(t.TempDir(), "damaged")
		if err := os.CopyFS(damaged, os.DirFS(backupDir)); err != nil {
			t.Fatal(err)
		}
		var m struct {
			Files []struct{ Path string } `json:"files"`
		}
		mb, _ := os.ReadFile(filepath.Join(damaged, "manifest.json"))
		if err := json.Unmarshal(mb, &m); err != nil {
			t.Fatal(err)
		}
		var victim string
		for _, f := range m.Files {
			if strings.HasPrefix(f.Path, "files/") {
				victim = filepath.Join(damaged, filepath.FromSlash(f.Path))
			}
		}
		if victim == "" {
			t.Fatalf("the backup holds no uploaded file: %s", mb)
		}
		vb, _ := os.ReadFile(victim)
		vb[len(vb)/2] ^= 0x40
		if err := os.WriteFile(victim, vb, 0o640); err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(t.TempDir(), "restored")
		args = []string{"restore", "--data", target, "--from", damaged}
		if b == st.Postgres {
			args = append(args, "--database", emptyDatabase(t, s.Options.Database))
		}
		if out, err := runTool(t, args...); err == nil || !strings.Contains(err.Error(), "checksums fail") {
			t.Fatalf("restore of a damaged backup: %v\n%s", err, out)
		}
		if _, err := os.Stat(target); err == nil {
			entries, _ := os.ReadDir(target)
			if len(entries) > 0 {
				t.Fatalf("a refused restore wrote %d entries into the target", len(entries))
			}
		}

		// The real restore, into an empty data dir (and database).
		var restoredDB string
		args = []string{"restore", "--data", target, "--from", backupDir}
		if b == st.Postgres {
			restoredDB = emptyDatabase(t, s.Options.Database)
			args = append(args, "--database", restoredDB)
		}
		if out, err := runTool(t, args...); err != nil {
			t.Fatalf("restore: %v\n%s", err, out)
		}
		r := st.Start(t, st.Options{Backend: b, DataDir: target, Database: restoredDB, ServerName: s.ServerName()})
		have := map[string]map[string]any{}
		last := ""
		for {
			path := r.URL() + "/api/v10/channels/" + channel + "/messages?limit=100"
			if last != "" {
				path += "&before=" + last
			}
			status, raw, err := call(t, "GET", path, tok, nil)
			if err != nil || status != 200 {
				t.Fatalf("history on the restored server: %d %s %v", status, raw, err)
			}
			var page []map[string]any
			if err := json.Unmarshal(raw, &page); err != nil {
				t.Fatal(err)
			}
			for _, m := range page {
				have[m["id"].(string)] = m
			}
			if len(page) < 100 {
				break
			}
			last = page[len(page)-1]["id"].(string)
		}
		files := 0
		for _, want := range before {
			m, ok := have[want.id]
			if !ok {
				t.Fatalf("message %s (%q), acknowledged before the backup began, is missing after the restore (%d of %d restored)", want.id, want.content, len(have), atBackup)
			}
			if m["content"] != want.content {
				t.Fatalf("message %s: content %q, want %q", want.id, m["content"], want.content)
			}
			if want.file == nil {
				continue
			}
			atts, _ := m["attachments"].([]any)
			if len(atts) != 1 {
				t.Fatalf("message %s: attachments %v", want.id, m["attachments"])
			}
			u, err := url.Parse(atts[0].(map[string]any)["url"].(string))
			if err != nil {
				t.Fatal(err)
			}
			res, err := http.Get(r.URL() + u.RequestURI())
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || !bytes.Equal(got, want.file) {
				t.Fatalf("file of message %s: status %d, %d bytes, want the %d sent", want.id, res.StatusCode, len(got), len(want.file))
			}
			files++
		}
		if files == 0 {
			t.Fatal("no file was checked")
		}
		// The restored server takes new messages under the same token.
		if _, err := sendMessage(r.URL(), tok, channel, "after the restore", []byte("new file")); err != nil {
			t.Fatalf("send on the restored server: %v", err)
		}
		t.Logf("%s: %d acknowledged before the backup, %d when it ended, %d restored, %d files checked", b, len(before), atBackup, len(have), files)
	})
}

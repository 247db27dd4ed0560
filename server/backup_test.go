package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"hearth/server"
	st "hearth/server/servertest"
)

// TestPruneBackupsKeepsRecentThenDaily: every backup younger than keep
// stays; older ones are thinned to the first of each UTC day; folders not
// named as scheduled backups are left alone.
func TestPruneBackupsKeepsRecentThenDaily(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().UTC().Truncate(time.Hour)
	keep := 48 * time.Hour
	name := func(at time.Time) string { return "hearth-" + at.Format("20060102T150405.000Z") }
	var all []time.Time
	for h := 0; h < 24*5; h++ { // hourly for five days
		at := now.Add(-time.Duration(h) * time.Hour)
		all = append(all, at)
		if err := os.Mkdir(filepath.Join(dir, name(at)), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "operator-notes"), 0o750); err != nil {
		t.Fatal(err)
	}
	removed, err := server.PruneBackups(dir, keep, now)
	if err != nil {
		t.Fatal(err)
	}
	firstOfDay := map[string]time.Time{}
	for _, at := range all {
		if now.Sub(at) <= keep {
			continue
		}
		d := at.Format("2006-01-02")
		if f, ok := firstOfDay[d]; !ok || at.Before(f) {
			firstOfDay[d] = at
		}
	}
	for _, at := range all {
		_, err := os.Stat(filepath.Join(dir, name(at)))
		want := now.Sub(at) <= keep || firstOfDay[at.Format("2006-01-02")].Equal(at)
		if want != (err == nil) {
			t.Fatalf("backup of %s (age %s): kept %v, want %v", at, now.Sub(at), err == nil, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "operator-notes")); err != nil {
		t.Fatal("a folder that is no scheduled backup was removed")
	}
	if len(removed) == 0 {
		t.Fatal("nothing thinned")
	}
	// A second pass finds nothing more to thin.
	if again, _ := server.PruneBackups(dir, keep, now); len(again) != 0 {
		t.Fatalf("second pass removed %v", again)
	}
}

// TestScheduledBackups: a server with BackupEvery takes whole, verified
// backups into BackupDir while it serves, and says so in its metrics.
func TestScheduledBackups(t *testing.T) {
	dir := t.TempDir()
	backups := filepath.Join(t.TempDir(), "backups")
	srv, err := server.New(context.Background(), server.Config{Listen: "127.0.0.1:0", DataDir: dir,
		BackupEvery: time.Second, BackupDir: backups, BackupKeep: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	var found []string
	st.WaitFor(t, "two scheduled backups", 60*time.Second, func() string {
		found, _ = filepath.Glob(filepath.Join(backups, "hearth-*"))
		if len(found) < 2 {
			return fmt.Sprintf("%d so far", len(found))
		}
		return ""
	})
	for _, b := range found {
		m, err := server.VerifyBackup(b)
		if err != nil {
			t.Fatal(err)
		}
		if m.Database != "sqlite" || len(m.Files) < 3 {
			t.Fatalf("backup %s: %+v", b, m)
		}
	}
	res, err := http.Get(srv.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !regexp.MustCompile(`(?m)^hearth_backup_last_success_timestamp_seconds [1-9]`).Match(body) {
		t.Fatalf("no successful backup in the metrics:\n%s", body)
	}
}

// TestBackupSettingsChecked: a schedule without a folder, or too often,
// is refused at start.
func TestBackupSettingsChecked(t *testing.T) {
	for _, c := range []struct {
		cfg  server.Config
		want string
	}{
		{server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), BackupEvery: time.Hour}, "--backup-every needs --backup-dir"},
		{server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), BackupEvery: time.Millisecond, BackupDir: t.TempDir()}, "a second or more"},
	} {
		srv, err := server.New(context.Background(), c.cfg)
		if err == nil {
			srv.Close()
			t.Fatalf("%+v started", c.cfg)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%v does not say %q", err, c.want)
		}
	}
}

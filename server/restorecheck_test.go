package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hearth/server"
	st "hearth/server/servertest"
	"hearth/storage/blobs"
)

// TestRestoreChecksContentAddresses: a stored file is named by its
// SHA-256, so a backup whose file was damaged and whose manifest was then
// written to match (by hand, or by a tool that re-hashed the damage) is
// refused, naming the file; the same backup undamaged restores and every
// file copied is the one the manifest names.
func TestRestoreChecksContentAddresses(t *testing.T) {
	sum := func(b []byte) string {
		h := sha256.Sum256(b)
		return hex.EncodeToString(h[:])
	}
	upload := []byte("an uploaded file's bytes")
	hash := sum(upload)
	// A real backup of a homeserver, so that restore goes all the way,
	// with one stored file added to it.
	src := t.TempDir()
	st.Start(t, st.Options{DataDir: src}).Stop()
	backupWith := func(t *testing.T, content []byte) string {
		dir := filepath.Join(t.TempDir(), "backup")
		if _, err := server.Backup(context.Background(), server.Config{DataDir: src}, dir); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "files", filepath.FromSlash(blobs.Key(hash)))
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, content, 0o640); err != nil {
			t.Fatal(err)
		}
		var m server.Manifest
		b, _ := os.ReadFile(filepath.Join(dir, server.ManifestName))
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		m.Files = append(m.Files, server.ManifestFile{Path: "files/" + blobs.Key(hash), Size: int64(len(content)), SHA256: sum(content)})
		b, _ = json.Marshal(m)
		if err := os.WriteFile(filepath.Join(dir, server.ManifestName), b, 0o640); err != nil {
			t.Fatal(err)
		}
		return dir
	}

	damaged := append([]byte(nil), upload...)
	damaged[3] ^= 0x20
	target := filepath.Join(t.TempDir(), "restored")
	err := server.Restore(context.Background(), server.Config{DataDir: target}, backupWith(t, damaged))
	if err == nil || !strings.Contains(err.Error(), "files/"+blobs.Key(hash)) || !strings.Contains(err.Error(), "not the ones its name") {
		t.Fatalf("restore of a backup whose file is not its content address: %v", err)
	}
	if entries, _ := os.ReadDir(target); len(entries) > 0 {
		t.Fatalf("a refused restore wrote %d entries", len(entries))
	}

	if err := server.Restore(context.Background(), server.Config{DataDir: target}, backupWith(t, upload)); err != nil {
		t.Fatalf("restore of a sound backup: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(target, "files", filepath.FromSlash(blobs.Key(hash))))
	if err != nil || string(got) != string(upload) {
		t.Fatalf("restored file: %q, %v", got, err)
	}
}

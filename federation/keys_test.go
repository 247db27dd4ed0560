package federation

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "signing.key")
	k1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v; want 0600", st.Mode().Perm(), err)
	}
	k2, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.Private.Equal(k2.Private) || k1.ID != k2.ID || !strings.HasPrefix(k1.ID, "ed25519:") {
		t.Fatalf("second load gave another key: %s vs %s", k1.ID, k2.ID)
	}
	msg := []byte("hello")
	if !ed25519.Verify(k2.Public, msg, ed25519.Sign(k1.Private, msg)) {
		t.Fatal("reloaded public key does not verify")
	}
	other, _ := LoadOrCreateKey(filepath.Join(t.TempDir(), "other.key"))
	if other.ID == k1.ID {
		t.Fatal("two fresh keys share an ID")
	}
}

func TestCorruptKeyIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "signing.key")
	if err := os.WriteFile(path, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(path); err == nil {
		t.Fatal("a corrupt key file was accepted")
	}
}

package remotefiles_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"

	"hearth/homeserver/remotefiles"
	"hearth/storage/blobs"
)

func TestLending(t *testing.T) {
	var l remotefiles.Lending
	releaseA := l.Lend("a.example", []string{"h1", "h2"})
	releaseA2 := l.Lend("a.example", []string{"h1"})
	steps := []struct {
		name        string
		do          func()
		peer, hash  string
		wantLentNow bool
	}{
		{"lent to its peer", func() {}, "a.example", "h1", true},
		{"not to another peer", func() {}, "b.example", "h1", false},
		{"not another hash", func() {}, "a.example", "h3", false},
		{"still lent for the second send", releaseA, "a.example", "h1", true},
		{"the first send's other file is back", func() {}, "a.example", "h2", false},
		{"releasing twice changes nothing", releaseA, "a.example", "h1", true},
		{"back once both sends are done", releaseA2, "a.example", "h1", false},
	}
	for _, s := range steps {
		s.do()
		if got := l.Lent(s.peer, s.hash); got != s.wantLentNow {
			t.Fatalf("%s: Lent(%s, %s) = %v", s.name, s.peer, s.hash, got)
		}
	}
}

// peerFiles serves files by path, as a peer's file routes do.
type peerFiles map[string][]byte

func (p peerFiles) Fetch(_ context.Context, _, path string, _ int64) (io.ReadCloser, error) {
	b, ok := p[path]
	if !ok {
		return nil, errors.New("404")
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func TestCopy(t *testing.T) {
	store, err := blobs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	peer := peerFiles{"/small": []byte("hello"), "/large": bytes.Repeat([]byte("x"), 100)}
	ctx := context.Background()
	hash, err := remotefiles.Copy(ctx, peer, store, "a.example", "/small", 10, "")
	if err != nil {
		t.Fatal(err)
	}
	f, err := store.Open(ctx, hash)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if string(got) != "hello" {
		t.Fatalf("kept %q", got)
	}
	if _, err := remotefiles.Copy(ctx, peer, store, "a.example", "/large", 10, ""); !errors.Is(err, remotefiles.ErrKeep) {
		t.Fatalf("a file over the limit: %v, want ErrKeep", err)
	}
	if _, err := remotefiles.Copy(ctx, peer, store, "a.example", "/missing", 10, ""); err == nil || errors.Is(err, remotefiles.ErrKeep) {
		t.Fatalf("a file the peer does not serve: %v, want the peer's error", err)
	}
	// Asked for one hash, sent other bytes: refused, and nothing kept.
	other := peerFiles{"/swapped": []byte("not hello")}
	if _, err := remotefiles.Copy(ctx, other, store, "a.example", "/swapped", 10, hash); !errors.Is(err, remotefiles.ErrMismatch) {
		t.Fatalf("bytes that do not match the hash asked for: %v, want ErrMismatch", err)
	}
	sum := sha256.Sum256([]byte("not hello"))
	if ok, err := store.Has(ctx, hex.EncodeToString(sum[:])); err != nil || ok {
		t.Fatalf("the mismatched bytes were kept: %v, %v", ok, err)
	}
	if got, err := remotefiles.Copy(ctx, peer, store, "a.example", "/small", 10, hash); err != nil || got != hash {
		t.Fatalf("the right bytes: %q, %v", got, err)
	}
}

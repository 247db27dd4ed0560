package blobs

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPutOpen(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h, n, err := s.Put(strings.NewReader("hello"), 10)
	if err != nil || n != 5 || h != "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" {
		t.Fatalf("Put = %s, %d, %v", h, n, err)
	}
	if h2, _, _ := s.Put(strings.NewReader("hello"), 10); h2 != h {
		t.Fatal("same content, different hash")
	}
	f, err := s.Open(h)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != "hello" {
		t.Fatalf("read %q", b)
	}
}

func TestLimitLeavesNothing(t *testing.T) {
	root := t.TempDir()
	s, _ := Open(root)
	if _, _, err := s.Put(strings.NewReader("0123456789A"), 10); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	left, _ := os.ReadDir(filepath.Join(root, "tmp"))
	if len(left) != 0 {
		t.Fatalf("temp files left: %v", left)
	}
}

func TestOpenRefusesPaths(t *testing.T) {
	s, _ := Open(t.TempDir())
	for _, h := range []string{"", "../../etc/passwd", strings.Repeat("a", 63) + "/", strings.Repeat("A", 64), strings.Repeat("a", 64)} {
		if _, err := s.Open(h); !errors.Is(err, ErrNotFound) {
			t.Errorf("Open(%q) = %v, want ErrNotFound", h, err)
		}
	}
}

func TestStagePromoteDiscard(t *testing.T) {
	root := t.TempDir()
	s, _ := Open(root)
	kept, err := s.Stage(strings.NewReader("kept"), 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(kept.Hash); !errors.Is(err, ErrNotFound) {
		t.Fatal("staged content is in the store before Promote")
	}
	if err := s.Promote(kept); err != nil {
		t.Fatal(err)
	}
	if f, err := s.Open(kept.Hash); err != nil {
		t.Fatalf("promoted content missing: %v", err)
	} else {
		f.Close()
	}
	dropped, _ := s.Stage(strings.NewReader("dropped"), 10)
	s.Discard(dropped)
	if _, err := s.Open(dropped.Hash); !errors.Is(err, ErrNotFound) {
		t.Fatal("discarded content reached the store")
	}
	if left, _ := os.ReadDir(filepath.Join(root, "tmp")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

// TestSweep: only blobs that are unwanted and older than the grace go; a
// blob promoted again is fresh however old its file; old staged files go.
func TestSweep(t *testing.T) {
	root := t.TempDir()
	s, _ := Open(root)
	put := func(content string) string {
		h, _, err := s.Put(strings.NewReader(content), 100)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	old := time.Now().Add(-2 * time.Hour)
	age := func(path string) {
		if err := os.Chtimes(path, old, old); err != nil {
			t.Fatal(err)
		}
	}
	wanted, unwanted, young, again := put("wanted"), put("unwanted"), put("young"), put("again")
	for _, h := range []string{wanted, unwanted, again} {
		age(s.path(h))
	}
	st, err := s.Stage(strings.NewReader("again"), 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Promote(st); err != nil { // the same content, uploaded anew
		t.Fatal(err)
	}
	crashed, _ := s.Stage(strings.NewReader("left behind"), 100)
	age(crashed.path)
	if err := os.Chtimes(crashed.path, time.Now().Add(-25*time.Hour), time.Now().Add(-25*time.Hour)); err != nil {
		t.Fatal(err)
	}
	inFlight, _ := s.Stage(strings.NewReader("in flight"), 100)

	n, freed, err := s.Sweep(context.Background(), func(h string) bool { return h == wanted }, time.Hour)
	if err != nil || n != 2 || freed != int64(len("unwanted")+len("left behind")) {
		t.Fatalf("Sweep = %d, %d, %v; want the unwanted blob and the crashed upload", n, freed, err)
	}
	for h, want := range map[string]bool{wanted: true, unwanted: false, young: true, again: true} {
		if _, err := os.Stat(s.path(h)); (err == nil) != want {
			t.Errorf("blob %s present = %v, want %v", h[:8], err == nil, want)
		}
	}
	if _, err := os.Stat(inFlight.path); err != nil {
		t.Errorf("a staged upload in flight was removed: %v", err)
	}
}

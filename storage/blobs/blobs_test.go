package blobs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
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

package blobstest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hearth/storage/blobs"
)

// Backend is a Bucket under test, empty, with a way to age what it holds.
type Backend struct {
	Bucket blobs.Bucket
	// Age makes what key holds look written ago earlier.
	Age func(t *testing.T, key string, ago time.Duration)
}

// Run checks that blobs.Store keeps its contract on the buckets open
// makes (a fresh one per subtest): put and get, ranges, stat, the limit,
// staging, and the sweep that deletes.
func Run(t *testing.T, open func(t *testing.T) Backend) {
	ctx := context.Background()
	t.Run("PutOpen", func(t *testing.T) {
		s := blobs.New(open(t).Bucket)
		h, n, err := s.Put(ctx, strings.NewReader("hello"), 10)
		if err != nil || n != 5 || h != "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" {
			t.Fatalf("Put = %s, %d, %v", h, n, err)
		}
		if h2, _, err := s.Put(ctx, strings.NewReader("hello"), 10); h2 != h || err != nil {
			t.Fatalf("same content: %s, %v", h2, err)
		}
		f, err := s.Open(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(f)
		f.Close()
		if string(b) != "hello" || err != nil || f.Size() != 5 || filepath.Base(f.Name()) != h {
			t.Fatalf("read %q (%v), size %d, name %q", b, err, f.Size(), f.Name())
		}
		if has, err := s.Has(ctx, h); !has || err != nil {
			t.Fatalf("Has(stored) = %v, %v", has, err)
		}
		absent := sum("absent")
		if has, err := s.Has(ctx, absent); has || err != nil {
			t.Fatalf("Has(absent) = %v, %v", has, err)
		}
		if _, err := s.Open(ctx, absent); !errors.Is(err, blobs.ErrNotFound) {
			t.Fatalf("Open(absent) = %v, want ErrNotFound", err)
		}
	})

	t.Run("Range", func(t *testing.T) {
		s := blobs.New(open(t).Bucket)
		content := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
		h, _, err := s.Put(ctx, bytes.NewReader(content), int64(len(content)))
		if err != nil {
			t.Fatal(err)
		}
		f, err := s.Open(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, c := range []struct {
			off    int64
			whence int
			at     int64
		}{{40000, io.SeekStart, 40000}, {-7, io.SeekEnd, int64(len(content)) - 7}, {3, io.SeekStart, 3}} {
			pos, err := f.Seek(c.off, c.whence)
			if err != nil || pos != c.at {
				t.Fatalf("Seek(%d, %d) = %d, %v", c.off, c.whence, pos, err)
			}
			got := make([]byte, min(7, int64(len(content))-c.at))
			if _, err := io.ReadFull(f, got); err != nil || !bytes.Equal(got, content[c.at:c.at+int64(len(got))]) {
				t.Fatalf("read at %d: %q, %v", c.at, got, err)
			}
		}
		// What the file routes do with a Range header.
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("GET", "/f", nil)
		req.Header.Set("Range", "bytes=1000-1999")
		rec := httptest.NewRecorder()
		http.ServeContent(rec, req, "", time.Time{}, f)
		if rec.Code != http.StatusPartialContent || !bytes.Equal(rec.Body.Bytes(), content[1000:2000]) {
			t.Fatalf("ranged answer %d, %d bytes", rec.Code, rec.Body.Len())
		}
	})

	t.Run("LimitLeavesNothing", func(t *testing.T) {
		b := open(t).Bucket
		s := blobs.New(b)
		if _, _, err := s.Put(ctx, strings.NewReader("0123456789A"), 10); !errors.Is(err, blobs.ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
		if left, _ := os.ReadDir(b.StagingDir()); len(left) != 0 {
			t.Fatalf("staged files left: %v", left)
		}
		if keys := list(t, b); len(keys) != 0 {
			t.Fatalf("stored: %v", keys)
		}
	})

	t.Run("OpenRefusesPaths", func(t *testing.T) {
		s := blobs.New(open(t).Bucket)
		for _, h := range []string{"", "../../etc/passwd", strings.Repeat("a", 63) + "/", strings.Repeat("A", 64), strings.Repeat("a", 64)} {
			if _, err := s.Open(ctx, h); !errors.Is(err, blobs.ErrNotFound) {
				t.Errorf("Open(%q) = %v, want ErrNotFound", h, err)
			}
		}
	})

	t.Run("StagePromoteDiscard", func(t *testing.T) {
		b := open(t).Bucket
		s := blobs.New(b)
		kept, err := s.Stage(strings.NewReader("kept"), 10)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Open(ctx, kept.Hash); !errors.Is(err, blobs.ErrNotFound) {
			t.Fatal("staged content is in the store before Promote")
		}
		if err := s.Promote(ctx, kept); err != nil {
			t.Fatal(err)
		}
		if err := s.Promote(ctx, kept); err != nil {
			t.Fatalf("a second Promote: %v", err)
		}
		if f, err := s.Open(ctx, kept.Hash); err != nil {
			t.Fatalf("promoted content missing: %v", err)
		} else {
			f.Close()
		}
		dropped, _ := s.Stage(strings.NewReader("dropped"), 10)
		s.Discard(dropped)
		if _, err := s.Open(ctx, dropped.Hash); !errors.Is(err, blobs.ErrNotFound) {
			t.Fatal("discarded content reached the store")
		}
		if left, _ := os.ReadDir(b.StagingDir()); len(left) != 0 {
			t.Fatalf("temporary files left: %v", left)
		}
	})

	// Only blobs that are unwanted and older than the grace go; a blob
	// promoted again is fresh however old it was; old staged files go.
	t.Run("Sweep", func(t *testing.T) {
		be := open(t)
		s := blobs.New(be.Bucket)
		put := func(content string) string {
			h, _, err := s.Put(ctx, strings.NewReader(content), 100)
			if err != nil {
				t.Fatal(err)
			}
			return h
		}
		wanted, unwanted, young, again := put("wanted"), put("unwanted"), put("young"), put("again")
		for _, h := range []string{wanted, unwanted, again} {
			be.Age(t, blobs.Key(h), 2*time.Hour)
		}
		st, err := s.Stage(strings.NewReader("again"), 100)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Promote(ctx, st); err != nil { // the same content, uploaded anew
			t.Fatal(err)
		}
		if _, err := s.Stage(strings.NewReader("left behind"), 100); err != nil {
			t.Fatal(err)
		}
		crashedAt := time.Now().Add(-25 * time.Hour)
		staged, _ := os.ReadDir(be.Bucket.StagingDir())
		for _, e := range staged {
			if err := os.Chtimes(filepath.Join(be.Bucket.StagingDir(), e.Name()), crashedAt, crashedAt); err != nil {
				t.Fatal(err)
			}
		}
		inFlight, _ := s.Stage(strings.NewReader("in flight"), 100)

		n, freed, err := s.Sweep(ctx, func(h string) bool { return h == wanted }, time.Hour)
		if err != nil || n != 2 || freed != int64(len("unwanted")+len("left behind")) {
			t.Fatalf("Sweep = %d, %d, %v; want the unwanted blob and the crashed upload", n, freed, err)
		}
		for h, want := range map[string]bool{wanted: true, unwanted: false, young: true, again: true} {
			has, err := s.Has(ctx, h)
			if err != nil || has != want {
				t.Errorf("blob %s present = %v (%v), want %v", h[:8], has, err, want)
			}
		}
		if _, err := s.Open(ctx, unwanted); !errors.Is(err, blobs.ErrNotFound) {
			t.Errorf("Open(swept) = %v, want ErrNotFound", err)
		}
		if err := s.Promote(ctx, inFlight); err != nil {
			t.Errorf("a staged upload in flight was removed: %v", err)
		}
		if n, _, err := s.Sweep(ctx, func(string) bool { return true }, 0); n != 0 || err != nil {
			t.Errorf("a sweep keeping everything removed %d (%v)", n, err)
		}
	})
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func list(t *testing.T, b blobs.Bucket) []string {
	t.Helper()
	var keys []string
	if err := b.List(context.Background(), "", func(e blobs.Entry) error {
		keys = append(keys, e.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return keys
}

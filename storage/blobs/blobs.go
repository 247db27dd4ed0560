// Package blobs keeps uploaded files on disk under the data dir, addressed by
// the SHA-256 of their content: a file uploaded twice is stored once, and no
// name a client sends ever becomes part of a path.
package blobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// ErrNotFound means no blob has that hash.
var ErrNotFound = errors.New("blobs: not found")

// ErrTooLarge means the content passed the limit given to Put.
var ErrTooLarge = errors.New("blobs: too large")

// Store is a folder of content-addressed files.
type Store struct {
	root string
	// mu orders Promote against Sweep's removals: a blob promoted is
	// fresh when Sweep looks at it under mu, so it is not removed.
	mu sync.Mutex
}

// Open uses (and creates) the folder root.
func Open(root string) (*Store, error) {
	if err := os.MkdirAll(filepath.Join(root, "tmp"), 0o750); err != nil {
		return nil, fmt.Errorf("blobs: create %s: %w", root, err)
	}
	return &Store{root: root}, nil
}

// Staged is content written to disk but not yet in the store: an upload
// that is kept only if what it belongs to is.
type Staged struct {
	Hash string
	Size int64
	path string
}

// Put streams r into the store, at most limit bytes, and returns the hex
// SHA-256 of the content and its size. A partial or oversized upload leaves
// nothing.
func (s *Store) Put(r io.Reader, limit int64) (string, int64, error) {
	st, err := s.Stage(r, limit)
	if err != nil {
		return "", 0, err
	}
	if err := s.Promote(st); err != nil {
		return "", 0, err
	}
	return st.Hash, st.Size, nil
}

// Stage streams r to a temporary file, at most limit bytes, hashing it on
// the way. Promote or Discard it.
func (s *Store) Stage(r io.Reader, limit int64) (st Staged, err error) {
	tmp, err := os.CreateTemp(filepath.Join(s.root, "tmp"), "upload-*")
	if err != nil {
		return Staged{}, fmt.Errorf("blobs: stage: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, limit+1))
	if err != nil {
		return Staged{}, fmt.Errorf("blobs: stage: %w", err)
	}
	if n > limit {
		return Staged{}, ErrTooLarge
	}
	if err = tmp.Sync(); err != nil {
		return Staged{}, fmt.Errorf("blobs: stage: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return Staged{}, fmt.Errorf("blobs: stage: %w", err)
	}
	return Staged{Hash: hex.EncodeToString(h.Sum(nil)), Size: n, path: tmp.Name()}, nil
}

// Promote moves staged content into the store. Content the store already
// holds is marked as fresh instead (the staged copy then going away), so
// that a Sweep running meanwhile keeps it.
func (s *Store) Promote(st Staged) error {
	if st.path == "" {
		return nil // promoted already
	}
	dst := s.path(st.Hash)
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return fmt.Errorf("blobs: promote: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if err := os.Chtimes(dst, now, now); err == nil {
		_ = os.Remove(st.path)
		return nil
	}
	if err := os.Rename(st.path, dst); err != nil {
		return fmt.Errorf("blobs: promote: %w", err)
	}
	return nil
}

// Sweep removes the blobs that keep says are no longer wanted and that
// nothing has stored or promoted for grace, and staged files older than a
// day (uploads a crash left behind). The grace covers the time between a
// blob's promotion and the commit of what refers to it, so keep may be
// answered from a list of references read before the sweep began. It
// returns how many files it removed and their size.
func (s *Store) Sweep(ctx context.Context, keep func(hash string) bool, grace time.Duration) (int, int64, error) {
	cutoff := time.Now().Add(-grace)
	removed, freed := 0, int64(0)
	err := filepath.WalkDir(s.root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d.IsDir() {
			return nil
		}
		if filepath.Base(filepath.Dir(path)) == "tmp" {
			if info, err := d.Info(); err == nil && time.Since(info.ModTime()) > 24*time.Hour {
				if os.Remove(path) == nil {
					removed, freed = removed+1, freed+info.Size()
				}
			}
			return nil
		}
		hash := d.Name()
		if !validHash(hash) || keep(hash) {
			return nil
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		info, err := os.Stat(path)
		if err != nil || !info.ModTime().Before(cutoff) {
			return nil
		}
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("blobs: sweep: %w", err)
		}
		removed, freed = removed+1, freed+info.Size()
		return nil
	})
	return removed, freed, err
}

// Discard removes staged content.
func (s *Store) Discard(st Staged) {
	if st.path != "" {
		_ = os.Remove(st.path)
	}
}

// Open returns the blob with the given hash.
func (s *Store) Open(hash string) (*os.File, error) {
	if !validHash(hash) {
		return nil, ErrNotFound
	}
	f, err := os.Open(s.path(hash))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("blobs: open: %w", err)
	}
	return f, nil
}

func (s *Store) path(hash string) string {
	return filepath.Join(s.root, hash[:2], hash[2:4], hash)
}

// validHash admits only 64 lowercase hex digits, so that a hash taken from a
// URL can never walk out of the folder.
func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for _, c := range h {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

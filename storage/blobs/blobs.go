// Package blobs keeps uploaded files addressed by the SHA-256 of their
// content, in a folder under the data dir or in an S3-compatible bucket (a
// Bucket): a file uploaded twice is stored once, and no name a client sends
// ever becomes part of a path or key.
package blobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"hearth/storage"
)

// ErrNotFound means no blob has that hash.
var ErrNotFound = errors.New("blobs: not found")

// ErrTooLarge means the content passed the limit given to Put.
var ErrTooLarge = errors.New("blobs: too large")

// Store is a Bucket of content-addressed files.
type Store struct {
	bucket Bucket
	// mu orders Promote against Sweep's removals: a blob promoted is
	// fresh when Sweep looks at it under mu, so it is not removed. (Across
	// processes sharing a bucket the order is the service's: see Sweep.)
	mu sync.Mutex
}

// Open uses (and creates) the folder root on disk.
func Open(root string) (*Store, error) {
	d, err := OpenDisk(root)
	if err != nil {
		return nil, err
	}
	return New(d), nil
}

// New keeps blobs in b.
func New(b Bucket) *Store { return &Store{bucket: b} }

// Staged is content written to local disk but not yet in the store: an
// upload that is kept only if what it belongs to is.
type Staged struct {
	Hash string
	Size int64
	path string
}

// Put streams r into the store, at most limit bytes, and returns the hex
// SHA-256 of the content and its size. A partial or oversized upload leaves
// nothing.
func (s *Store) Put(ctx context.Context, r io.Reader, limit int64) (string, int64, error) {
	st, err := s.Stage(r, limit)
	if err != nil {
		return "", 0, err
	}
	if err := s.Promote(ctx, st); err != nil {
		s.Discard(st)
		return "", 0, err
	}
	return st.Hash, st.Size, nil
}

// Stage streams r to a temporary local file, at most limit bytes, hashing
// it on the way. Promote or Discard it.
func (s *Store) Stage(r io.Reader, limit int64) (st Staged, err error) {
	tmp, err := os.CreateTemp(s.bucket.StagingDir(), "upload-*")
	if err != nil {
		return Staged{}, fmt.Errorf("blobs: stage: %w", full(err))
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
		return Staged{}, fmt.Errorf("blobs: stage: %w", full(err))
	}
	if n > limit {
		return Staged{}, ErrTooLarge
	}
	if err = tmp.Sync(); err != nil {
		return Staged{}, fmt.Errorf("blobs: stage: %w", full(err))
	}
	if err = tmp.Close(); err != nil {
		return Staged{}, fmt.Errorf("blobs: stage: %w", full(err))
	}
	return Staged{Hash: hex.EncodeToString(h.Sum(nil)), Size: n, path: tmp.Name()}, nil
}

// full marks err as storage.ErrFull when the local disk had no room for
// it (or the user's quota was spent). The staged file is then removed
// whole, so a full disk never leaves a partial blob to be served: a blob
// is only ever placed under its hash after its content was written and
// synced in full.
func full(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w: %w", storage.ErrFull, err)
	}
	return err
}

// Promote moves staged content into the store. Content the store already
// holds is marked as fresh instead (the staged copy then going away), so
// that a Sweep running meanwhile keeps it. Promoting twice is harmless.
func (s *Store) Promote(ctx context.Context, st Staged) error {
	if st.path == "" {
		return nil // promoted already
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := Key(st.Hash)
	if err := s.bucket.Touch(ctx, key); err == nil {
		_ = os.Remove(st.path)
		return nil
	}
	// Absent, or a service that would not refresh it in place: the
	// upload itself makes it fresh.
	if err := s.bucket.Place(ctx, key, st.path); err != nil {
		return fmt.Errorf("blobs: promote: %w", full(err))
	}
	return nil
}

// Sweep removes the blobs that keep says are no longer wanted and that
// nothing has stored or promoted for grace, and staged files older than a
// day (uploads a crash left behind). The grace covers the time between a
// blob's promotion and the commit of what refers to it, so keep may be
// answered from a list of references read before the sweep began. Each
// removal reads the blob's time again just before it: in one process
// under mu, so a promotion is never lost; across processes sharing a
// bucket only a promotion landing between that read and the removal (a
// round trip) could be, which is why one process sweeps at a time and the
// grace is long. It returns how many files it removed and their size.
func (s *Store) Sweep(ctx context.Context, keep func(hash string) bool, grace time.Duration) (int, int64, error) {
	removed, freed, err := sweepStaging(ctx, s.bucket.StagingDir(), "upload-", 24*time.Hour)
	if err != nil {
		return removed, freed, err
	}
	err = s.bucket.List(ctx, "", func(e Entry) error {
		hash := path.Base(e.Key)
		if !validHash(hash) || e.Key != Key(hash) || keep(hash) {
			return nil
		}
		cutoff := time.Now().Add(-grace)
		if !e.ModTime.Before(cutoff) {
			return nil
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		now, err := s.bucket.Stat(ctx, e.Key)
		if err != nil || !now.ModTime.Before(cutoff) {
			return nil
		}
		if err := s.bucket.Remove(ctx, e.Key); err != nil {
			return fmt.Errorf("blobs: sweep: %w", err)
		}
		removed, freed = removed+1, freed+now.Size
		return nil
	})
	return removed, freed, err
}

// sweepStaging removes the files named prefix* in dir older than age.
func sweepStaging(ctx context.Context, dir, prefix string, age time.Duration) (int, int64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0, fmt.Errorf("blobs: sweep %s: %w", dir, err)
	}
	removed, freed := 0, int64(0)
	for _, e := range entries {
		if ctx.Err() != nil {
			return removed, freed, ctx.Err()
		}
		if e.IsDir() || len(e.Name()) < len(prefix) || e.Name()[:len(prefix)] != prefix {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > age {
			if os.Remove(filepath.Join(dir, e.Name())) == nil {
				removed, freed = removed+1, freed+info.Size()
			}
		}
	}
	return removed, freed, nil
}

// SweepStaging removes the files named prefix* in b's staging folder
// that are older than age: temporary files a crash left behind.
func SweepStaging(ctx context.Context, b Bucket, prefix string, age time.Duration) (int, error) {
	n, _, err := sweepStaging(ctx, b.StagingDir(), prefix, age)
	return n, err
}

// Discard removes staged content.
func (s *Store) Discard(st Staged) {
	if st.path != "" {
		_ = os.Remove(st.path)
	}
}

// Open returns the blob with the given hash. Its Name ends with the hash.
func (s *Store) Open(ctx context.Context, hash string) (Object, error) {
	if !validHash(hash) {
		return nil, ErrNotFound
	}
	o, err := s.bucket.Open(ctx, Key(hash))
	if err != nil {
		return nil, err
	}
	return o, nil
}

// Has reports whether the store holds the blob with the given hash.
func (s *Store) Has(ctx context.Context, hash string) (bool, error) {
	if !validHash(hash) {
		return false, nil
	}
	_, err := s.bucket.Stat(ctx, Key(hash))
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Each calls fn with the hash and size of every blob the store holds, in
// no set order (staged uploads and keys that are no blob's left out): what
// a backup copies.
func (s *Store) Each(ctx context.Context, fn func(hash string, size int64) error) error {
	return s.bucket.List(ctx, "", func(e Entry) error {
		hash := path.Base(e.Key)
		if !validHash(hash) || e.Key != Key(hash) {
			return nil
		}
		return fn(hash, e.Size)
	})
}

// Key is the key of the blob of a hash in its Bucket: blobs are spread
// over folders by their first bytes, as the data dir has always laid them
// out (ab/cd/abcd...).
func Key(hash string) string { return hash[:2] + "/" + hash[2:4] + "/" + hash }

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

// Package remotefiles keeps the files that cross between homeservers: the
// bytes of other homeservers' attachments and custom emoji, copied once
// into this server's blob store when one of its users first asks, and this
// server's users' uploads, lent to a guild's origin while the origin
// handles their send and fetches them.
package remotefiles

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"hearth/storage/blobs"
)

// Fetcher reads a file that server serves at path, at most limit bytes
// (the federation adapter's signed client).
type Fetcher interface {
	Fetch(ctx context.Context, server, path string, limit int64) (io.ReadCloser, error)
}

// ErrKeep: a fetched file could not be kept (too large, or the blob store
// failed); the server that serves it is not at fault.
var ErrKeep = errors.New("fetched file not kept")

// ErrMismatch: the fetched bytes are not the file whose content hash was
// asked for; nothing of them is kept.
var ErrMismatch = errors.New("fetched file does not match its hash")

// Copy fetches the file server serves at path into store and returns its
// content hash. A file over limit bytes is refused, not truncated. When
// want is not empty the bytes must hash to it: other bytes are discarded
// before they reach the store, so a peer cannot make this server keep
// files under the name of a hash it asked for.
func Copy(ctx context.Context, f Fetcher, store *blobs.Store, server, path string, limit int64, want string) (string, error) {
	body, err := f.Fetch(ctx, server, path, limit)
	if err != nil {
		return "", err
	}
	defer body.Close()
	st, err := store.Stage(body, limit)
	if err != nil {
		return "", fmt.Errorf("fetch %s from %s: %w: %w", path, server, ErrKeep, err)
	}
	if want != "" && st.Hash != want {
		store.Discard(st)
		return "", fmt.Errorf("fetch %s from %s: %w", path, server, ErrMismatch)
	}
	if err := store.Promote(ctx, st); err != nil {
		store.Discard(st)
		return "", fmt.Errorf("fetch %s from %s: %w: %w", path, server, ErrKeep, err)
	}
	return st.Hash, nil
}

// Lending records which uploads each peer may fetch: those of a send of
// this server's users that the peer, a guild's origin, is handling. A hash
// lent for two sends stays lent until both are done. The zero value is
// ready to use.
type Lending struct {
	mu   sync.Mutex
	lent map[string]map[string]int // hash → peer → sends
}

// Lend lets peer fetch the uploads of hashes until release is called.
func (l *Lending) Lend(peer string, hashes []string) (release func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lent == nil {
		l.lent = map[string]map[string]int{}
	}
	for _, hash := range hashes {
		if l.lent[hash] == nil {
			l.lent[hash] = map[string]int{}
		}
		l.lent[hash][peer]++
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			for _, hash := range hashes {
				if l.lent[hash][peer]--; l.lent[hash][peer] <= 0 {
					delete(l.lent[hash], peer)
				}
				if len(l.lent[hash]) == 0 {
					delete(l.lent, hash)
				}
			}
		})
	}
}

// Lent reports whether peer may fetch the upload of hash now.
func (l *Lending) Lent(peer, hash string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lent[hash][peer] > 0
}

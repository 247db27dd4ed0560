package homeserver

import (
	"context"
	"sync"

	"hearth/homeserver/globalid"
	"hearth/snowflake"
	"hearth/storage"
)

// Global IDs and the rules of who may name what live in package globalid;
// these bind it to this homeserver's name and snowflakes.

// newLocalizer is a globalid.Localizer of this homeserver.
func (h *Homeserver) newLocalizer(r storage.Reader, tx storage.Tx) *globalid.Localizer {
	return globalid.New(h.cfg.ServerName, h.cfg.IDs, r, tx)
}

// globalize rewrites a payload of this homeserver's snowflakes into global
// IDs.
func (h *Homeserver) globalize(ctx context.Context, r storage.Reader, payload []byte) ([]byte, error) {
	out, err := globalid.Globalize(ctx, r, h.cfg.ServerName, payload)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// keyedMutex hands out one mutex per key, kept for the life of the
// process (one per replica guild: few, and small).
type keyedMutex struct {
	mu sync.Mutex
	m  map[snowflake.ID]*sync.Mutex
}

func (k *keyedMutex) lock(id snowflake.ID) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[snowflake.ID]*sync.Mutex{}
	}
	l, ok := k.m[id]
	if !ok {
		l = &sync.Mutex{}
		k.m[id] = l
	}
	k.mu.Unlock()
	l.Lock()
	return l.Unlock
}

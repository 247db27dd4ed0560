package homeserver

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"hearth/homeserver/globalid"
	"hearth/homeserver/wire"
	"hearth/snowflake"
	"hearth/storage"
)

// Owed notices (spec/federation.md §19): what this server must tell one
// peer outside any guild log — a user deleted (§18), a friendship ended
// (§17.3) — is written to the federation_notices table in the transaction
// that makes the change, by the running server or by the operator's
// command line, and sent from there by RunNotices, retried with backoff
// until the peer answers. So a peer that is down, or a restart, loses
// nothing; and the command line, which reaches no peer, still has its
// notices sent by the running server.

// Notice retry bounds: the first retry after a failure waits
// noticeMinBackoff, each next one twice as long up to noticeMaxBackoff
// (±25% jitter); a notice still unanswered after noticeMaxAge is dropped,
// so that a peer gone for good does not hold rows forever.
const (
	noticeMinBackoff = time.Second
	noticeMaxBackoff = time.Hour
	noticeMaxAge     = 30 * 24 * time.Hour
	noticeTimeout    = 10 * time.Second
	noticeBatch      = 500
)

// noticeQueue is the running sender's in-process state.
type noticeQueue struct {
	// wake says a notice was queued by this process.
	wake chan struct{}
	mu   sync.Mutex
	// waiting are the peers with notices held back by a failure; a
	// request from one of them makes its notices due at once.
	waiting map[string]bool
}

func newNoticeQueue() noticeQueue {
	return noticeQueue{wake: make(chan struct{}, 1), waiting: map[string]bool{}}
}

// queueNotice writes a notice to peer in tx, due now.
func (h *Homeserver) queueNotice(ctx context.Context, tx storage.Tx, peer, kind string, body any, userID, otherID snowflake.ID) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	now := h.now()
	return tx.QueueNotice(ctx, storage.Notice{ID: h.cfg.IDs.Next(), Peer: peer, Kind: kind, Body: b,
		UserID: userID, OtherID: otherID, NextAt: now, CreatedAt: now})
}

// queueDeleted writes, in tx, the notice that userID was deleted to every
// server that may know the user: those whose users this server has seen.
func (h *Homeserver) queueDeleted(ctx context.Context, tx storage.Tx, userID snowflake.ID) error {
	servers, err := tx.KnownServers(ctx)
	if err != nil {
		return err
	}
	for _, s := range servers {
		if s == h.cfg.ServerName {
			continue
		}
		// The body is made when sent (sendNotice), by the running server:
		// its name is the one the peer checks, whatever name the command
		// line that queued it was started with.
		if err := h.queueNotice(ctx, tx, s, storage.NoticeUserDeleted, struct{}{}, userID, 0); err != nil {
			return err
		}
	}
	return nil
}

// noticesQueued wakes the sender after a commit that queued notices.
func (h *Homeserver) noticesQueued() {
	select {
	case h.notices.wake <- struct{}{}:
	default:
	}
}

// PeerSeen is told of every verified request of a peer: a peer with
// notices held back by a failure has shown it is up, so they are due now.
func (h *Homeserver) PeerSeen(ctx context.Context, peer string) {
	q := &h.notices
	q.mu.Lock()
	waiting := q.waiting[peer]
	delete(q.waiting, peer)
	q.mu.Unlock()
	if !waiting {
		return
	}
	if err := h.store.Update(ctx, func(tx storage.Tx) error { return tx.HurryNotices(ctx, peer, h.now()) }); err != nil {
		h.log.Warn("notices not hurried", "peer", peer, "err", err)
		return
	}
	h.noticesQueued()
}

// RunNotices sends owed notices until ctx ends: when this process queues
// one, and every poll (for those queued by another process, and retries).
func (h *Homeserver) RunNotices(ctx context.Context, poll time.Duration) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		// Several processes would send each notice as often.
		if h.leader(ctx, "notices") {
			h.sendNotices(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-h.notices.wake:
		}
	}
}

// sendNotices sends the notices due now, each peer's in order on a
// goroutine of its own (owned here: sendNotices waits for them), so that
// a peer that hangs holds up only its own.
func (h *Homeserver) sendNotices(ctx context.Context) {
	if h.remote == nil {
		return
	}
	due, err := h.store.DueNotices(ctx, h.now(), noticeBatch)
	if err != nil {
		if ctx.Err() == nil {
			h.log.Warn("owed notices not read", "err", err)
		}
		return
	}
	byPeer := map[string][]storage.Notice{}
	for _, n := range due {
		byPeer[n.Peer] = append(byPeer[n.Peer], n)
	}
	var wg sync.WaitGroup
	for peer, ns := range byPeer {
		wg.Add(1)
		go func() { // owned by sendNotices, which waits for it
			defer wg.Done()
			h.sendPeerNotices(ctx, peer, ns)
		}()
	}
	wg.Wait()
}

// sendPeerNotices sends one peer its due notices, in order. The first that
// finds the peer unreachable puts it and the rest off, each by its own
// backoff; a notice the peer refuses is dropped (a retry would be refused
// the same way).
func (h *Homeserver) sendPeerNotices(ctx context.Context, peer string, ns []storage.Notice) {
	allowed := h.PeerAllowed(ctx, peer)
	for i, n := range ns {
		if ctx.Err() != nil {
			return
		}
		drop, why := false, ""
		switch {
		case !allowed:
			drop, why = true, "the server may not federate"
		case h.now().Sub(n.CreatedAt) > noticeMaxAge:
			drop, why = true, "unanswered for too long"
		case h.noticeStale(ctx, n):
			drop, why = true, "a later act superseded it"
		}
		var err error
		if !drop {
			err = h.sendNotice(ctx, n)
			var limited *RateLimitedError
			if err != nil && !errors.Is(err, ErrUnavailable) && !errors.As(err, &limited) {
				drop, why = true, "refused: "+err.Error()
			}
		}
		if drop || err == nil {
			if drop {
				h.log.Warn("notice dropped", "peer", peer, "kind", n.Kind, "user_id", n.UserID, "why", why)
			} else {
				h.log.Info("notice delivered", "peer", peer, "kind", n.Kind, "user_id", n.UserID, "attempts", n.Attempts+1)
			}
			if derr := h.store.Update(ctx, func(tx storage.Tx) error { return tx.DeleteNotice(ctx, n.ID) }); derr != nil && !errors.Is(derr, storage.ErrNotFound) {
				h.log.Warn("notice not dropped", "peer", peer, "err", derr)
			}
			continue
		}
		h.log.Warn("notice not delivered; retrying", "peer", peer, "kind", n.Kind, "attempts", n.Attempts+1, "err", err)
		h.notices.mu.Lock()
		h.notices.waiting[peer] = true
		h.notices.mu.Unlock()
		now := h.now()
		err = h.store.Update(ctx, func(tx storage.Tx) error {
			for _, m := range ns[i:] {
				if err := tx.RescheduleNotice(ctx, m.ID, m.Attempts+1, now.Add(noticeBackoff(m.Attempts+1))); err != nil && !errors.Is(err, storage.ErrNotFound) {
					return err
				}
			}
			return nil
		})
		if err != nil && ctx.Err() == nil {
			h.log.Warn("notices not rescheduled", "peer", peer, "err", err)
		}
		return
	}
}

// noticeBackoff is the wait after the attempts-th failure.
func noticeBackoff(attempts int) time.Duration {
	d := noticeMinBackoff
	for i := 1; i < attempts && d < noticeMaxBackoff; i++ {
		d *= 2
	}
	d = min(d, noticeMaxBackoff)
	return time.Duration(float64(d) * (0.75 + 0.5*rand.Float64()))
}

// noticeStale reports whether a relationship ending was overtaken: the
// user has a relationship with the peer's user again (a new request or
// friendship, made while the ending waited), which the ending must not
// undo. A block stays a block: the ending still holds for the peer.
func (h *Homeserver) noticeStale(ctx context.Context, n storage.Notice) bool {
	if n.Kind != storage.NoticeRelationship {
		return false
	}
	typ, err := relType(ctx, h.store, n.UserID, n.OtherID)
	return err == nil && typ != 0 && typ != storage.RelationshipBlocked
}

// sendNotice sends one notice, within noticeTimeout.
func (h *Homeserver) sendNotice(ctx context.Context, n storage.Notice) error {
	ctx, cancel := context.WithTimeout(ctx, noticeTimeout)
	defer cancel()
	switch n.Kind {
	case storage.NoticeUserDeleted:
		return h.remote.UserDeleted(ctx, n.Peer, wire.UserDeleted{User: globalid.Format(n.UserID, h.cfg.ServerName)})
	case storage.NoticeRelationship:
		var act wire.RelationshipAct
		if err := json.Unmarshal(n.Body, &act); err != nil {
			return err
		}
		_, err := h.remote.Relationship(ctx, n.Peer, act)
		return err
	}
	return errors.New("unknown notice kind " + n.Kind)
}

package homeserver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"hearth/homeserver/globalid"
	"hearth/homeserver/replica"
	"hearth/snowflake"
	"hearth/storage"
)

// A replica holds what its origin's log told it since the replica began;
// the messages of a channel from before then are fetched from the origin
// page by page as readers reach them (spec/federation.md §9.5). Such a
// message gets a local snowflake of its own on snowflake.BackfillNode,
// below every message the channel holds: the origin's number is never
// taken as a local ID, so a page cannot make an origin's ID name one of
// this server's objects.

// Bounds on fetching older history.
const (
	// historyBudget is how long a history read waits for the origin
	// before it answers with what the replica holds; the fetch goes on in
	// the background, so that a later read has its messages.
	historyBudget = time.Second
	// backfillTimeout bounds one fetch, so that an origin that never
	// answers frees its channel's slot.
	backfillTimeout = 30 * time.Second
	// maxBackfills bounds the fetches in flight at once, over all
	// channels; a read past it answers from what is held.
	maxBackfills = 8
	// historyPage is how many messages a fetch asks for: the most the
	// endpoint gives, whatever the read's own limit, so that paging back
	// costs few round trips.
	historyPage = 100
)

// backfillRuns are the fetches of older history in flight, at most one
// per channel. The zero value is ready.
type backfillRuns struct {
	mu sync.Mutex
	m  map[snowflake.ID]*backfillRun
}

// backfillRun is one fetch; done closes when it ends, after stored is set.
type backfillRun struct {
	done   chan struct{}
	stored bool
}

// olderHistory brings a replica channel's history from before the replica
// began a page further down, for a read that reached the bottom of what is
// held. It waits at most historyBudget and reports whether messages were
// stored by then.
func (h *Homeserver) olderHistory(ctx context.Context, channelID snowflake.ID) bool {
	if h.remote == nil {
		return false
	}
	if _, ok := h.replicaOfChannel(ctx, channelID); !ok {
		return false
	}
	if _, err := h.store.HistoryFloor(ctx, channelID); err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			h.log.Warn("federation: reading a history floor failed", "channel", channelID, "err", err)
		}
		return false // nothing from before the replica, or fetched already
	}
	run := h.startBackfill(channelID)
	if run == nil {
		return false
	}
	t := time.NewTimer(historyBudget)
	defer t.Stop()
	select {
	case <-run.done:
		return run.stored
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// HistoryFetches reports how many fetches of older history are in flight
// (at most one per channel, maxBackfills in all), for the gauge that shows
// a fetch outliving the read that started it.
func (h *Homeserver) HistoryFetches() int {
	h.backfills.mu.Lock()
	defer h.backfills.mu.Unlock()
	return len(h.backfills.m)
}

// startBackfill joins the channel's fetch in flight or starts one on the
// background runner, which owns it: the fetch outlives the read that asked
// for it and stops with the runner. nil when none can start.
func (h *Homeserver) startBackfill(channelID snowflake.ID) *backfillRun {
	h.backfills.mu.Lock()
	defer h.backfills.mu.Unlock()
	if run, ok := h.backfills.m[channelID]; ok {
		return run
	}
	if len(h.backfills.m) >= maxBackfills {
		return nil
	}
	run := &backfillRun{done: make(chan struct{})}
	task := func(ctx context.Context) {
		h.tasks.Add(1)
		go func() {
			defer h.tasks.Done()
			fctx, cancel := context.WithTimeout(ctx, backfillTimeout)
			defer cancel()
			stored, err := h.backfill(fctx, channelID, historyPage)
			switch {
			case errors.Is(err, replica.ErrRefusedHistory):
				h.log.Warn("federation: refused a history page", "channel", channelID, "err", err)
			case err != nil:
				h.log.Warn("federation: backfill failed", "channel", channelID, "err", err)
			}
			h.backfills.mu.Lock()
			delete(h.backfills.m, channelID)
			h.backfills.mu.Unlock()
			run.stored = stored
			close(run.done)
		}()
	}
	select {
	case h.background <- task:
	default:
		h.log.Warn("background work queue full; not fetching older history", "channel", channelID)
		return nil
	}
	if h.backfills.m == nil {
		h.backfills.m = map[snowflake.ID]*backfillRun{}
	}
	h.backfills.m[channelID] = run
	return run
}

// backfill fetches from a replica channel's origin the page of messages
// below the oldest the channel holds from before the replica began, and
// stores it; it reports whether it stored any.
func (h *Homeserver) backfill(ctx context.Context, channelID snowflake.ID, limit int) (bool, error) {
	rl, ok := h.replicaOfChannel(ctx, channelID)
	if !ok || h.remote == nil || !rl.Guild {
		return false, nil
	}
	floor, err := h.store.HistoryFloor(ctx, channelID)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, domainErr("backfill", err)
	}
	channelGlobal, err := h.globalOf(ctx, channelID)
	if err != nil {
		return false, err
	}
	before, err := h.historyBefore(ctx, rl, channelID, floor)
	if err != nil {
		return false, domainErr("backfill", err)
	}
	raw, err := h.remote.History(ctx, rl.Origin, channelGlobal, before.String(), limit)
	if err != nil {
		return false, fmt.Errorf("backfill: %w", err)
	}
	v, err := globalid.Decode(raw)
	if err != nil {
		return false, fmt.Errorf("backfill: %w: %w", replica.ErrRefusedHistory, err)
	}
	page, ownUsers, err := replica.CheckHistoryPage(v, replicaTarget(rl), h.cfg.ServerName, channelGlobal, before, limit)
	if err != nil {
		return false, fmt.Errorf("backfill from %s: %w", rl.Origin, err)
	}
	stored := 0
	err = h.store.Update(ctx, func(tx storage.Tx) error {
		for _, u := range ownUsers {
			if _, err := tx.UserByID(ctx, u); err != nil {
				return fmt.Errorf("%w: it names %s@%s as a user: %w", replica.ErrRefusedHistory, u, h.cfg.ServerName, err)
			}
		}
		l := h.newLocalizer(tx, tx).ForReplica(rl.Origin, rl.ID)
		var err error
		stored, err = replica.StoreHistory(ctx, tx, replicaEnv{h: h}, l, replicaTarget(rl), channelID, v, page, limit)
		return err
	})
	if errors.Is(err, replica.ErrRefusedHistory) {
		return false, fmt.Errorf("backfill from %s: %w", rl.Origin, err)
	}
	if err != nil {
		return false, domainErr("backfill", err)
	}
	return stored > 0, nil
}

// historyBefore is the origin's snowflake to ask below: the floor's next,
// or the origin's ID of the oldest message held when that is lower (a
// message backfilled before the floor moved with each page).
func (h *Homeserver) historyBefore(ctx context.Context, rl replicaLog, channelID, floor snowflake.ID) (snowflake.ID, error) {
	before := floor + 1
	oldest, err := h.store.Messages(ctx, channelID, storage.MessageQuery{After: 1, Limit: 1})
	if err != nil || len(oldest) == 0 {
		return before, err
	}
	origins, err := h.store.FederatedOrigins(ctx, []snowflake.ID{oldest[0].ID})
	if err != nil {
		return 0, err
	}
	if g, ok := origins[oldest[0].ID]; ok && g.Origin == rl.Origin {
		if n, err := snowflake.Parse(g.OriginID); err == nil && n > 0 && n < before {
			before = n
		}
	}
	return before, nil
}

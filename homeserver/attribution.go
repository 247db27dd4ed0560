package homeserver

import (
	"context"
	"time"

	"hearth/homeserver/replica"
	"hearth/homeserver/wire"
	"hearth/snowflake"
	"hearth/storage"
)

// The acts this server sent in its users' names, kept until the replica
// holds their events: package replica's check of the writes an origin
// attributes to this server's users reads them (spec/federation.md §14).

// sentActKeep is how long this server keeps an act it sent whose events
// its replica has not been seen to hold (the answer was lost, or the
// catch-up failed): the origin delivers them later, after a partition or
// this server's downtime. Past it, such an event is refused.
const sentActKeep = 7 * 24 * time.Hour

// recordSentAct keeps the act about to be sent for p in replica rl, when
// its action can make events in p's name; the returned function forgets
// it again once the replica holds its events (done) or it is known not
// to have been carried out.
func (h *Homeserver) recordSentAct(ctx context.Context, p Principal, rl replicaLog, act wire.Act, messageID snowflake.ID) (forget func(), err error) {
	if !replica.RecordsActs(act.Action) {
		return func() {}, nil
	}
	sa := storage.SentAct{ID: act.ID, LogID: rl.ID, UserID: p.User.ID, Action: act.Action, MessageID: messageID,
		Expires: h.now().Add(wire.ActTimeout + sentActKeep)}
	if err := h.store.Update(ctx, func(tx storage.Tx) error { return tx.RecordSentAct(ctx, sa) }); err != nil {
		return nil, storeErr("record act", err)
	}
	return func() {
		bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := h.store.Update(bg, func(tx storage.Tx) error { return tx.DeleteSentAct(bg, sa.ID) }); err != nil {
			h.log.Warn("a sent act stays until pruned", "act", sa.ID, "err", err)
		}
	}, nil
}

// PruneSentActs forgets the acts this server sent whose events never
// arrived in time (sentActKeep).
func (h *Homeserver) PruneSentActs(ctx context.Context) (int64, error) {
	var n int64
	err := h.store.Update(ctx, func(tx storage.Tx) (err error) {
		n, err = tx.PruneSentActs(ctx, h.now())
		return err
	})
	return n, err
}

// actKey is the context key of the peer's act a write carries out.
type actKey struct{}

// withAct marks ctx as carrying out the peer's act id: the events its
// writes log name it (wire.RemoteEvent.Act).
func withAct(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, actKey{}, id)
}

// actOf is the act ctx carries out, "" for none.
func actOf(ctx context.Context) string {
	id, _ := ctx.Value(actKey{}).(string)
	return id
}

package homeserver

import (
	"context"
	"fmt"

	"hearth/snowflake"
)

// The one door of the domain's writes to guilds and channels
// (spec/federation.md §14, "One door for writes"). A write to a guild's or
// a channel's log is carried out here when this server holds the log, and
// asked of the origin as an act when this server holds a replica of it: a
// replica never changes but by applying its origin's events. Which of the
// two happens is decided in one place, do, from one description of the
// write, so a new write cannot fork a replica by forgetting the question;
// a write whose description has no way to the origin is refused in a
// replica. Behind the door, update refuses any transaction that appends to
// a replica's log outside the application of its origin's events
// (checkLogs), so a write that bypasses do fails whole instead of forking.

// none is the result of a write that answers nothing.
type none = struct{}

// write describes one write to a log: the log it changes, and its two
// halves.
type write[T any] struct {
	// op names the write in errors ("edit channel").
	op string
	// guild or channel names the log the write changes: a guild's, or a
	// channel's (its guild's, or a DM channel's own).
	guild, channel snowflake.ID
	// here carries the write out on this server, which holds the log.
	here func(ctx context.Context) (T, error)
	// there asks the origin of the replica rl to carry it out, and
	// answers from the replica once it holds the result. nil: the write
	// is not one a member server may ask for, and is refused in a replica.
	there func(ctx context.Context, rl replicaLog) (T, error)
	// guildOnly refuses the write in a DM channel of another homeserver:
	// there asks only a guild's origin.
	guildOnly bool
}

// do carries out w here or asks its origin, and is the only place that
// decides which.
func do[T any](ctx context.Context, h *Homeserver, w write[T]) (T, error) {
	rl, replica := h.replicaOfWrite(ctx, w.guild, w.channel)
	if !replica {
		return w.here(ctx)
	}
	if w.there == nil || (w.guildOnly && !rl.Guild) {
		var zero T
		return zero, fmt.Errorf("%s in a log of %s: %w", w.op, rl.Origin, ErrRemoteGuild)
	}
	return w.there(ctx, rl)
}

// doErr is do for a write that answers nothing.
func doErr(ctx context.Context, h *Homeserver, w write[none]) error {
	_, err := do(ctx, h, w)
	return err
}

// nothing is the answer of a write that answers only an error.
func nothing(err error) (none, error) { return none{}, err }

// replicaOfWrite finds the replica a write's log is, if it is one: the
// guild's when a guild is named, else the channel's.
func (h *Homeserver) replicaOfWrite(ctx context.Context, guildID, channelID snowflake.ID) (replicaLog, bool) {
	if guildID != 0 {
		return h.replicaGuild(ctx, guildID)
	}
	if channelID != 0 {
		return h.replicaOfChannel(ctx, channelID)
	}
	return replicaLog{}, false
}

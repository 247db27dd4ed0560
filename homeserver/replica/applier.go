package replica

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"hearth/discord"
	"hearth/homeserver/globalid"
	"hearth/snowflake"
	"hearth/storage"
)

// malformed marks an event whose payload does not decode as its type says
// (a string where a number belongs) as the origin's fault, refused like an
// undecodable one, rather than a failure of this server's (503, which
// the origin would retry for ever).
func malformed(err error) error {
	var typ *json.UnmarshalTypeError
	var syn *json.SyntaxError
	if errors.As(err, &typ) || errors.As(err, &syn) {
		return fmt.Errorf("%w: %w", ErrForbidden, err)
	}
	return err
}

// errNotHeld: an event about a channel the replica does not hold (a
// thread): nothing to apply, nobody here to tell.
var errNotHeld = errors.New("channel not held by the replica")

// ignoreMissing treats an object already gone as done: the origin's
// order makes a missing one harmless (deleted twice, never seen).
func ignoreMissing(err error) error {
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	return err
}

// applier applies one batch of events to a replica in one transaction.
// Runs of new messages are inserted together: a busy guild's batch is
// mostly MESSAGE_CREATE.
type applier struct {
	env Env
	tx  storage.Tx
	g   Target
	// l localized the batch: it knows which IDs name the origin's objects.
	l    *globalid.Localizer
	msgs []storage.Message
	// extras are the components and interactions of msgs' bot messages.
	extras   []storage.MessageComponents
	channels map[snowflake.ID]bool
	// rewrite, when set, is the payload to dispatch here instead of the
	// origin's (its links point at this server).
	rewrite []byte
	// opened is set once a DM replica's CHANNEL_CREATE named a user of
	// this server.
	opened bool
	// act is the act the event being applied names (wire.RemoteEvent.Act).
	act string
	// object is the global ID the event being applied is about (its d's
	// "id"; a MESSAGE_CREATE's message), "" for none.
	object string
	// locals caches which users are this server's own (inNameOf).
	locals map[snowflake.ID]bool
	// addedMembers is set once the batch made a member row: the batch is
	// then checked against the member bound before it commits.
	addedMembers bool
	// addedObjects is set once the batch wrote a channel, thread, role or
	// the emoji list:
	// the batch is then checked against the object bounds before it
	// commits.
	addedObjects bool
}

func (ap *applier) flushMessages(ctx context.Context) error {
	if len(ap.msgs) == 0 {
		return nil
	}
	err := ap.tx.CreateMessages(ctx, ap.g.Scope(), ap.msgs)
	ap.msgs = ap.msgs[:0]
	if err != nil {
		return err
	}
	for _, x := range ap.extras {
		if err := ap.tx.SetMessageComponents(ctx, x); err != nil {
			return err
		}
	}
	ap.extras = ap.extras[:0]
	return nil
}

// botExtras is what a replica keeps of a message of one of the origin's
// bots beyond storage.Message: its components, and the interaction it
// answers (old holds what is kept already). False for any other author:
// only an application's messages carry them.
func (ap *applier) botExtras(ctx context.Context, authorID snowflake.ID, m discord.Message, old storage.MessageComponents) (storage.MessageComponents, bool, error) {
	if len(m.Components) == 0 && m.InteractionMetadata == nil && old.MessageID == 0 {
		// Nothing to keep, nor kept before: most bot messages.
		return old, false, nil
	}
	u, err := ap.tx.UserByID(ctx, authorID)
	if errors.Is(err, storage.ErrNotFound) {
		return old, false, nil
	}
	if err != nil {
		return old, false, err
	}
	if !u.Bot || u.Origin != ap.g.Origin {
		return old, false, nil
	}
	x := old
	x.MessageID = m.ID
	if m.Components != nil {
		if x.Components, err = json.Marshal(m.Components); err != nil {
			return old, false, err
		}
	}
	if m.InteractionMetadata != nil && x.Interaction == nil {
		if x.Interaction, err = json.Marshal(m.InteractionMetadata); err != nil {
			return old, false, err
		}
	}
	return x, true, nil
}

// holds reports whether the replica has a channel (it lacks threads and
// channels none of its members may see). A channel that exists here but
// outside the replica (a guild of this server or of another origin, a
// DM) is refused: the origin may not touch it.
func (ap *applier) holds(ctx context.Context, channelID snowflake.ID) (bool, error) {
	if ok, seen := ap.channels[channelID]; seen {
		return ok, nil
	}
	c, err := ap.tx.ChannelByID(ctx, channelID)
	if errors.Is(err, storage.ErrNotFound) {
		ap.channels[channelID] = false
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := ap.g.contains(c); err != nil {
		return false, err
	}
	ap.channels[channelID] = true
	return true, nil
}

// message finds a message to change in a channel the replica holds; false
// when the replica does not have it.
func (ap *applier) message(ctx context.Context, channelID, id snowflake.ID) (storage.Message, bool, error) {
	if err := ap.l.Owned(channelID, id); err != nil {
		return storage.Message{}, false, err
	}
	if ok, err := ap.holds(ctx, channelID); err != nil || !ok {
		ap.l.Unneeded(id)
		return storage.Message{}, false, err
	}
	m, err := ap.tx.Message(ctx, channelID, id)
	if errors.Is(err, storage.ErrNotFound) {
		ap.l.Unneeded(id)
		return storage.Message{}, false, nil
	}
	return m, err == nil, err
}

// apply changes the replica's state as one event (with local IDs) says,
// and appends it to the local log of the guild. A message is applied once:
// the replica's position keeps an event from being applied twice, and
// messages reach a replica only through events.
func (ap *applier) apply(ctx context.Context, typ string, d []byte) error {
	if typ != "MESSAGE_CREATE" {
		if err := ap.flushMessages(ctx); err != nil {
			return err
		}
	}
	var err error
	switch {
	case strings.HasPrefix(typ, "MESSAGE_"):
		err = ap.applyMessage(ctx, typ, d)
		if errors.Is(err, errNotHeld) {
			return nil
		}
	case !ap.g.Guild:
		err = ap.applyDM(ctx, typ, d)
	default:
		err = ap.applyGuild(ctx, typ, d)
	}
	if err := ignoreMissing(err); err != nil {
		return err
	}
	if ap.rewrite != nil {
		d, ap.rewrite = ap.rewrite, nil
	}
	return ap.env.Append(ctx, ap.g.ID, typ, json.RawMessage(d))
}

// applyMessage applies a message event, in a guild or a DM channel.

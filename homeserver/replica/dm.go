package replica

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"hearth/discord"
	"hearth/homeserver/globalid"
	"hearth/homeserver/wire"
	"hearth/snowflake"
	"hearth/storage"
)

func replicableType(typ string) bool {
	if typ == "" || len(typ) > 64 {
		return false
	}
	for i := 0; i < len(typ); i++ {
		if c := typ[i]; (c < 'A' || c > 'Z') && c != '_' {
			return false
		}
	}
	switch typ {
	case "PRESENCE_UPDATE", "READY", "READY_SUPPLEMENTAL", "RESUMED", "SESSIONS_REPLACE",
		"MESSAGE_ACK": // a user's read state, told only by their own server
		return false
	}
	for _, prefix := range []string{"HEARTH_", "USER_", "RELATIONSHIP_"} {
		if strings.HasPrefix(typ, prefix) {
			return false
		}
	}
	return true
}

// OpensDM reports whether a batch starts a DM channel's log: its first
// event creates a DM or group DM.
func OpensDM(b wire.EventBatch) bool {
	if b.From != 0 || len(b.Events) == 0 || b.Events[0].Type != "CHANNEL_CREATE" {
		return false
	}
	var c struct {
		Type int `json:"type"`
	}
	return json.Unmarshal(b.Events[0].D, &c) == nil && (c.Type == storage.ChannelDM || c.Type == storage.ChannelGroupDM)
}

// openedForUs refuses a batch that opens a DM replica and leaves no user
// of this server among its recipients (named by the CHANNEL_CREATE, or
// added further on in the same batch): such a replica would be state a
// peer makes this server keep for nobody.
func (ap *applier) openedForUs(ctx context.Context) error {
	if ap.opened {
		return nil
	}
	c, err := ap.tx.ChannelByID(ctx, ap.g.ID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	for _, id := range c.Recipients {
		if ok, err := ap.localUser(ctx, id); err != nil || ok {
			return err
		}
	}
	return fmt.Errorf("dm %s opened with no user of this server: %w", ap.g.Global, ErrForbidden)
}

// dmPair refuses a 1:1 DM of the origin that is not between one of its
// own users and one of this server's. A 1:1 DM is the one channel of its
// pair here (OpenDM finds it by the pair, and sends what its users write
// in it to its origin): a DM of the origin between two users of this
// server, or between a user of this server and one of a third server,
// would take their conversation to the origin, which may then read it
// and answer in the other's name.
func (ap *applier) dmPair(ctx context.Context, recipients []snowflake.ID) error {
	local, theirs := 0, 0
	for _, id := range recipients {
		u, err := ap.tx.UserByID(ctx, id)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		switch u.Origin {
		case "":
			local++
		case ap.g.Origin:
			theirs++
		}
	}
	if len(recipients) == 2 && local == 1 && theirs == 1 {
		return nil
	}
	return fmt.Errorf("dm %s is not between a user of %s and one of this server: %w", ap.g.Global, ap.g.Origin, ErrForbidden)
}

// localUser reports whether id is a user of this server.
func (ap *applier) localUser(ctx context.Context, id snowflake.ID) (bool, error) {
	u, err := ap.tx.UserByID(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	return err == nil && u.Origin == "", err
}

// applyDM applies an event of a DM channel of another homeserver.
func (ap *applier) applyDM(ctx context.Context, typ string, d []byte) error {
	tx, g := ap.tx, ap.g
	var err error
	switch typ {
	case "CHANNEL_CREATE":
		var c discord.DMChannel
		if err := json.Unmarshal(d, &c); err != nil {
			return err
		}
		if c.ID != g.ID {
			return fmt.Errorf("dm %d created as %d: %w", g.ID, c.ID, ErrForbidden)
		}
		raw, _, _ := globalid.Parse(g.Global)
		sc := storage.Channel{ID: c.ID, Type: c.Type, OwnerID: derefID(c.OwnerID), Name: deref(c.Name),
			CreatedAt: c.ID.Time(), Origin: g.Origin, OriginID: raw}
		// A user of this server may join later (a group DM's recipient
		// added after it was made): the origin, which sends the log only
		// to its recipients' homeservers, decides.
		for _, u := range c.Recipients {
			sc.Recipients = append(sc.Recipients, u.ID)
		}
		if sc.Type != storage.ChannelDM && sc.Type != storage.ChannelGroupDM {
			return fmt.Errorf("dm %d created as a channel of type %d: %w", g.ID, sc.Type, ErrForbidden)
		}
		if sc.Type == storage.ChannelDM {
			if err := ap.dmPair(ctx, sc.Recipients); err != nil {
				return err
			}
			if _, err := tx.DMChannel(ctx, sc.Recipients[0], sc.Recipients[1]); err == nil {
				// The pair has its DM here already (both opened one at
				// once, each on their own server, and this server keeps
				// its own; or the signer opens a second one). Refused,
				// so that nothing is kept: accepting it as an empty
				// replica would let a peer make this server keep one
				// per new DM ID.
				return fmt.Errorf("dm %d: its pair has a DM channel here already: %w", g.ID, ErrForbidden)
			} else if !errors.Is(err, storage.ErrNotFound) {
				return err
			}
		}
		err = tx.CreateChannel(ctx, sc)
	case "CHANNEL_UPDATE":
		var c discord.DMChannel
		if err := json.Unmarshal(d, &c); err != nil {
			return err
		}
		old, cerr := tx.ChannelByID(ctx, g.ID)
		if cerr != nil {
			return ignoreMissing(cerr)
		}
		old.Name, old.OwnerID = deref(c.Name), derefID(c.OwnerID)
		err = tx.UpdateChannel(ctx, g.Scope(), old)
	case "CHANNEL_RECIPIENT_ADD", "CHANNEL_RECIPIENT_REMOVE":
		var e discord.RecipientEvent
		if err := json.Unmarshal(d, &e); err != nil {
			return err
		}
		c, cerr := tx.ChannelByID(ctx, g.ID)
		if cerr != nil {
			return ignoreMissing(cerr)
		}
		if c.Type == storage.ChannelDM {
			// A 1:1 DM's pair is fixed: moved to another pair, it would
			// become that pair's DM here (see dmPair).
			return fmt.Errorf("dm %d: recipients of a 1:1 DM changed: %w", g.ID, ErrForbidden)
		}
		next := slices.DeleteFunc(slices.Clone(c.Recipients), func(id snowflake.ID) bool { return id == e.User.ID })
		if typ == "CHANNEL_RECIPIENT_ADD" {
			next = append(next, e.User.ID)
		}
		err = tx.SetRecipients(ctx, g.Scope(), g.ID, next)
	}
	return err
}

// upsertThread writes a thread of the origin into the replica.

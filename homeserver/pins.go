package homeserver

import (
	"context"
	"hearth/homeserver/wire"
	"time"

	"hearth/discord"
	"hearth/homeserver/permission"
	"hearth/snowflake"
	"hearth/storage"
)

// canPin: MANAGE_MESSAGES or Discord's newer PIN_MESSAGES.
func canPin(pl *place) error {
	if pl.perms.Has(permission.ManageMessages) || pl.perms.Has(permission.PinMessages) {
		return nil
	}
	return pl.require(permission.ManageMessages)
}

// pinPlace loads a message to pin or unpin and checks that the caller may.
func (h *Homeserver) pinPlace(ctx context.Context, tx storage.Tx, p Principal, channelID, messageID snowflake.ID) (*place, storage.Message, error) {
	pl, m, err := h.reactionPlace(ctx, tx, p, channelID, messageID)
	if err != nil {
		return nil, m, err
	}
	return pl, m, canPin(pl)
}

// Pin pins a message, at most 50 per channel, and posts Discord's system
// message about it.
func (h *Homeserver) Pin(ctx context.Context, p Principal, channelID, messageID snowflake.ID) error {
	return doErr(ctx, h, write[none]{op: "pin", channel: channelID,
		here: func(ctx context.Context) (none, error) { return nothing(h.pinHere(ctx, p, channelID, messageID)) },
		there: func(ctx context.Context, g replicaLog) (none, error) {
			return nothing(h.forwardSimple(ctx, p, g, wire.ActPin, channelID, messageID, nil))
		}})
}

// pinHere carries out Pin on this server's own log.
func (h *Homeserver) pinHere(ctx context.Context, p Principal, channelID, messageID snowflake.ID) error {
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		pl, _, err := h.pinPlace(ctx, tx, p, channelID, messageID)
		if err != nil {
			return err
		}
		// The count and the pin are one step for concurrent pins of the
		// channel: without the lock each could count 49 and all pin. The
		// message is read again under it, as a pin that waited may find
		// it pinned by the one it waited for.
		if err := tx.LockChannel(ctx, channelID); err != nil {
			return err
		}
		m, err := messageIn(ctx, tx, channelID, messageID)
		if err != nil {
			return err
		}
		if m.Pinned {
			return nil
		}
		pinned, err := tx.PinnedMessages(ctx, channelID)
		if err != nil {
			return err
		}
		if len(pinned) >= MaxPins {
			return ErrMaxPins
		}
		now := h.now()
		m.Pinned, m.PinnedAt = true, now
		if err := tx.UpdateMessage(ctx, pl.scope(), m); err != nil {
			return err
		}
		updated, err := h.renderMessage(ctx, tx, m, p.User.ID, false)
		if err != nil {
			return err
		}
		if err := ev.Append(ctx, pl.logID(), "MESSAGE_UPDATE", updated); err != nil {
			return err
		}
		notice := storage.Message{ID: h.cfg.IDs.Next(), ChannelID: channelID, GuildID: m.GuildID, AuthorID: p.User.ID,
			Type: discord.MessagePinnedMessage, ReferenceID: m.ID, ReferenceChannelID: channelID, CreatedAt: now}
		if err := tx.CreateMessage(ctx, pl.scope(), notice); err != nil {
			return err
		}
		rendered, err := h.renderMessage(ctx, tx, notice, p.User.ID, true)
		if err != nil {
			return err
		}
		if err := ev.Append(ctx, pl.logID(), "MESSAGE_CREATE", rendered); err != nil {
			return err
		}
		return ev.Append(ctx, pl.logID(), "CHANNEL_PINS_UPDATE", discord.PinsUpdateEvent{
			GuildID: pl.guildID(), ChannelID: channelID, LastPinTimestamp: discord.TimePtr(now)})
	})
	return domainErr("pin", err)
}

// Unpin unpins a message.
func (h *Homeserver) Unpin(ctx context.Context, p Principal, channelID, messageID snowflake.ID) error {
	return doErr(ctx, h, write[none]{op: "unpin", channel: channelID,
		here: func(ctx context.Context) (none, error) { return nothing(h.unpinHere(ctx, p, channelID, messageID)) },
		there: func(ctx context.Context, g replicaLog) (none, error) {
			return nothing(h.forwardSimple(ctx, p, g, wire.ActUnpin, channelID, messageID, nil))
		}})
}

// unpinHere carries out Unpin on this server's own log.
func (h *Homeserver) unpinHere(ctx context.Context, p Principal, channelID, messageID snowflake.ID) error {
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		pl, m, err := h.pinPlace(ctx, tx, p, channelID, messageID)
		if err != nil {
			return err
		}
		if !m.Pinned {
			return nil
		}
		m.Pinned, m.PinnedAt = false, time.Time{}
		if err := tx.UpdateMessage(ctx, pl.scope(), m); err != nil {
			return err
		}
		updated, err := h.renderMessage(ctx, tx, m, p.User.ID, false)
		if err != nil {
			return err
		}
		if err := ev.Append(ctx, pl.logID(), "MESSAGE_UPDATE", updated); err != nil {
			return err
		}
		pins, err := tx.PinnedMessages(ctx, channelID)
		if err != nil {
			return err
		}
		var last *discord.Timestamp
		if len(pins) > 0 {
			last = discord.TimePtr(pins[0].PinnedAt)
		}
		return ev.Append(ctx, pl.logID(), "CHANNEL_PINS_UPDATE", discord.PinsUpdateEvent{
			GuildID: pl.guildID(), ChannelID: channelID, LastPinTimestamp: last})
	})
	return domainErr("unpin", err)
}

// Pins lists a channel's pinned messages, newest pin first.
func (h *Homeserver) Pins(ctx context.Context, p Principal, channelID snowflake.ID) ([]discord.Message, error) {
	pl, err := h.placeOf(ctx, h.store, channelID, p.User.ID)
	if err != nil {
		return nil, domainErr("pins", err)
	}
	if err := pl.require(permission.ReadMessageHistory); err != nil {
		return nil, err
	}
	ms, err := h.store.PinnedMessages(ctx, channelID)
	if err != nil {
		return nil, storeErr("pins", err)
	}
	return h.renderPage(ctx, ms, p.User.ID)
}

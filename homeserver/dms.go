package homeserver

import (
	"context"
	"errors"
	"fmt"
	"hearth/homeserver/wire"
	"sort"
	"strings"
	"unicode/utf8"

	"hearth/discord"
	"hearth/homeserver/globalid"
	"hearth/snowflake"
	"hearth/storage"
)

// MaxGroupDM is how many people a group DM holds, its creator included.
const MaxGroupDM = 10

func (h *Homeserver) renderDM(ctx context.Context, r storage.Reader, c storage.Channel, viewer snowflake.ID) discord.DMChannel {
	out := discord.DMChannel{ID: c.ID, Type: c.Type, LastMessageID: discord.NullableID(c.LastMessageID), Recipients: []discord.User{}}
	for _, id := range c.Recipients {
		if id == viewer {
			continue // Discord lists the others
		}
		if u, err := r.UserByID(ctx, id); err == nil {
			out.Recipients = append(out.Recipients, discordUser(u))
		}
	}
	if c.Type == storage.ChannelGroupDM {
		name := c.Name
		out.Name, out.Icon, out.OwnerID = &name, discord.Nullable(c.Icon), discord.NullableID(c.OwnerID)
	}
	return out
}

// OpenDM returns the one-to-one DM channel with another user, making it on
// first use (so the call is idempotent).
func (h *Homeserver) OpenDM(ctx context.Context, p Principal, recipient snowflake.ID) (discord.DMChannel, error) {
	if recipient == p.User.ID {
		return discord.DMChannel{}, ErrCannotDM
	}
	if _, err := h.lookupUser(ctx, recipient); err != nil {
		return discord.DMChannel{}, fmt.Errorf("open dm: %w", err)
	}
	if err := h.checkDM(ctx, h.store, p.User.ID, recipient); err != nil {
		return discord.DMChannel{}, fmt.Errorf("open dm: %w", err)
	}
	for attempt := 0; attempt < 2; attempt++ {
		if c, err := h.store.DMChannel(ctx, p.User.ID, recipient); err == nil {
			return h.renderDM(ctx, h.store, c, p.User.ID), nil
		} else if !errors.Is(err, storage.ErrNotFound) {
			return discord.DMChannel{}, storeErr("open dm", err)
		}
		c := storage.Channel{ID: h.cfg.IDs.Next(), Type: storage.ChannelDM, Recipients: []snowflake.ID{p.User.ID, recipient}, CreatedAt: h.now()}
		out, err := h.createDM(ctx, c, p.User.ID)
		if errors.Is(err, storage.ErrConflict) {
			continue // made by the other side at the same moment: read theirs
		}
		return out, domainErr("open dm", err)
	}
	return discord.DMChannel{}, storeErr("open dm", errors.New("dm channel conflict persisted"))
}

// GroupDMCreate is a new group DM.
type GroupDMCreate struct {
	Recipients []snowflake.ID
	// Handles are recipients named "name@server" (Hearth's extension):
	// people one has no ID of yet, on this homeserver or another.
	Handles []string
	Name    string
}

// CreateGroupDM makes a group DM owned by the caller with up to 9 others.
func (h *Homeserver) CreateGroupDM(ctx context.Context, p Principal, in GroupDMCreate) (discord.DMChannel, error) {
	members := []snowflake.ID{p.User.ID}
	seen := map[snowflake.ID]bool{p.User.ID: true}
	add := func(id snowflake.ID) {
		if !seen[id] {
			seen[id] = true
			members = append(members, id)
		}
	}
	for _, id := range in.Recipients {
		add(id)
	}
	// Counted before any handle is resolved: each one of another server is
	// a request to that server, and a caller may not make us send many.
	if len(members)+len(in.Handles) > MaxGroupDM && len(in.Handles) > 0 {
		return discord.DMChannel{}, Invalid("recipient_handles", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("A group DM holds at most %d people.", MaxGroupDM))
	}
	for _, handle := range in.Handles {
		id, err := h.userByHandle(ctx, handle, "recipient_handles")
		if err != nil {
			return discord.DMChannel{}, fmt.Errorf("group dm: %w", err)
		}
		add(id)
	}
	if len(members) > MaxGroupDM {
		return discord.DMChannel{}, Invalid("recipients", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("A group DM holds at most %d people.", MaxGroupDM))
	}
	if utf8.RuneCountInString(in.Name) > ChannelNameMax {
		return discord.DMChannel{}, Invalid("name", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", ChannelNameMax))
	}
	for _, id := range members {
		if _, err := h.lookupUser(ctx, id); err != nil {
			return discord.DMChannel{}, fmt.Errorf("group dm: %w", err)
		}
	}
	c := storage.Channel{ID: h.cfg.IDs.Next(), Type: storage.ChannelGroupDM, Name: in.Name, OwnerID: p.User.ID,
		Recipients: members, CreatedAt: h.now()}
	out, err := h.createDM(ctx, c, p.User.ID)
	return out, domainErr("group dm", err)
}

// createDM stores a new DM or group DM channel, starts its delivery to the
// homeservers of its recipients of other servers, and logs CHANNEL_CREATE;
// it answers the channel as viewer sees it.
func (h *Homeserver) createDM(ctx context.Context, c storage.Channel, viewer snowflake.ID) (discord.DMChannel, error) {
	var out discord.DMChannel
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		if err := tx.CreateChannel(ctx, c); err != nil {
			return err
		}
		if err := h.dmPeers(ctx, tx, c.ID, c.Recipients); err != nil {
			return err
		}
		out = h.renderDM(ctx, tx, c, viewer)
		return ev.Append(ctx, c.ID, "CHANNEL_CREATE", h.renderDM(ctx, tx, c, 0))
	})
	return out, err
}

// DMChannels lists the caller's DM channels.
func (h *Homeserver) DMChannels(ctx context.Context, p Principal) ([]discord.DMChannel, error) {
	cs, err := h.store.UserDMChannels(ctx, p.User.ID)
	if err != nil {
		return nil, storeErr("dm channels", err)
	}
	out := make([]discord.DMChannel, 0, len(cs))
	for _, c := range cs {
		out = append(out, h.renderDM(ctx, h.store, c, p.User.ID))
	}
	return out, nil
}

// DMChannel returns a DM channel of the caller, or ok false when channelID
// is not a DM channel (the caller then treats it as a guild channel).
func (h *Homeserver) DMChannel(ctx context.Context, p Principal, channelID snowflake.ID) (discord.DMChannel, bool, error) {
	c, err := h.store.ChannelByID(ctx, channelID)
	if errors.Is(err, storage.ErrNotFound) {
		return discord.DMChannel{}, true, fmt.Errorf("channel %d: %w", channelID, ErrUnknownChannel)
	}
	if err != nil {
		return discord.DMChannel{}, true, storeErr("dm channel", err)
	}
	if c.GuildID != 0 {
		return discord.DMChannel{}, false, nil
	}
	if !contains(c.Recipients, p.User.ID) {
		return discord.DMChannel{}, true, fmt.Errorf("channel %d: %w", channelID, ErrUnknownChannel)
	}
	return h.renderDM(ctx, h.store, c, p.User.ID), true, nil
}

func contains(ids []snowflake.ID, id snowflake.ID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// groupOf loads a group DM the caller is in.
func groupOf(ctx context.Context, tx storage.Reader, channelID, userID snowflake.ID) (storage.Channel, error) {
	c, err := tx.ChannelByID(ctx, channelID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && (c.GuildID != 0 || !contains(c.Recipients, userID))) {
		return c, fmt.Errorf("channel %d: %w", channelID, ErrUnknownChannel)
	}
	if err != nil {
		return c, err
	}
	if c.Type != storage.ChannelGroupDM {
		return c, Invalid("channel_id", "CHANNEL_TYPE_INVALID", "Not a group DM.")
	}
	return c, nil
}

// AddRecipient adds someone to a group DM (its owner).
func (h *Homeserver) AddRecipient(ctx context.Context, p Principal, channelID, userID snowflake.ID) error {
	return doErr(ctx, h, write[none]{op: "add recipient", channel: channelID,
		here: func(ctx context.Context) (none, error) { return nothing(h.addRecipientHere(ctx, p, channelID, userID)) }})
}

// addRecipientHere carries out AddRecipient on this server's own log.
func (h *Homeserver) addRecipientHere(ctx context.Context, p Principal, channelID, userID snowflake.ID) error {
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		c, err := groupOf(ctx, tx, channelID, p.User.ID)
		if err != nil {
			return err
		}
		if c.OwnerID != p.User.ID {
			return fmt.Errorf("add recipient: %w", ErrMissingPermission)
		}
		if contains(c.Recipients, userID) {
			return nil
		}
		if len(c.Recipients) >= MaxGroupDM {
			return Invalid("recipients", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("A group DM holds at most %d people.", MaxGroupDM))
		}
		u, err := tx.UserByID(ctx, userID)
		if errors.Is(err, storage.ErrNotFound) {
			return ErrUnknownUser
		}
		if err != nil {
			return err
		}
		if err := tx.SetRecipients(ctx, storage.InDM(channelID), channelID, append(c.Recipients, userID)); err != nil {
			return err
		}
		if err := h.dmPeers(ctx, tx, channelID, []snowflake.ID{userID}); err != nil {
			return err
		}
		return ev.Append(ctx, channelID, "CHANNEL_RECIPIENT_ADD", discord.RecipientEvent{ChannelID: channelID, User: discordUser(u)})
	})
	return domainErr("add recipient", err)
}

// RemoveRecipient takes someone out of a group DM: the owner removes
// anyone; anyone removes themselves (leaving). When the owner leaves, the
// longest-standing other member owns it; the last to leave ends it.
func (h *Homeserver) RemoveRecipient(ctx context.Context, p Principal, channelID, userID snowflake.ID) error {
	return doErr(ctx, h, write[none]{op: "remove recipient", channel: channelID,
		here: func(ctx context.Context) (none, error) {
			return nothing(h.removeRecipientHere(ctx, p, channelID, userID))
		}})
}

// removeRecipientHere carries out RemoveRecipient on this server's own log.
func (h *Homeserver) removeRecipientHere(ctx context.Context, p Principal, channelID, userID snowflake.ID) error {
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		c, err := groupOf(ctx, tx, channelID, p.User.ID)
		if err != nil {
			return err
		}
		if userID != p.User.ID && c.OwnerID != p.User.ID {
			return fmt.Errorf("remove recipient: %w", ErrMissingPermission)
		}
		if !contains(c.Recipients, userID) {
			return ErrUnknownUser
		}
		var rest []snowflake.ID
		for _, id := range c.Recipients {
			if id != userID {
				rest = append(rest, id)
			}
		}
		u, err := tx.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		if err := tx.SetRecipients(ctx, storage.InDM(channelID), channelID, rest); err != nil {
			return err
		}
		if c.OwnerID == userID && len(rest) > 0 {
			sort.Slice(rest, func(i, j int) bool { return rest[i] < rest[j] })
			c.OwnerID, c.Recipients = rest[0], rest
			if err := tx.UpdateChannel(ctx, storage.InDM(channelID), c); err != nil {
				return err
			}
		}
		return ev.Append(ctx, channelID, "CHANNEL_RECIPIENT_REMOVE", discord.RecipientEvent{ChannelID: channelID, User: discordUser(u)})
	})
	return domainErr("remove recipient", err)
}

// RenameGroupDM changes a group DM's name (any member, as on Discord).
func (h *Homeserver) RenameGroupDM(ctx context.Context, p Principal, channelID snowflake.ID, name string) (discord.DMChannel, error) {
	return do(ctx, h, write[discord.DMChannel]{op: "rename group d m", channel: channelID,
		here: func(ctx context.Context) (discord.DMChannel, error) {
			return h.renameGroupDMHere(ctx, p, channelID, name)
		}})
}

// renameGroupDMHere carries out RenameGroupDM on this server's own log.
func (h *Homeserver) renameGroupDMHere(ctx context.Context, p Principal, channelID snowflake.ID, name string) (discord.DMChannel, error) {
	if utf8.RuneCountInString(name) > ChannelNameMax {
		return discord.DMChannel{}, Invalid("name", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", ChannelNameMax))
	}
	var out discord.DMChannel
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		c, err := groupOf(ctx, tx, channelID, p.User.ID)
		if err != nil {
			return err
		}
		c.Name = name
		if err := tx.UpdateChannel(ctx, storage.InDM(channelID), c); err != nil {
			return err
		}
		out = h.renderDM(ctx, tx, c, p.User.ID)
		return ev.Append(ctx, channelID, "CHANNEL_UPDATE", h.renderDM(ctx, tx, c, 0))
	})
	return out, domainErr("rename group dm", err)
}

// dmPeers starts delivering a DM channel's log, from its first event, to
// the homeserver of each of users who is not this server's: the channel's
// origin is the homeserver of whoever made it.
func (h *Homeserver) dmPeers(ctx context.Context, tx storage.Tx, channelID snowflake.ID, users []snowflake.ID) error {
	for _, id := range users {
		u, err := tx.UserByID(ctx, id)
		if err != nil || u.Origin == "" {
			continue
		}
		if _, err := tx.DeliveryCursor(ctx, u.Origin, channelID); errors.Is(err, storage.ErrNotFound) {
			if err := tx.SetDeliveryCursor(ctx, storage.Cursor{Peer: u.Origin, LogID: channelID}); err != nil {
				return err
			}
		}
	}
	return nil
}

// OpenDMWith opens the one-to-one DM channel with someone named by handle,
// "name@server": a user of another homeserver (whose homeserver is asked
// who that is), or of this one.
func (h *Homeserver) OpenDMWith(ctx context.Context, p Principal, handle string) (discord.DMChannel, error) {
	id, err := h.userByHandle(ctx, handle, "recipient")
	if err != nil {
		return discord.DMChannel{}, fmt.Errorf("open dm: %w", err)
	}
	return h.OpenDM(ctx, p, id)
}

// userByHandle finds the local ID of the user a "name@server" handle
// names: a user of this server, or one of another server asked through its
// origin (and remembered as a peer user). field names the input in a
// validation error.
func (h *Homeserver) userByHandle(ctx context.Context, handle, field string) (snowflake.ID, error) {
	name, server, ok := strings.Cut(handle, "@")
	if !ok || name == "" || len(name) > UsernameMax || !globalid.ValidServer(server) {
		return 0, Invalid(field, "BASE_TYPE_INVALID", "Not a name@server handle.")
	}
	if server == h.cfg.ServerName {
		u, err := h.store.UserByUsername(ctx, name)
		if errors.Is(err, storage.ErrNotFound) || err == nil && h.isWebhookUser(ctx, u) {
			return 0, ErrUnknownUser
		} else if err != nil {
			return 0, storeErr("user by handle", err)
		}
		return u.ID, nil
	}
	if h.remote == nil {
		return 0, fmt.Errorf("user on %s: federation is off: %w", server, ErrUnavailable)
	}
	ru, err := h.remote.User(ctx, server, name)
	if err != nil {
		return 0, err
	}
	if _, origin, ok := globalid.Parse(ru.ID); !ok || origin != server {
		return 0, fmt.Errorf("%s answered for user %q: %w", server, ru.ID, ErrForbidden)
	}
	u, err := h.peerUser(ctx, server, ru)
	if err != nil {
		return 0, err
	}
	return u.User.ID, nil
}

// PeerProfile is a local user as a peer may look them up by name.
func (h *Homeserver) PeerProfile(ctx context.Context, username string) (wire.RemoteUser, error) {
	u, err := h.store.UserByUsername(ctx, username)
	if errors.Is(err, storage.ErrNotFound) || err == nil && h.isWebhookUser(ctx, u) {
		return wire.RemoteUser{}, fmt.Errorf("user %q: %w", username, ErrUnknownUser)
	}
	if err != nil {
		return wire.RemoteUser{}, storeErr("profile", err)
	}
	return h.remoteUserOf(userFrom(u)), nil
}

package homeserver

import (
	"context"
	"encoding/json"
	"fmt"
	"hearth/homeserver/wire"
	"slices"
	"time"

	"hearth/discord"
	"hearth/homeserver/permission"
	"hearth/snowflake"
)

// Writes of this server's users in guilds of other homeservers: each is
// checked for what the replica can tell (membership, the channel in view),
// sent to the origin, which decides, and answered from the replica once it
// holds the result.

// forwardable checks that p may address the replica channel at all, so
// that the origin is not asked about channels p cannot see.
func (h *Homeserver) forwardable(ctx context.Context, p Principal, channelID snowflake.ID) error {
	pl, err := h.placeOf(ctx, h.hot, channelID, p.User.ID)
	if err != nil {
		return err
	}
	if !pl.perms.Has(permission.ViewChannel) {
		return fmt.Errorf("channel %d: %w", channelID, ErrMissingAccess)
	}
	return nil
}

func (h *Homeserver) forwardSend(ctx context.Context, p Principal, g replicaLog, channelID snowflake.ID, in MessageCreate) (discord.Message, error) {
	if err := h.forwardable(ctx, p, channelID); err != nil {
		h.DiscardUploads(in.Files)
		return discord.Message{}, err
	}
	// The origin fetches the files from here while it handles the send.
	var files []wire.ActFile
	var hashes []string
	for _, f := range in.Files {
		if err := h.cfg.Blobs.Promote(ctx, f.staged); err != nil {
			return discord.Message{}, storeErr("send: keep file", err)
		}
		files = append(files, wire.ActFile{Filename: f.Filename, Description: f.Description, Hash: f.Hash, Size: f.Size})
		hashes = append(hashes, f.Hash)
	}
	defer h.lending.Lend(g.Origin, hashes)()
	reply, err := h.globalOf(ctx, in.ReplyTo)
	if err != nil {
		return discord.Message{}, err
	}
	data, err := json.Marshal(wire.ActData{Content: &in.Content, Nonce: in.Nonce, EnforceNonce: in.EnforceNonce,
		TTS: in.TTS, Embeds: in.Embeds, Flags: &in.Flags, ReplyTo: reply, FailIfNotExists: in.FailIfNotExists, Files: files})
	if err != nil {
		return discord.Message{}, err
	}
	if data, err = h.globalize(ctx, h.store, data); err != nil {
		return discord.Message{}, storeErr("send", err)
	}
	res, err := h.forward(ctx, p, g, wire.Act{Action: wire.ActSend, Data: data}, channelID, 0)
	if err != nil {
		return discord.Message{}, err
	}
	return h.replicaResult(ctx, p, g, channelID, res)
}

// replicaResult answers a forwarded send or edit from the replica, which
// holds the message by now: the client gets this server's IDs and links.
func (h *Homeserver) replicaResult(ctx context.Context, p Principal, g replicaLog, channelID snowflake.ID, res wire.ActResult) (discord.Message, error) {
	var sent discord.Message
	if err := h.localResult(ctx, g, res, &sent); err != nil {
		return discord.Message{}, err
	}
	out, err := h.Message(ctx, p, channelID, sent.ID)
	if err != nil {
		// Sent, but not readable here (no READ_MESSAGE_HISTORY): the
		// origin's rendering is the answer.
		return sent, nil
	}
	out.Nonce = sent.Nonce
	return out, nil
}

func (h *Homeserver) forwardEdit(ctx context.Context, p Principal, g replicaLog, channelID, messageID snowflake.ID, e MessageEdit) (discord.Message, error) {
	if err := h.forwardable(ctx, p, channelID); err != nil {
		return discord.Message{}, err
	}
	am := wire.ActData{EmbedsSet: e.Embeds.Set, Embeds: e.Embeds.Value}
	if e.Content.Set {
		am.Content = &e.Content.Value
	}
	if e.Flags.Set {
		am.Flags = &e.Flags.Value
	}
	data, err := json.Marshal(am)
	if err != nil {
		return discord.Message{}, err
	}
	if data, err = h.globalize(ctx, h.store, data); err != nil {
		return discord.Message{}, storeErr("edit", err)
	}
	res, err := h.forward(ctx, p, g, wire.Act{Action: wire.ActEdit, Data: data}, channelID, messageID)
	if err != nil {
		return discord.Message{}, err
	}
	return h.replicaResult(ctx, p, g, channelID, res)
}

// forwardSimple forwards an action without a result.
func (h *Homeserver) forwardSimple(ctx context.Context, p Principal, g replicaLog, action string, channelID, messageID snowflake.ID, data any) error {
	if channelID != 0 {
		if err := h.forwardable(ctx, p, channelID); err != nil {
			return err
		}
	}
	var raw json.RawMessage
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return err
		}
		raw = b
	}
	_, err := h.forward(ctx, p, g, wire.Act{Action: action, Data: raw}, channelID, messageID)
	return err
}

func (h *Homeserver) forwardReaction(ctx context.Context, p Principal, g replicaLog, action string, channelID, messageID snowflake.ID, emoji string, target snowflake.ID) error {
	var onWire string
	if emoji != "" {
		var err error
		if onWire, err = h.emojiToWire(ctx, emoji); err != nil {
			return storeErr("reaction", err)
		}
	}
	data := wire.ActData{Emoji: onWire}
	if target != 0 && target != p.User.ID {
		var err error
		if data.Target, err = h.globalOf(ctx, target); err != nil {
			return err
		}
	}
	return h.forwardSimple(ctx, p, g, action, channelID, messageID, data)
}

// forwardTarget forwards an action about another user (target 0 or the
// actor: about the actor).
func (h *Homeserver) forwardTarget(ctx context.Context, p Principal, g replicaLog, action string, channelID, target snowflake.ID) error {
	var data wire.ActData
	if target != 0 && target != p.User.ID {
		var err error
		if data.Target, err = h.globalOf(ctx, target); err != nil {
			return err
		}
	}
	return h.forwardSimple(ctx, p, g, action, channelID, 0, data)
}

// forwardThread starts or changes a thread through the origin and answers
// with the replica's copy of it.
func (h *Homeserver) forwardThread(ctx context.Context, p Principal, g replicaLog, action string, channelID, messageID snowflake.ID, t wire.ActThreadData) (discord.Channel, error) {
	if err := h.forwardable(ctx, p, channelID); err != nil {
		return discord.Channel{}, err
	}
	data, err := json.Marshal(wire.ActData{Thread: &t})
	if err != nil {
		return discord.Channel{}, err
	}
	res, err := h.forward(ctx, p, g, wire.Act{Action: action, Data: data}, channelID, messageID)
	if err != nil {
		return discord.Channel{}, err
	}
	var out discord.Channel
	if err := h.localResult(ctx, g, res, &out); err != nil {
		return discord.Channel{}, err
	}
	if local, err := h.Thread(ctx, p, out.ID); err == nil {
		return local, nil
	}
	return out, nil
}

// forwardMember forwards a moderation of a member (or, for bans, of any
// user the member server knows) in a replica guild.
func (h *Homeserver) forwardMember(ctx context.Context, p Principal, g replicaLog, action string, target snowflake.ID, data wire.ActData) error {
	var err error
	if data.Target, err = h.globalOf(ctx, target); err != nil {
		return err
	}
	return h.forwardSimple(ctx, p, g, action, 0, 0, data)
}

// forwardRole forwards giving a member a role, or taking it.
func (h *Homeserver) forwardRole(ctx context.Context, p Principal, g replicaLog, action string, target, role snowflake.ID) error {
	var data wire.ActData
	var err error
	if data.Role, err = h.globalOf(ctx, role); err != nil {
		return err
	}
	return h.forwardMember(ctx, p, g, action, target, data)
}

// forwardInvite makes an invite of a replica guild on its origin. Its code
// is answered as code@origin, the form that joins it from anywhere.
func (h *Homeserver) forwardInvite(ctx context.Context, p Principal, g replicaLog, channelID snowflake.ID, in InviteCreate) (discord.Invite, error) {
	if err := h.forwardable(ctx, p, channelID); err != nil {
		return discord.Invite{}, err
	}
	data, err := json.Marshal(wire.ActData{Invite: &wire.ActInviteData{MaxAge: in.MaxAge.ptr(), MaxUses: in.MaxUses.ptr(),
		Temporary: in.Temporary, Unique: in.Unique}})
	if err != nil {
		return discord.Invite{}, err
	}
	res, err := h.forward(ctx, p, g, wire.Act{Action: wire.ActInvite, Data: data}, channelID, 0)
	if err != nil {
		return discord.Invite{}, err
	}
	var out discord.Invite
	if err := h.localResult(ctx, g, res, &out); err != nil {
		return discord.Invite{}, err
	}
	out.Code += "@" + g.Origin
	return out, nil
}

// forwardMemberEdit forwards a member's changes (nick, roles, timeout,
// voice flags) and answers with the replica's copy of the member.
func (h *Homeserver) forwardMemberEdit(ctx context.Context, p Principal, g replicaLog, target snowflake.ID, up MemberUpdate) (discord.Member, error) {
	if up.AddRole != 0 || up.RemoveRole != 0 {
		role := up.AddRole
		action := wire.ActRoleAdd
		if role == 0 {
			role, action = up.RemoveRole, wire.ActRoleRemove
		}
		if err := h.forwardRole(ctx, p, g, action, target, role); err != nil {
			return discord.Member{}, err
		}
		return h.Member(ctx, p, g.ID, target)
	}
	m := wire.ActMember{Nick: up.Nick.ptr(), Mute: up.Mute.ptr(), Deaf: up.Deaf.ptr()}
	if up.Roles.Set {
		roles := []string{}
		for _, id := range up.Roles.Value {
			gid, err := h.globalOf(ctx, id)
			if err != nil {
				return discord.Member{}, err
			}
			roles = append(roles, gid)
		}
		m.Roles = &roles
	}
	if up.CommunicationDisabledUntil.Set {
		at := ""
		if !up.CommunicationDisabledUntil.Value.IsZero() {
			at = up.CommunicationDisabledUntil.Value.UTC().Format(time.RFC3339Nano)
		}
		m.Timeout = &at
	}
	if err := h.forwardMember(ctx, p, g, wire.ActMemberEdit, target, wire.ActData{Member: &m}); err != nil {
		return discord.Member{}, err
	}
	return h.Member(ctx, p, g.ID, target)
}

// forwardRoleFields creates, changes or deletes a role of a replica guild
// through its origin, answering with the role (localized).
func (h *Homeserver) forwardRoleFields(ctx context.Context, p Principal, g replicaLog, action string, roleID snowflake.ID, f RoleFields) (discord.Role, error) {
	r := wire.ActRole{Name: f.Name.ptr(), Color: f.Color.ptr(), Hoist: f.Hoist.ptr(), Mentionable: f.Mentionable.ptr(),
		UnicodeEmoji: f.UnicodeEmoji.ptr(), Icon: f.Icon.ptr()}
	if f.Permissions.Set {
		s := f.Permissions.Value.String()
		r.Permissions = &s
	}
	data := wire.ActData{RoleFields: &r}
	var err error
	if data.Role, err = h.globalOf(ctx, roleID); err != nil {
		return discord.Role{}, err
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return discord.Role{}, err
	}
	res, err := h.forward(ctx, p, g, wire.Act{Action: action, Data: raw}, 0, 0)
	if err != nil {
		return discord.Role{}, err
	}
	var out discord.Role
	err = h.localResult(ctx, g, res, &out)
	return out, err
}

// forwardChannelFields creates, changes or deletes a channel of a replica
// guild through its origin, answering with the replica's copy.
func (h *Homeserver) forwardChannelFields(ctx context.Context, p Principal, g replicaLog, action string, channelID snowflake.ID, f ChannelFields) (discord.Channel, error) {
	c := wire.ActChannel{Name: f.Name.ptr(), Type: f.Type.ptr(), Topic: f.Topic.ptr(), Position: f.Position.ptr(),
		NSFW: f.NSFW.ptr(), RateLimitPerUser: f.RateLimitPerUser.ptr(), Bitrate: f.Bitrate.ptr(), UserLimit: f.UserLimit.ptr()}
	if f.ParentID.Set {
		parent, err := h.globalOf(ctx, f.ParentID.Value)
		if err != nil {
			return discord.Channel{}, err
		}
		c.Parent = &parent
	}
	if f.Overwrites.Set {
		ows := []wire.ActOverwrite{}
		for _, o := range f.Overwrites.Value {
			id, err := h.globalOf(ctx, o.TargetID)
			if err != nil {
				return discord.Channel{}, err
			}
			ows = append(ows, wire.ActOverwrite{ID: id, Type: o.Type, Allow: o.Allow, Deny: o.Deny})
		}
		c.Overwrites = &ows
	}
	raw, err := json.Marshal(wire.ActData{ChannelFields: &c})
	if err != nil {
		return discord.Channel{}, err
	}
	res, err := h.forward(ctx, p, g, wire.Act{Action: action, Data: raw}, channelID, 0)
	if err != nil {
		return discord.Channel{}, err
	}
	var out discord.Channel
	if err := h.localResult(ctx, g, res, &out); err != nil {
		return discord.Channel{}, err
	}
	if action != wire.ActChanDelete {
		if local, err := h.Channel(ctx, p, out.ID); err == nil {
			return local, nil
		}
	}
	return out, nil
}

// forwardOverwrites sets or removes one permission overwrite of a replica
// channel as a channel.edit of its whole list, computed from the replica.
func (h *Homeserver) forwardOverwrites(ctx context.Context, p Principal, g replicaLog, channelID snowflake.ID, change func([]Overwrite) []Overwrite) error {
	c, err := h.hot.ChannelByID(ctx, channelID)
	if err != nil {
		return fmt.Errorf("channel %d: %w", channelID, ErrUnknownChannel)
	}
	ows := change(slices.Clone(c.Overwrites))
	_, err = h.forwardChannelFields(ctx, p, g, wire.ActChanEdit, channelID, ChannelFields{Overwrites: Optional[[]Overwrite]{Set: true, Value: ows}})
	return err
}

// forwardEmoji creates, renames or deletes a custom emoji of a replica
// guild through its origin.
func (h *Homeserver) forwardEmoji(ctx context.Context, p Principal, g replicaLog, action string, emojiID snowflake.ID, data wire.ActData) (discord.Emoji, error) {
	var err error
	if data.EmojiID, err = h.globalOf(ctx, emojiID); err != nil {
		return discord.Emoji{}, err
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return discord.Emoji{}, err
	}
	res, err := h.forward(ctx, p, g, wire.Act{Action: action, Data: raw}, 0, 0)
	if err != nil {
		return discord.Emoji{}, err
	}
	var out discord.Emoji
	err = h.localResult(ctx, g, res, &out)
	return out, err
}

// forwardGuildEdit changes a replica guild's settings through its origin
// and answers with the replica's copy.
func (h *Homeserver) forwardGuildEdit(ctx context.Context, p Principal, g replicaLog, up GuildUpdate) (discord.Guild, error) {
	gf := wire.ActGuild{Name: up.Name.ptr(), Icon: up.Icon.ptr(), Description: up.Description.ptr(),
		VerificationLevel: up.VerificationLevel.ptr(), Public: up.Public.ptr()}
	for _, f := range []struct {
		o  Optional[snowflake.ID]
		to **string
	}{{up.SystemChannelID, &gf.SystemChannel}, {up.OwnerID, &gf.Owner}} {
		if f.o.Set {
			gid, err := h.globalOf(ctx, f.o.Value)
			if err != nil {
				return discord.Guild{}, err
			}
			*f.to = &gid
		}
	}
	raw, err := json.Marshal(wire.ActData{GuildFields: &gf})
	if err != nil {
		return discord.Guild{}, err
	}
	if _, err := h.forward(ctx, p, g, wire.Act{Action: wire.ActGuildEdit, Data: raw}, 0, 0); err != nil {
		return discord.Guild{}, err
	}
	return h.Guild(ctx, p, g.ID, GuildOptions{})
}

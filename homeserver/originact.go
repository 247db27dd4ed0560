package homeserver

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"hearth/homeserver/acts"
	"hearth/homeserver/wire"
	"hearth/snowflake"
	"hearth/storage"
)

// The origin's handlers of acts (spec/federation.md §7.3): package acts
// checks an act's ID and deadline, answers repeats from their receipts and
// resolves who acts and where; each action's handler here decodes its data
// and calls the domain's exported write, as a local client's request
// would.

// actCall is an act resolved against this server.
type actCall = acts.Call[Principal]

// guildOfAct is the act's guild, for the actions that need one.
func guildOfAct(c *actCall) (snowflake.ID, error) {
	if c.Guild.ID == 0 {
		return 0, fmt.Errorf("%s: %w", c.Action, ErrUnknownGuild)
	}
	return c.Guild.ID, nil
}

// actTable is the table of actions a peer may ask for (spec §7.2), made
// once for h and never written.
func (h *Homeserver) actTable() map[string]acts.Handler[Principal] {
	return map[string]acts.Handler[Principal]{
		wire.ActSend:        h.actSend,
		wire.ActEdit:        h.actEdit,
		wire.ActDelete:      h.actDelete,
		wire.ActReact:       h.actReact,
		wire.ActUnreact:     h.actUnreact,
		wire.ActClear:       h.actClear,
		wire.ActBulkDelete:  h.actBulkDelete,
		wire.ActPin:         h.actPin,
		wire.ActUnpin:       h.actUnpin,
		wire.ActThread:      h.actThreadCreate,
		wire.ActThreadEdit:  h.actThreadEdit,
		wire.ActThreadJoin:  h.actThreadJoin,
		wire.ActThreadLeave: h.actThreadLeave,
		wire.ActThreadDrop:  h.actThreadDelete,
		wire.ActTyping:      h.actTyping,
		wire.ActInvite:      h.actInvite,
		wire.ActKick:        h.actKick,
		wire.ActBan:         h.actBan,
		wire.ActUnban:       h.actUnban,
		wire.ActRoleAdd:     h.actRoleAdd,
		wire.ActRoleRemove:  h.actRoleRemove,
		wire.ActMemberEdit:  h.actMemberEdit,
		wire.ActRoleCreate:  h.actRoleCreate,
		wire.ActRoleEdit:    h.actRoleEdit,
		wire.ActRoleDelete:  h.actRoleDelete,
		wire.ActChanCreate:  h.actChannelCreate,
		wire.ActChanEdit:    h.actChannelEdit,
		wire.ActChanDelete:  h.actChannelDelete,
		wire.ActEmojiCreate: h.actEmojiCreate,
		wire.ActEmojiEdit:   h.actEmojiEdit,
		wire.ActEmojiDelete: h.actEmojiDelete,
		wire.ActGuildEdit:   h.actGuildEdit,
		wire.ActChanOrder:   h.actChannelReorder,
		wire.ActRoleOrder:   h.actRoleReorder,
		wire.ActLeave:       h.actLeave,
		wire.ActInteract:    h.actInteraction,
	}
}

// actRunner runs peers' acts on h with its table.
func (h *Homeserver) actRunner() acts.Runner[Principal] {
	return acts.Runner[Principal]{Store: h.store, Hot: h.hot, Table: h.acts, Domain: actDomain{h}, Log: h.log,
		Refusals: acts.Refusals{Invalid: Invalid, Unavailable: storeErr, UnknownChannel: ErrUnknownChannel,
			UnknownMessage: ErrUnknownMessage, TooLarge: ErrTooLarge, Busy: ErrUnavailable, Late: ErrUnavailable}}
}

// PeerAct does what peer asks for one of its users, with the same checks
// as for a local user, and answers with the result and the log position it
// is at. An act is carried out at most once: a repeat of its ID is
// answered from its receipt, and an act is refused after its deadline.
func (h *Homeserver) PeerAct(ctx context.Context, peer string, act wire.Act) (wire.ActResult, error) {
	return h.actRunner().Act(ctx, peer, act)
}

// PruneActReceipts forgets the receipts of acts whose deadline is well
// past; a repeat of one of them is refused as expired.
func (h *Homeserver) PruneActReceipts(ctx context.Context) (int64, error) {
	return h.actRunner().Prune(ctx)
}

// actDomain is what running an act asks of h.
type actDomain struct{ h *Homeserver }

func (d actDomain) Now() time.Time { return d.h.now() }

func (d actDomain) Actor(ctx context.Context, peer string, act wire.Act) (Principal, error) {
	if act.From != nil && act.From.ID == act.User {
		if err := d.h.refreshPeerUser(ctx, peer, *act.From); err != nil {
			return Principal{}, err
		}
	}
	return d.h.actor(ctx, peer, act.User)
}

func (d actDomain) Lookup(ctx context.Context, gid string, notFound error) (snowflake.ID, error) {
	return d.h.lookupGlobal(ctx, gid, notFound)
}

func (d actDomain) OriginGuild(ctx context.Context, gid string) (storage.Guild, error) {
	return d.h.originGuild(ctx, gid)
}

func (d actDomain) Mentions(ctx context.Context, content string) string {
	return d.h.localMentions(ctx, content)
}

func (d actDomain) WithAct(ctx context.Context, id string) context.Context { return withAct(ctx, id) }

func (d actDomain) Global(ctx context.Context, v any) (json.RawMessage, error) {
	return d.h.globalJSON(ctx, d.h.store, v)
}

// actSend posts a message. A send with a nonce is deduplicated for its
// author whatever enforce_nonce says: a member server's client retries
// after an ambiguous failure (the act's answer lost) with the same nonce,
// and must not post twice.
func (h *Homeserver) actSend(ctx context.Context, c *actCall) (any, error) {
	d := c.Data
	in := MessageCreate{Nonce: d.Nonce, EnforceNonce: d.EnforceNonce || d.Nonce != "", TTS: d.TTS, Embeds: d.Embeds,
		FailIfNotExists: d.FailIfNotExists}
	if d.Content != nil {
		in.Content = *d.Content
	}
	if d.Flags != nil {
		in.Flags = *d.Flags
	}
	var err error
	if in.ReplyTo, err = h.lookupGlobal(ctx, d.ReplyTo, ErrUnknownMessage); err != nil {
		return nil, err
	}
	if in.Files, err = h.borrowUploads(ctx, c.Peer, c.Actor, c.Channel, d.Files); err != nil {
		return nil, err
	}
	return h.SendMessage(ctx, c.Actor, c.Channel, in)
}

func (h *Homeserver) actEdit(ctx context.Context, c *actCall) (any, error) {
	var e MessageEdit
	if c.Data.Content != nil {
		e.Content = Optional[string]{Set: true, Value: *c.Data.Content}
	}
	if c.Data.EmbedsSet {
		e.Embeds = Optional[[]json.RawMessage]{Set: true, Value: c.Data.Embeds}
	}
	if c.Data.Flags != nil {
		e.Flags = Optional[int]{Set: true, Value: *c.Data.Flags}
	}
	return h.EditMessage(ctx, c.Actor, c.Channel, c.Message, e)
}

func (h *Homeserver) actDelete(ctx context.Context, c *actCall) (any, error) {
	return nil, h.DeleteMessage(ctx, c.Actor, c.Channel, c.Message)
}

// reactionArgs reads a reaction action's emoji and target.
func (h *Homeserver) reactionArgs(ctx context.Context, c *actCall) (emoji string, target snowflake.ID, err error) {
	if c.Data.Emoji != "" {
		if emoji, err = h.emojiFromWire(ctx, c.Data.Emoji); err != nil {
			return "", 0, err
		}
	}
	target, err = h.targetOf(ctx, c.Actor, c.Data.Target)
	return emoji, target, err
}

func (h *Homeserver) actReact(ctx context.Context, c *actCall) (any, error) {
	emoji, _, err := h.reactionArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return nil, h.React(ctx, c.Actor, c.Channel, c.Message, emoji)
}

func (h *Homeserver) actUnreact(ctx context.Context, c *actCall) (any, error) {
	emoji, target, err := h.reactionArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return nil, h.Unreact(ctx, c.Actor, c.Channel, c.Message, emoji, target)
}

func (h *Homeserver) actClear(ctx context.Context, c *actCall) (any, error) {
	emoji, _, err := h.reactionArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return nil, h.ClearReactions(ctx, c.Actor, c.Channel, c.Message, emoji)
}

func (h *Homeserver) actBulkDelete(ctx context.Context, c *actCall) (any, error) {
	ids := make([]snowflake.ID, 0, len(c.Data.Messages))
	for _, gid := range c.Data.Messages {
		id, err := h.lookupGlobal(ctx, gid, ErrUnknownMessage)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return nil, h.BulkDelete(ctx, c.Actor, c.Channel, ids)
}

func (h *Homeserver) actPin(ctx context.Context, c *actCall) (any, error) {
	return nil, h.Pin(ctx, c.Actor, c.Channel, c.Message)
}

func (h *Homeserver) actUnpin(ctx context.Context, c *actCall) (any, error) {
	return nil, h.Unpin(ctx, c.Actor, c.Channel, c.Message)
}

// threadFields is a thread action's fields; absent ones are left alone.
func threadFields(c *actCall) wire.ActThreadData {
	if c.Data.Thread != nil {
		return *c.Data.Thread
	}
	return wire.ActThreadData{}
}

func (h *Homeserver) actThreadCreate(ctx context.Context, c *actCall) (any, error) {
	t := threadFields(c)
	return h.StartThread(ctx, c.Actor, c.Channel, c.Message, ThreadCreate{Type: t.Type, Invitable: opt(t.Invitable),
		Name: opt(t.Name).Value, AutoArchive: opt(t.AutoArchive).Value, RateLimitPerUser: opt(t.RateLimitPerUser).Value})
}

func (h *Homeserver) actThreadEdit(ctx context.Context, c *actCall) (any, error) {
	t := threadFields(c)
	return h.UpdateThread(ctx, c.Actor, c.Channel, ThreadUpdate{Name: opt(t.Name), Archived: opt(t.Archived),
		Locked: opt(t.Locked), AutoArchive: opt(t.AutoArchive), Invitable: opt(t.Invitable), RateLimitPerUser: opt(t.RateLimitPerUser)})
}

func (h *Homeserver) actThreadJoin(ctx context.Context, c *actCall) (any, error) {
	target, err := h.targetOf(ctx, c.Actor, c.Data.Target)
	if err != nil {
		return nil, err
	}
	return nil, h.JoinThread(ctx, c.Actor, c.Channel, target)
}

func (h *Homeserver) actThreadLeave(ctx context.Context, c *actCall) (any, error) {
	target, err := h.targetOf(ctx, c.Actor, c.Data.Target)
	if err != nil {
		return nil, err
	}
	return nil, h.LeaveThread(ctx, c.Actor, c.Channel, target)
}

func (h *Homeserver) actThreadDelete(ctx context.Context, c *actCall) (any, error) {
	return h.DeleteThread(ctx, c.Actor, c.Channel)
}

func (h *Homeserver) actTyping(ctx context.Context, c *actCall) (any, error) {
	return nil, h.Typing(ctx, c.Actor, c.Channel)
}

func (h *Homeserver) actInvite(ctx context.Context, c *actCall) (any, error) {
	in := InviteCreate{}
	if i := c.Data.Invite; i != nil {
		in = InviteCreate{MaxAge: opt(i.MaxAge), MaxUses: opt(i.MaxUses), Temporary: i.Temporary, Unique: i.Unique}
	}
	return h.CreateInvite(ctx, c.Actor, c.Channel, in)
}

// memberArgs reads a moderation's guild, target member and role (0 when
// none is named).
func (h *Homeserver) memberArgs(ctx context.Context, c *actCall) (guild, target, role snowflake.ID, err error) {
	if guild, err = guildOfAct(c); err != nil {
		return 0, 0, 0, err
	}
	if target, err = h.lookupGlobal(ctx, c.Data.Target, ErrUnknownUser); err != nil {
		return 0, 0, 0, err
	}
	if role, err = h.lookupGlobal(ctx, c.Data.Role, ErrUnknownRole); err != nil {
		return 0, 0, 0, err
	}
	return guild, target, role, nil
}

func (h *Homeserver) actKick(ctx context.Context, c *actCall) (any, error) {
	g, target, _, err := h.memberArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return nil, h.Kick(ctx, c.Actor, g, target)
}

func (h *Homeserver) actBan(ctx context.Context, c *actCall) (any, error) {
	g, target, _, err := h.memberArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return nil, h.Ban(ctx, c.Actor, g, target, BanOptions{DeleteMessageSeconds: c.Data.DeleteMessageSeconds})
}

func (h *Homeserver) actUnban(ctx context.Context, c *actCall) (any, error) {
	g, target, _, err := h.memberArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return nil, h.Unban(ctx, c.Actor, g, target)
}

func (h *Homeserver) actRoleAdd(ctx context.Context, c *actCall) (any, error) {
	g, target, role, err := h.memberArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return nil, h.AddMemberRole(ctx, c.Actor, g, target, role)
}

func (h *Homeserver) actRoleRemove(ctx context.Context, c *actCall) (any, error) {
	g, target, role, err := h.memberArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return nil, h.RemoveMemberRole(ctx, c.Actor, g, target, role)
}

func (h *Homeserver) actMemberEdit(ctx context.Context, c *actCall) (any, error) {
	if c.Guild.ID == 0 || c.Data.Member == nil {
		return nil, fmt.Errorf("%s: %w", c.Action, ErrUnknownGuild)
	}
	target, err := h.lookupGlobal(ctx, c.Data.Target, ErrUnknownUser)
	if err != nil {
		return nil, err
	}
	m := c.Data.Member
	up := MemberUpdate{Nick: opt(m.Nick), Mute: opt(m.Mute), Deaf: opt(m.Deaf)}
	if m.Roles != nil {
		up.Roles.Set = true
		for _, gid := range *m.Roles {
			id, err := h.lookupGlobal(ctx, gid, ErrUnknownRole)
			if err != nil {
				return nil, err
			}
			up.Roles.Value = append(up.Roles.Value, id)
		}
	}
	if m.Timeout != nil {
		up.CommunicationDisabledUntil.Set = true
		if *m.Timeout != "" {
			at, err := time.Parse(time.RFC3339Nano, *m.Timeout)
			if err != nil {
				return nil, Invalid("communication_disabled_until", "DATE_TYPE_PARSE", "Not an ISO8601 timestamp.")
			}
			up.CommunicationDisabledUntil.Value = at
		}
	}
	return h.UpdateMember(ctx, c.Actor, c.Guild.ID, target, up)
}

// roleArgs reads a role action's guild, role (0 when none is named) and
// fields.
func (h *Homeserver) roleArgs(ctx context.Context, c *actCall) (guild, role snowflake.ID, f RoleFields, err error) {
	if guild, err = guildOfAct(c); err != nil {
		return 0, 0, f, err
	}
	if role, err = h.lookupGlobal(ctx, c.Data.Role, ErrUnknownRole); err != nil {
		return 0, 0, f, err
	}
	f, err = roleFieldsFromWire(c.Data.RoleFields)
	return guild, role, f, err
}

func (h *Homeserver) actRoleCreate(ctx context.Context, c *actCall) (any, error) {
	g, _, f, err := h.roleArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return h.CreateRole(ctx, c.Actor, g, f)
}

func (h *Homeserver) actRoleEdit(ctx context.Context, c *actCall) (any, error) {
	g, role, f, err := h.roleArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return h.UpdateRole(ctx, c.Actor, g, role, f)
}

func (h *Homeserver) actRoleDelete(ctx context.Context, c *actCall) (any, error) {
	g, role, _, err := h.roleArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return nil, h.DeleteRole(ctx, c.Actor, g, role)
}

// channelArgs reads a channel action's guild and fields.
func (h *Homeserver) channelArgs(ctx context.Context, c *actCall) (snowflake.ID, ChannelFields, error) {
	g, err := guildOfAct(c)
	if err != nil {
		return 0, ChannelFields{}, err
	}
	f, err := h.channelFieldsFromWire(ctx, c.Data.ChannelFields)
	return g, f, err
}

func (h *Homeserver) actChannelCreate(ctx context.Context, c *actCall) (any, error) {
	g, f, err := h.channelArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return h.CreateChannel(ctx, c.Actor, g, f)
}

func (h *Homeserver) actChannelEdit(ctx context.Context, c *actCall) (any, error) {
	_, f, err := h.channelArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return h.UpdateChannel(ctx, c.Actor, c.Channel, f)
}

func (h *Homeserver) actChannelDelete(ctx context.Context, c *actCall) (any, error) {
	if _, _, err := h.channelArgs(ctx, c); err != nil {
		return nil, err
	}
	return h.DeleteChannel(ctx, c.Actor, c.Channel)
}

// emojiArgs reads an emoji action's guild and emoji (0 when none is
// named).
func (h *Homeserver) emojiArgs(ctx context.Context, c *actCall) (guild, emoji snowflake.ID, err error) {
	if guild, err = guildOfAct(c); err != nil {
		return 0, 0, err
	}
	emoji, err = h.lookupGlobal(ctx, c.Data.EmojiID, ErrUnknownEmoji)
	return guild, emoji, err
}

func (h *Homeserver) actEmojiCreate(ctx context.Context, c *actCall) (any, error) {
	g, _, err := h.emojiArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return h.CreateEmoji(ctx, c.Actor, g, c.Data.EmojiName, c.Data.EmojiImage, nil)
}

func (h *Homeserver) actEmojiEdit(ctx context.Context, c *actCall) (any, error) {
	g, emoji, err := h.emojiArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return h.RenameEmoji(ctx, c.Actor, g, emoji, c.Data.EmojiName)
}

func (h *Homeserver) actEmojiDelete(ctx context.Context, c *actCall) (any, error) {
	g, emoji, err := h.emojiArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return nil, h.DeleteEmoji(ctx, c.Actor, g, emoji)
}

func (h *Homeserver) actGuildEdit(ctx context.Context, c *actCall) (any, error) {
	gf := c.Data.GuildFields
	if c.Guild.ID == 0 || gf == nil {
		return nil, fmt.Errorf("%s: %w", c.Action, ErrUnknownGuild)
	}
	up := GuildUpdate{Name: opt(gf.Name), Icon: opt(gf.Icon), Description: opt(gf.Description),
		VerificationLevel: opt(gf.VerificationLevel), Public: opt(gf.Public)}
	var err error
	if gf.SystemChannel != nil {
		up.SystemChannelID.Set = true
		if up.SystemChannelID.Value, err = h.lookupGlobal(ctx, *gf.SystemChannel, ErrUnknownChannel); err != nil {
			return nil, err
		}
	}
	if gf.Owner != nil {
		up.OwnerID.Set = true
		if up.OwnerID.Value, err = h.lookupGlobal(ctx, *gf.Owner, ErrUnknownUser); err != nil {
			return nil, err
		}
	}
	return h.UpdateGuild(ctx, c.Actor, c.Guild.ID, up)
}

func (h *Homeserver) actChannelReorder(ctx context.Context, c *actCall) (any, error) {
	g, err := guildOfAct(c)
	if err != nil {
		return nil, err
	}
	var moves []ChannelPosition
	for _, m := range c.Data.Positions {
		id, err := h.lookupGlobal(ctx, m.ID, ErrNotFound)
		if err != nil {
			return nil, err
		}
		cp := ChannelPosition{ID: id, Position: opt(m.Position), LockPermissions: m.LockPermissions}
		if m.Parent != nil {
			cp.ParentID.Set = true
			if cp.ParentID.Value, err = h.lookupGlobal(ctx, *m.Parent, ErrUnknownChannel); err != nil {
				return nil, err
			}
		}
		moves = append(moves, cp)
	}
	return nil, h.ReorderChannels(ctx, c.Actor, g, moves)
}

func (h *Homeserver) actRoleReorder(ctx context.Context, c *actCall) (any, error) {
	g, err := guildOfAct(c)
	if err != nil {
		return nil, err
	}
	var moves []RolePosition
	for _, m := range c.Data.Positions {
		id, err := h.lookupGlobal(ctx, m.ID, ErrNotFound)
		if err != nil {
			return nil, err
		}
		moves = append(moves, RolePosition{ID: id, Position: opt(m.Position).Value})
	}
	return h.ReorderRoles(ctx, c.Actor, g, moves)
}

func (h *Homeserver) actLeave(ctx context.Context, c *actCall) (any, error) {
	if c.Guild.ID == 0 {
		return nil, fmt.Errorf("leave: %w", ErrUnknownGuild)
	}
	return nil, h.LeaveGuild(ctx, c.Actor, c.Guild.ID)
}

package homeserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hearth/homeserver/wire"
	"strconv"
	"time"

	"hearth/homeserver/globalid"
	"hearth/snowflake"
	"hearth/storage"
)

// The origin's handling of acts (spec/federation.md §7.3): an act is
// checked for its ID and deadline, answered from its receipt when it was
// accepted before, resolved against this server (who acts, in which guild
// or DM channel, on which channel and message), and handed to the small
// handler of its action, which decodes its data and calls the domain as
// for a local user.

// actReceiptKeep is how long past its deadline a receipt is kept: an act
// is refused after its deadline whether or not its receipt is there, so
// this only covers the origin's own clock stepping back.
const actReceiptKeep = 10 * time.Minute

// actCall is an act resolved against this server: who acts, in which log,
// on which channel and message, with which data.
type actCall struct {
	peer   string
	action string
	p      Principal
	// guild is the act's guild; zero for an act in a DM channel.
	guild   storage.Guild
	logID   snowflake.ID
	channel snowflake.ID
	message snowflake.ID
	data    wire.ActData
}

// guildID is the act's guild, for the actions that need one.
func (c *actCall) guildID() (snowflake.ID, error) {
	if c.guild.ID == 0 {
		return 0, fmt.Errorf("%s: %w", c.action, ErrUnknownGuild)
	}
	return c.guild.ID, nil
}

// actHandler carries out one action; its result (nil for none) is what
// the act is answered with.
type actHandler func(h *Homeserver, ctx context.Context, c *actCall) (any, error)

// actHandlers is the table of actions a peer may ask for (spec §7.2). It
// is fixed at compile time and never written.
var actHandlers = map[string]actHandler{
	wire.ActSend:        (*Homeserver).actSend,
	wire.ActEdit:        (*Homeserver).actEdit,
	wire.ActDelete:      (*Homeserver).actDelete,
	wire.ActReact:       (*Homeserver).actReact,
	wire.ActUnreact:     (*Homeserver).actUnreact,
	wire.ActClear:       (*Homeserver).actClear,
	wire.ActBulkDelete:  (*Homeserver).actBulkDelete,
	wire.ActPin:         (*Homeserver).actPin,
	wire.ActUnpin:       (*Homeserver).actUnpin,
	wire.ActThread:      (*Homeserver).actThreadCreate,
	wire.ActThreadEdit:  (*Homeserver).actThreadEdit,
	wire.ActThreadJoin:  (*Homeserver).actThreadJoin,
	wire.ActThreadLeave: (*Homeserver).actThreadLeave,
	wire.ActThreadDrop:  (*Homeserver).actThreadDelete,
	wire.ActTyping:      (*Homeserver).actTyping,
	wire.ActInvite:      (*Homeserver).actInvite,
	wire.ActKick:        (*Homeserver).actKick,
	wire.ActBan:         (*Homeserver).actBan,
	wire.ActUnban:       (*Homeserver).actUnban,
	wire.ActRoleAdd:     (*Homeserver).actRoleAdd,
	wire.ActRoleRemove:  (*Homeserver).actRoleRemove,
	wire.ActMemberEdit:  (*Homeserver).actMemberEdit,
	wire.ActRoleCreate:  (*Homeserver).actRoleCreate,
	wire.ActRoleEdit:    (*Homeserver).actRoleEdit,
	wire.ActRoleDelete:  (*Homeserver).actRoleDelete,
	wire.ActChanCreate:  (*Homeserver).actChannelCreate,
	wire.ActChanEdit:    (*Homeserver).actChannelEdit,
	wire.ActChanDelete:  (*Homeserver).actChannelDelete,
	wire.ActEmojiCreate: (*Homeserver).actEmojiCreate,
	wire.ActEmojiEdit:   (*Homeserver).actEmojiEdit,
	wire.ActEmojiDelete: (*Homeserver).actEmojiDelete,
	wire.ActGuildEdit:   (*Homeserver).actGuildEdit,
	wire.ActChanOrder:   (*Homeserver).actChannelReorder,
	wire.ActRoleOrder:   (*Homeserver).actRoleReorder,
	wire.ActLeave:       (*Homeserver).actLeave,
	wire.ActInteract:    (*Homeserver).actInteraction,
}

// PeerAct does what peer asks for one of its users, with the same checks
// as for a local user, and answers with the result and the log position it
// is at. An act is carried out at most once: a repeat of its ID is
// answered from its receipt, and an act is refused after its deadline.
func (h *Homeserver) PeerAct(ctx context.Context, peer string, act wire.Act) (wire.ActResult, error) {
	deadline, err := h.checkActID(peer, act)
	if err != nil {
		return wire.ActResult{}, err
	}
	handler, ok := actHandlers[act.Action]
	if !ok {
		return wire.ActResult{}, Invalid("action", "BASE_TYPE_CHOICES", "Unknown action.")
	}
	digest, err := wire.ActDigest(act)
	if err != nil {
		return wire.ActResult{}, err
	}
	if res, found, err := h.repeatedAct(ctx, peer, act.ID, digest); found || err != nil {
		return res, err
	}
	if !h.now().Before(deadline) {
		return wire.ActResult{}, fmt.Errorf("act %s: deadline %s: %w", act.ID, act.Deadline, wire.ErrExpired)
	}
	c, err := h.resolveAct(ctx, peer, act)
	if err != nil {
		return wire.ActResult{}, err
	}
	// Typing leaves no receipt: it is in no log and showing it twice is
	// harmless, and a peer must not make this server keep a row per
	// keystroke.
	record := act.Action != wire.ActTyping
	if record {
		if res, claimed, err := h.claimAct(ctx, storage.ActReceipt{ID: act.ID, Peer: peer, LogID: c.logID, Digest: digest, Deadline: deadline}); !claimed {
			return res, err
		}
	}
	// Carried out under the deadline: past it, the work stops, and the
	// log writer does not start a write whose caller's deadline is past.
	real := h.realDeadline(deadline)
	dctx, cancel := context.WithDeadline(withAct(ctx, act.ID), real)
	result, err := handler(h, dctx, c)
	// By the clock, not dctx.Err(): a transaction bound by the same
	// deadline on another timer may fail before dctx's timer fires.
	expired := !time.Now().Before(real) && ctx.Err() == nil
	cancel()
	// What follows concerns an act that is done (or refused) and must be
	// recorded whether or not the peer is still waiting.
	bg, cancelBG := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancelBG()
	if err != nil {
		if record {
			if derr := h.store.Update(bg, func(tx storage.Tx) error { return tx.DeleteActReceipt(bg, act.ID) }); derr != nil {
				h.log.Warn("act refused, but its receipt stays until pruned", "act", act.ID, "err", derr)
			}
		}
		if expired && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrUnavailable)) {
			return wire.ActResult{}, fmt.Errorf("act %s: not done by %s (%v): %w", act.ID, act.Deadline, err, wire.ErrExpired)
		}
		return wire.ActResult{}, err
	}
	out, err := h.actAnswer(bg, c.logID, result)
	if err != nil {
		return wire.ActResult{}, err
	}
	if record {
		err := h.store.Update(bg, func(tx storage.Tx) error { return tx.CompleteActReceipt(bg, act.ID, out.Seq, out.Result) })
		if err != nil {
			// Done, so answered as done; a repeat meanwhile gets the log
			// head, as for an act still being carried out.
			h.log.Warn("act done, but its answer was not recorded", "act", act.ID, "err", err)
		}
	}
	return out, nil
}

// claimAct records the receipt of an act about to be carried out. A copy
// of the act that arrived meanwhile and claimed it first wins: this one is
// then answered as a repeat (claimed false, with res and err its answer).
// A copy refused meanwhile has left no receipt, and the claim is tried
// again.
func (h *Homeserver) claimAct(ctx context.Context, rc storage.ActReceipt) (res wire.ActResult, claimed bool, err error) {
	for range 3 {
		err := h.store.Update(ctx, func(tx storage.Tx) error { return tx.ClaimActReceipt(ctx, rc) })
		if err == nil {
			return wire.ActResult{}, true, nil
		}
		if !errors.Is(err, storage.ErrConflict) {
			return wire.ActResult{}, false, storeErr("act", err)
		}
		res, found, err := h.repeatedAct(ctx, rc.Peer, rc.ID, rc.Digest)
		if found || err != nil {
			return res, false, err
		}
	}
	return wire.ActResult{}, false, fmt.Errorf("act %s: claimed and released over and over: %w", rc.ID, ErrUnavailable)
}

// realDeadline turns a deadline on this server's clock (which tests may
// set) into one on the process's clock, which contexts run on.
func (h *Homeserver) realDeadline(deadline time.Time) time.Time {
	return time.Now().Add(deadline.Sub(h.now()))
}

// checkActID checks an act's ID and deadline, before anything is looked
// up: the ID must be the signer's own, and the deadline not too far
// ahead (a receipt is kept until it has passed).
func (h *Homeserver) checkActID(peer string, act wire.Act) (time.Time, error) {
	if act.ID == "" {
		return time.Time{}, Invalid("id", "BASE_TYPE_REQUIRED", "This field is required")
	}
	raw, origin, ok := globalid.Parse(act.ID)
	if _, err := strconv.ParseUint(raw, 10, 64); !ok || err != nil || origin != peer {
		return time.Time{}, fmt.Errorf("%s names act %q: %w", peer, act.ID, ErrForbidden)
	}
	if act.Deadline == "" {
		return time.Time{}, Invalid("deadline", "BASE_TYPE_REQUIRED", "This field is required")
	}
	deadline, err := time.Parse(time.RFC3339Nano, act.Deadline)
	if err != nil {
		return time.Time{}, Invalid("deadline", "DATE_TYPE_PARSE", "Not an RFC 3339 timestamp.")
	}
	if deadline.After(h.now().Add(wire.ActDeadlineMax)) {
		return time.Time{}, Invalid("deadline", "DATE_TYPE_PARSE", fmt.Sprintf("More than %s ahead.", wire.ActDeadlineMax))
	}
	return deadline, nil
}

// repeatedAct answers an act whose ID has a receipt: with its recorded
// answer once it is done, with the log's head while it is being carried
// out. found is false for an act seen for the first time.
func (h *Homeserver) repeatedAct(ctx context.Context, peer, id, digest string) (res wire.ActResult, found bool, err error) {
	rc, err := h.store.ActReceipt(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return wire.ActResult{}, false, nil
	}
	if err != nil {
		return wire.ActResult{}, true, storeErr("act receipt", err)
	}
	if rc.Peer != peer || rc.Digest != digest {
		return wire.ActResult{}, true, fmt.Errorf("%s reuses act ID %s for another act: %w", peer, id, ErrForbidden)
	}
	if rc.Done {
		return wire.ActResult{Seq: rc.Seq, Result: json.RawMessage(rc.Result)}, true, nil
	}
	head, err := h.store.LogHead(ctx, rc.LogID)
	if err != nil {
		return wire.ActResult{}, true, storeErr("act receipt", err)
	}
	return wire.ActResult{Seq: head, Result: json.RawMessage("null")}, true, nil
}

// actAnswer is the answer to an act: the log's head after it, and its
// result in global IDs.
func (h *Homeserver) actAnswer(ctx context.Context, logID snowflake.ID, result any) (wire.ActResult, error) {
	head, err := h.store.LogHead(ctx, logID)
	if err != nil {
		return wire.ActResult{}, storeErr("act", err)
	}
	out := wire.ActResult{Seq: head, Result: json.RawMessage("null")}
	if result != nil {
		if out.Result, err = h.globalJSON(ctx, h.store, result); err != nil {
			return wire.ActResult{}, storeErr("act", err)
		}
	}
	return out, nil
}

// PruneActReceipts forgets the receipts of acts whose deadline is well
// past; a repeat of one of them is refused as expired.
func (h *Homeserver) PruneActReceipts(ctx context.Context) (int64, error) {
	var n int64
	err := h.store.Update(ctx, func(tx storage.Tx) error {
		var err error
		n, err = tx.PruneActReceipts(ctx, h.now().Add(-actReceiptKeep))
		return err
	})
	if err != nil {
		return 0, storeErr("prune act receipts", err)
	}
	return n, nil
}

// resolveAct checks who acts and where, and decodes the data: everything
// an action needs that does not change anything.
func (h *Homeserver) resolveAct(ctx context.Context, peer string, act wire.Act) (*actCall, error) {
	if act.From != nil && act.From.ID == act.User {
		if err := h.refreshPeerUser(ctx, peer, *act.From); err != nil {
			return nil, err
		}
	}
	p, err := h.actor(ctx, peer, act.User)
	if err != nil {
		return nil, err
	}
	c := &actCall{peer: peer, action: act.Action, p: p}
	if c.channel, err = h.lookupGlobal(ctx, act.Channel, ErrUnknownChannel); err != nil {
		return nil, err
	}
	if c.message, err = h.lookupGlobal(ctx, act.Message, ErrUnknownMessage); err != nil {
		return nil, err
	}
	// The log is the guild's, or with no guild named, a DM channel's of
	// this server.
	c.logID = c.channel
	if act.Guild != "" {
		if c.guild, err = h.originGuild(ctx, act.Guild); err != nil {
			return nil, err
		}
		c.logID = c.guild.ID
	}
	if c.channel != 0 {
		ch, err := h.hot.ChannelByID(ctx, c.channel)
		if err != nil || ch.GuildID != c.guild.ID || (c.guild.ID == 0 && ch.Origin != "") {
			return nil, fmt.Errorf("channel %s: %w", act.Channel, ErrUnknownChannel)
		}
	} else if c.guild.ID == 0 {
		return nil, fmt.Errorf("act without guild or channel: %w", ErrUnknownChannel)
	}
	if len(act.Data) > 0 {
		if len(act.Data) > wire.ActDataMaxSize {
			return nil, ErrTooLarge
		}
		if err := json.Unmarshal(act.Data, &c.data); err != nil {
			return nil, Invalid("data", "BASE_TYPE_INVALID", "Not a valid action body.")
		}
	}
	if c.data.Content != nil {
		content := h.localMentions(ctx, *c.data.Content)
		c.data.Content = &content
	}
	return c, nil
}

// actSend posts a message. A send with a nonce is deduplicated for its
// author whatever enforce_nonce says: a member server's client retries
// after an ambiguous failure (the act's answer lost) with the same nonce,
// and must not post twice.
func (h *Homeserver) actSend(ctx context.Context, c *actCall) (any, error) {
	d := c.data
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
	if in.Files, err = h.borrowUploads(ctx, c.peer, c.p, c.channel, d.Files); err != nil {
		return nil, err
	}
	return h.SendMessage(ctx, c.p, c.channel, in)
}

func (h *Homeserver) actEdit(ctx context.Context, c *actCall) (any, error) {
	var e MessageEdit
	if c.data.Content != nil {
		e.Content = Optional[string]{Set: true, Value: *c.data.Content}
	}
	if c.data.EmbedsSet {
		e.Embeds = Optional[[]json.RawMessage]{Set: true, Value: c.data.Embeds}
	}
	if c.data.Flags != nil {
		e.Flags = Optional[int]{Set: true, Value: *c.data.Flags}
	}
	return h.EditMessage(ctx, c.p, c.channel, c.message, e)
}

func (h *Homeserver) actDelete(ctx context.Context, c *actCall) (any, error) {
	return nil, h.DeleteMessage(ctx, c.p, c.channel, c.message)
}

// reactionArgs reads a reaction action's emoji and target.
func (h *Homeserver) reactionArgs(ctx context.Context, c *actCall) (emoji string, target snowflake.ID, err error) {
	if c.data.Emoji != "" {
		if emoji, err = h.emojiFromWire(ctx, c.data.Emoji); err != nil {
			return "", 0, err
		}
	}
	target, err = h.targetOf(ctx, c.p, c.data.Target)
	return emoji, target, err
}

func (h *Homeserver) actReact(ctx context.Context, c *actCall) (any, error) {
	emoji, _, err := h.reactionArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return nil, h.React(ctx, c.p, c.channel, c.message, emoji)
}

func (h *Homeserver) actUnreact(ctx context.Context, c *actCall) (any, error) {
	emoji, target, err := h.reactionArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return nil, h.Unreact(ctx, c.p, c.channel, c.message, emoji, target)
}

func (h *Homeserver) actClear(ctx context.Context, c *actCall) (any, error) {
	emoji, _, err := h.reactionArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return nil, h.ClearReactions(ctx, c.p, c.channel, c.message, emoji)
}

func (h *Homeserver) actBulkDelete(ctx context.Context, c *actCall) (any, error) {
	ids := make([]snowflake.ID, 0, len(c.data.Messages))
	for _, gid := range c.data.Messages {
		id, err := h.lookupGlobal(ctx, gid, ErrUnknownMessage)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return nil, h.BulkDelete(ctx, c.p, c.channel, ids)
}

func (h *Homeserver) actPin(ctx context.Context, c *actCall) (any, error) {
	return nil, h.Pin(ctx, c.p, c.channel, c.message)
}

func (h *Homeserver) actUnpin(ctx context.Context, c *actCall) (any, error) {
	return nil, h.Unpin(ctx, c.p, c.channel, c.message)
}

// threadFields is a thread action's fields; absent ones are left alone.
func (c *actCall) threadFields() wire.ActThreadData {
	if c.data.Thread != nil {
		return *c.data.Thread
	}
	return wire.ActThreadData{}
}

func (h *Homeserver) actThreadCreate(ctx context.Context, c *actCall) (any, error) {
	t := c.threadFields()
	return h.StartThread(ctx, c.p, c.channel, c.message, ThreadCreate{Type: t.Type, Invitable: opt(t.Invitable),
		Name: opt(t.Name).Value, AutoArchive: opt(t.AutoArchive).Value, RateLimitPerUser: opt(t.RateLimitPerUser).Value})
}

func (h *Homeserver) actThreadEdit(ctx context.Context, c *actCall) (any, error) {
	t := c.threadFields()
	return h.UpdateThread(ctx, c.p, c.channel, ThreadUpdate{Name: opt(t.Name), Archived: opt(t.Archived),
		Locked: opt(t.Locked), AutoArchive: opt(t.AutoArchive), Invitable: opt(t.Invitable), RateLimitPerUser: opt(t.RateLimitPerUser)})
}

func (h *Homeserver) actThreadJoin(ctx context.Context, c *actCall) (any, error) {
	target, err := h.targetOf(ctx, c.p, c.data.Target)
	if err != nil {
		return nil, err
	}
	return nil, h.JoinThread(ctx, c.p, c.channel, target)
}

func (h *Homeserver) actThreadLeave(ctx context.Context, c *actCall) (any, error) {
	target, err := h.targetOf(ctx, c.p, c.data.Target)
	if err != nil {
		return nil, err
	}
	return nil, h.LeaveThread(ctx, c.p, c.channel, target)
}

func (h *Homeserver) actThreadDelete(ctx context.Context, c *actCall) (any, error) {
	return h.DeleteThread(ctx, c.p, c.channel)
}

func (h *Homeserver) actTyping(ctx context.Context, c *actCall) (any, error) {
	return nil, h.Typing(ctx, c.p, c.channel)
}

func (h *Homeserver) actInvite(ctx context.Context, c *actCall) (any, error) {
	in := InviteCreate{}
	if i := c.data.Invite; i != nil {
		in = InviteCreate{MaxAge: opt(i.MaxAge), MaxUses: opt(i.MaxUses), Temporary: i.Temporary, Unique: i.Unique}
	}
	return h.CreateInvite(ctx, c.p, c.channel, in)
}

// memberArgs reads a moderation's guild, target member and role (0 when
// none is named).
func (h *Homeserver) memberArgs(ctx context.Context, c *actCall) (guild, target, role snowflake.ID, err error) {
	if guild, err = c.guildID(); err != nil {
		return 0, 0, 0, err
	}
	if target, err = h.lookupGlobal(ctx, c.data.Target, ErrUnknownUser); err != nil {
		return 0, 0, 0, err
	}
	if role, err = h.lookupGlobal(ctx, c.data.Role, ErrUnknownRole); err != nil {
		return 0, 0, 0, err
	}
	return guild, target, role, nil
}

func (h *Homeserver) actKick(ctx context.Context, c *actCall) (any, error) {
	g, target, _, err := h.memberArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return nil, h.Kick(ctx, c.p, g, target)
}

func (h *Homeserver) actBan(ctx context.Context, c *actCall) (any, error) {
	g, target, _, err := h.memberArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return nil, h.Ban(ctx, c.p, g, target, BanOptions{DeleteMessageSeconds: c.data.DeleteMessageSeconds})
}

func (h *Homeserver) actUnban(ctx context.Context, c *actCall) (any, error) {
	g, target, _, err := h.memberArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return nil, h.Unban(ctx, c.p, g, target)
}

func (h *Homeserver) actRoleAdd(ctx context.Context, c *actCall) (any, error) {
	g, target, role, err := h.memberArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return nil, h.AddMemberRole(ctx, c.p, g, target, role)
}

func (h *Homeserver) actRoleRemove(ctx context.Context, c *actCall) (any, error) {
	g, target, role, err := h.memberArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return nil, h.RemoveMemberRole(ctx, c.p, g, target, role)
}

func (h *Homeserver) actMemberEdit(ctx context.Context, c *actCall) (any, error) {
	if c.guild.ID == 0 || c.data.Member == nil {
		return nil, fmt.Errorf("%s: %w", c.action, ErrUnknownGuild)
	}
	target, err := h.lookupGlobal(ctx, c.data.Target, ErrUnknownUser)
	if err != nil {
		return nil, err
	}
	m := c.data.Member
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
	return h.UpdateMember(ctx, c.p, c.guild.ID, target, up)
}

// roleArgs reads a role action's guild, role (0 when none is named) and
// fields.
func (h *Homeserver) roleArgs(ctx context.Context, c *actCall) (guild, role snowflake.ID, f RoleFields, err error) {
	if guild, err = c.guildID(); err != nil {
		return 0, 0, f, err
	}
	if role, err = h.lookupGlobal(ctx, c.data.Role, ErrUnknownRole); err != nil {
		return 0, 0, f, err
	}
	f, err = roleFieldsFromWire(c.data.RoleFields)
	return guild, role, f, err
}

func (h *Homeserver) actRoleCreate(ctx context.Context, c *actCall) (any, error) {
	g, _, f, err := h.roleArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return h.CreateRole(ctx, c.p, g, f)
}

func (h *Homeserver) actRoleEdit(ctx context.Context, c *actCall) (any, error) {
	g, role, f, err := h.roleArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return h.UpdateRole(ctx, c.p, g, role, f)
}

func (h *Homeserver) actRoleDelete(ctx context.Context, c *actCall) (any, error) {
	g, role, _, err := h.roleArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return nil, h.DeleteRole(ctx, c.p, g, role)
}

// channelArgs reads a channel action's guild and fields.
func (h *Homeserver) channelArgs(ctx context.Context, c *actCall) (snowflake.ID, ChannelFields, error) {
	g, err := c.guildID()
	if err != nil {
		return 0, ChannelFields{}, err
	}
	f, err := h.channelFieldsFromWire(ctx, c.data.ChannelFields)
	return g, f, err
}

func (h *Homeserver) actChannelCreate(ctx context.Context, c *actCall) (any, error) {
	g, f, err := h.channelArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return h.CreateChannel(ctx, c.p, g, f)
}

func (h *Homeserver) actChannelEdit(ctx context.Context, c *actCall) (any, error) {
	_, f, err := h.channelArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return h.UpdateChannel(ctx, c.p, c.channel, f)
}

func (h *Homeserver) actChannelDelete(ctx context.Context, c *actCall) (any, error) {
	if _, _, err := h.channelArgs(ctx, c); err != nil {
		return nil, err
	}
	return h.DeleteChannel(ctx, c.p, c.channel)
}

// emojiArgs reads an emoji action's guild and emoji (0 when none is
// named).
func (h *Homeserver) emojiArgs(ctx context.Context, c *actCall) (guild, emoji snowflake.ID, err error) {
	if guild, err = c.guildID(); err != nil {
		return 0, 0, err
	}
	emoji, err = h.lookupGlobal(ctx, c.data.EmojiID, ErrUnknownEmoji)
	return guild, emoji, err
}

func (h *Homeserver) actEmojiCreate(ctx context.Context, c *actCall) (any, error) {
	g, _, err := h.emojiArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return h.CreateEmoji(ctx, c.p, g, c.data.EmojiName, c.data.EmojiImage, nil)
}

func (h *Homeserver) actEmojiEdit(ctx context.Context, c *actCall) (any, error) {
	g, emoji, err := h.emojiArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return h.RenameEmoji(ctx, c.p, g, emoji, c.data.EmojiName)
}

func (h *Homeserver) actEmojiDelete(ctx context.Context, c *actCall) (any, error) {
	g, emoji, err := h.emojiArgs(ctx, c)
	if err != nil {
		return nil, err
	}
	return nil, h.DeleteEmoji(ctx, c.p, g, emoji)
}

func (h *Homeserver) actGuildEdit(ctx context.Context, c *actCall) (any, error) {
	gf := c.data.GuildFields
	if c.guild.ID == 0 || gf == nil {
		return nil, fmt.Errorf("%s: %w", c.action, ErrUnknownGuild)
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
	return h.UpdateGuild(ctx, c.p, c.guild.ID, up)
}

func (h *Homeserver) actChannelReorder(ctx context.Context, c *actCall) (any, error) {
	g, err := c.guildID()
	if err != nil {
		return nil, err
	}
	var moves []ChannelPosition
	for _, m := range c.data.Positions {
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
	return nil, h.ReorderChannels(ctx, c.p, g, moves)
}

func (h *Homeserver) actRoleReorder(ctx context.Context, c *actCall) (any, error) {
	g, err := c.guildID()
	if err != nil {
		return nil, err
	}
	var moves []RolePosition
	for _, m := range c.data.Positions {
		id, err := h.lookupGlobal(ctx, m.ID, ErrNotFound)
		if err != nil {
			return nil, err
		}
		moves = append(moves, RolePosition{ID: id, Position: opt(m.Position).Value})
	}
	return h.ReorderRoles(ctx, c.p, g, moves)
}

func (h *Homeserver) actLeave(ctx context.Context, c *actCall) (any, error) {
	if c.guild.ID == 0 {
		return nil, fmt.Errorf("leave: %w", ErrUnknownGuild)
	}
	return nil, h.LeaveGuild(ctx, c.p, c.guild.ID)
}

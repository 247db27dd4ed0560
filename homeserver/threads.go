package homeserver

import (
	"context"
	"errors"
	"fmt"
	"hearth/homeserver/wire"
	"strings"
	"time"
	"unicode/utf8"

	"hearth/discord"
	"hearth/homeserver/permission"
	"hearth/snowflake"
	"hearth/storage"
)

// autoArchiveChoices are Discord's auto-archive durations, in minutes.
var autoArchiveChoices = map[int]bool{60: true, 1440: true, 4320: true, 10080: true}

// threadPerms are a member's permissions in a thread: its parent's, where
// SEND_MESSAGES_IN_THREADS stands for SEND_MESSAGES; a private thread is
// hidden from those who are neither in it nor MANAGE_THREADS; an archived
// thread takes no messages.
func (h *Homeserver) threadPerms(ctx context.Context, r storage.Reader, a *access, t storage.Channel) (permission.Set, error) {
	parent, err := r.ChannelByID(ctx, t.ParentID)
	if errors.Is(err, storage.ErrNotFound) {
		return 0, fmt.Errorf("thread %d: %w", t.ID, ErrUnknownChannel)
	}
	if err != nil {
		return 0, err
	}
	perms := a.in(parent)
	if t.Type == storage.ChannelPrivateThread && !perms.Has(permission.ManageThreads) {
		if _, err := r.ThreadMember(ctx, t.ID, a.userID); errors.Is(err, storage.ErrNotFound) {
			return 0, nil
		} else if err != nil {
			return 0, err
		}
	}
	if perms.Has(permission.SendMessagesInThreads) {
		perms |= permission.SendMessages
	} else {
		perms &^= permission.SendMessages
	}
	if t.Thread != nil && t.Thread.Archived {
		// A message reopens an archived thread that is not locked (see
		// reopenThread), so sending stays allowed there; nothing else
		// is.
		perms &^= permission.AddReactions
		if t.Thread.Locked {
			perms &^= permission.SendMessages
		}
	}
	return perms, nil
}

// ThreadCreate is a new thread.
type ThreadCreate struct {
	Name string
	// Type is 11 (public) or 12 (private) for a standalone thread; a
	// thread from a message is public (10 in an announcement channel).
	Type             int
	AutoArchive      int
	Invitable        Optional[bool]
	RateLimitPerUser int
	// Message is the first message of a post in a forum channel, which
	// a forum requires (other channels ignore it).
	Message *MessageCreate
	// bridgeKey, set by Bridge.ImportThread only, is the Discord thread
	// mapped to the new thread in the same transaction (bridge_ids kind
	// BridgeChannel), so that an import is made once.
	bridgeKey string
}

func (h *Homeserver) renderThread(ctx context.Context, r storage.Reader, t storage.Channel, viewer snowflake.ID) discord.Channel {
	out := discordChannel(t)
	out.PermissionOverwrites = []discord.Overwrite{}
	owner := t.OwnerID
	out.OwnerID = &owner
	meta := t.Thread
	if meta == nil {
		meta = &storage.ThreadMeta{AutoArchive: 4320}
	}
	archived := meta.ArchivedAt
	if archived.IsZero() {
		archived = t.CreatedAt
	}
	created := discord.Timestamp(t.CreatedAt)
	out.ThreadMetadata = &discord.ThreadMetadata{
		Archived: meta.Archived, AutoArchiveDuration: meta.AutoArchive, ArchiveTimestamp: discord.Timestamp(archived),
		Locked: meta.Locked, CreateTimestamp: &created,
	}
	if t.Type == storage.ChannelPrivateThread {
		inv := meta.Invitable
		out.ThreadMetadata.Invitable = &inv
	}
	if ms, err := r.ThreadMembers(ctx, t.ID); err == nil {
		n := len(ms)
		out.MemberCount = &n
		for _, m := range ms {
			if m.UserID == viewer {
				tm := renderThreadMember(m)
				out.Member = &tm
			}
		}
	}
	if n, err := r.ThreadMessageCount(ctx, t.ID); err == nil {
		out.MessageCount, out.TotalMessageSent = &n, &n
	}
	return out
}

func renderThreadMember(m storage.ThreadMember) discord.ThreadMember {
	id, uid := m.ThreadID, m.UserID
	return discord.ThreadMember{ID: &id, UserID: &uid, JoinTimestamp: discord.Timestamp(m.JoinedAt), Flags: m.Flags}
}

// StartThread starts a thread in a text or announcement channel: from a
// message (messageID not 0; the thread takes the message's ID, as on
// Discord) with CREATE_PUBLIC_THREADS, or standalone, public or private
// (CREATE_PRIVATE_THREADS). Its starter is its first member.
func (h *Homeserver) StartThread(ctx context.Context, p Principal, channelID, messageID snowflake.ID, in ThreadCreate) (discord.Channel, error) {
	return do(ctx, h, write[discord.Channel]{op: "start thread", channel: channelID,
		here: func(ctx context.Context) (discord.Channel, error) {
			return h.startThreadHere(ctx, p, channelID, messageID, in)
		},
		there: func(ctx context.Context, g replicaLog) (discord.Channel, error) {
			if in.Message != nil {
				// The thread act carries no message: a forum post of a
				// guild of another homeserver is started there.
				return discord.Channel{}, Invalid("message", "BASE_TYPE_INVALID",
					"Forum posts in guilds of other homeservers are not supported yet.")
			}
			t := wire.ActThreadData{Name: &in.Name, Type: in.Type, AutoArchive: &in.AutoArchive, RateLimitPerUser: &in.RateLimitPerUser,
				Invitable: in.Invitable.ptr()}
			return h.forwardThread(ctx, p, g, wire.ActThread, channelID, messageID, t)
		}})
}

// startThreadHere carries out StartThread on this server's own log.
func (h *Homeserver) startThreadHere(ctx context.Context, p Principal, channelID, messageID snowflake.ID, in ThreadCreate) (discord.Channel, error) {
	v := &ValidationError{}
	if n := utf8.RuneCountInString(in.Name); n < 1 || n > ChannelNameMax {
		v.Add("name", "BASE_TYPE_BAD_LENGTH", fmt.Sprintf("Must be between 1 and %d in length.", ChannelNameMax))
	}
	if in.AutoArchive == 0 {
		in.AutoArchive = 4320
	}
	if !autoArchiveChoices[in.AutoArchive] {
		v.Add("auto_archive_duration", "BASE_TYPE_CHOICES", "Value must be one of {60, 1440, 4320, 10080}.")
	}
	if in.RateLimitPerUser < 0 || in.RateLimitPerUser > SlowmodeMax {
		v.Add("rate_limit_per_user", "NUMBER_TYPE_MAX", fmt.Sprintf("Must be between 0 and %d.", SlowmodeMax))
	}
	forum := false
	if c, err := h.store.ChannelByID(ctx, channelID); err == nil && c.Type == ChannelForum && messageID == 0 {
		// A forum post: a public thread that begins with a message.
		forum, in.Type = true, storage.ChannelPublicThread
		if in.Message == nil {
			v.Add("message", "BASE_TYPE_REQUIRED", "This field is required")
		} else if strings.TrimSpace(in.Message.Content) == "" && len(in.Message.Embeds) == 0 && len(in.Message.Files) == 0 {
			return discord.Channel{}, ErrEmptyMessage
		}
	}
	if messageID == 0 && in.Type == 0 {
		in.Type = storage.ChannelPrivateThread // Discord's default for a standalone thread
	}
	if messageID == 0 && in.Type != storage.ChannelPublicThread && in.Type != storage.ChannelPrivateThread && in.Type != storage.ChannelAnnouncementThread {
		v.Add("type", "BASE_TYPE_CHOICES", "Value must be one of {10, 11, 12}.")
	}
	if err := v.Err(); err != nil {
		return discord.Channel{}, err
	}
	var out discord.Channel
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		pl, err := h.placeOf(ctx, tx, channelID, p.User.ID)
		if err != nil {
			return err
		}
		if pl.guild == nil || (pl.ch.Type != ChannelText && pl.ch.Type != ChannelAnnouncement && !(forum && pl.ch.Type == ChannelForum)) {
			return Invalid("channel_id", "CHANNEL_TYPE_INVALID", "Threads live in text, announcement and forum channels.")
		}
		t := storage.Channel{
			ID: h.cfg.IDs.Next(), GuildID: pl.ch.GuildID, Type: in.Type, Name: in.Name, ParentID: pl.ch.ID,
			OwnerID: p.User.ID, RateLimitPerUser: in.RateLimitPerUser, CreatedAt: h.now(),
			Thread: &storage.ThreadMeta{AutoArchive: in.AutoArchive, Invitable: !in.Invitable.Set || in.Invitable.Value},
		}
		need := permission.CreatePublicThreads
		if messageID != 0 {
			if _, err := messageIn(ctx, tx, channelID, messageID); err != nil {
				return err
			}
			if _, err := tx.ChannelByID(ctx, messageID); err == nil {
				return ErrThreadExists
			}
			t.ID, t.Type = messageID, storage.ChannelPublicThread
			if pl.ch.Type == ChannelAnnouncement {
				t.Type = storage.ChannelAnnouncementThread
			}
			if err := pl.require(permission.ReadMessageHistory); err != nil {
				return err
			}
		} else if t.Type == storage.ChannelPrivateThread {
			need = permission.CreatePrivateThreads
		}
		if forum {
			need = permission.SendMessages // posting in a forum, as Discord asks
		}
		if err := pl.require(need); err != nil {
			return err
		}
		if in.bridgeKey != "" {
			if _, err := tx.BridgeID(ctx, BridgeChannel, in.bridgeKey); err == nil {
				return errMirrored
			} else if !errors.Is(err, storage.ErrNotFound) {
				return err
			}
		}
		if err := tx.CreateChannel(ctx, t); err != nil {
			return err
		}
		if in.bridgeKey != "" {
			if err := tx.AddBridgeID(ctx, BridgeChannel, in.bridgeKey, t.ID); err != nil {
				return err
			}
		}
		if err := tx.AddThreadMember(ctx, storage.ScopeOf(t), storage.ThreadMember{ThreadID: t.ID, UserID: p.User.ID, JoinedAt: h.now()}); err != nil {
			return err
		}
		out = h.renderThread(ctx, tx, t, p.User.ID)
		created := out
		created.NewlyCreated = true
		created.Member = nil
		if err := ev.Append(ctx, t.GuildID, "THREAD_CREATE", created); err != nil {
			return err
		}
		return h.threadMembersChanged(ctx, tx, ev, t, []storage.ThreadMember{{ThreadID: t.ID, UserID: p.User.ID, JoinedAt: h.now()}}, nil)
	})
	if err != nil || !forum {
		return out, domainErr("start thread", err)
	}
	// The post's first message, as its starter; unlike Discord's, its ID
	// is not the thread's (a message's ID is given in its log's queue).
	m, err := h.sendMessageHere(ctx, p, out.ID, *in.Message)
	if err != nil {
		return out, err
	}
	out.Message = &m
	return out, nil
}

func (h *Homeserver) threadMembersChanged(ctx context.Context, tx storage.Reader, ev *events, t storage.Channel, added []storage.ThreadMember, removed []snowflake.ID) error {
	ms, err := tx.ThreadMembers(ctx, t.ID)
	if err != nil {
		return err
	}
	e := discord.ThreadMembersUpdateEvent{ID: t.ID, GuildID: t.GuildID, MemberCount: len(ms), RemovedMemberIDs: removed}
	for _, m := range added {
		e.AddedMembers = append(e.AddedMembers, renderThreadMember(m))
	}
	return ev.Append(ctx, t.GuildID, "THREAD_MEMBERS_UPDATE", e)
}

// threadPlace loads a thread the caller can view.
func (h *Homeserver) threadPlace(ctx context.Context, r storage.Reader, p Principal, threadID snowflake.ID) (*place, error) {
	pl, err := h.placeOf(ctx, r, threadID, p.User.ID)
	if err != nil {
		return nil, err
	}
	if !storage.IsThread(pl.ch.Type) {
		return nil, Invalid("channel_id", "CHANNEL_TYPE_INVALID", "Not a thread.")
	}
	if err := pl.require(permission.ViewChannel); err != nil {
		return nil, err
	}
	return pl, nil
}

// JoinThread adds a member to a thread: oneself, or another guild member
// (anyone who may send there, in a public thread; in a private one, its
// starter, MANAGE_THREADS, or anyone when it is invitable).
func (h *Homeserver) JoinThread(ctx context.Context, p Principal, threadID, userID snowflake.ID) error {
	return doErr(ctx, h, write[none]{op: "join thread", channel: threadID,
		here: func(ctx context.Context) (none, error) { return nothing(h.joinThreadHere(ctx, p, threadID, userID)) },
		there: func(ctx context.Context, g replicaLog) (none, error) {
			return nothing(h.forwardTarget(ctx, p, g, wire.ActThreadJoin, threadID, userID))
		}})
}

// joinThreadHere carries out JoinThread on this server's own log.
func (h *Homeserver) joinThreadHere(ctx context.Context, p Principal, threadID, userID snowflake.ID) error {
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		pl, err := h.threadPlace(ctx, tx, p, threadID)
		if err != nil {
			return err
		}
		if pl.ch.Thread != nil && pl.ch.Thread.Archived {
			return ErrThreadArchived
		}
		if userID != p.User.ID {
			if err := pl.require(permission.SendMessages); err != nil {
				return err
			}
			if pl.ch.Type == storage.ChannelPrivateThread && !pl.perms.Has(permission.ManageThreads) &&
				pl.ch.OwnerID != p.User.ID && (pl.ch.Thread == nil || !pl.ch.Thread.Invitable) {
				return fmt.Errorf("add to private thread: %w", ErrMissingPermission)
			}
			if _, err := tx.Member(ctx, pl.ch.GuildID, userID); errors.Is(err, storage.ErrNotFound) {
				return ErrUnknownMember
			} else if err != nil {
				return err
			}
		}
		m := storage.ThreadMember{ThreadID: threadID, UserID: userID, JoinedAt: h.now()}
		err = tx.AddThreadMember(ctx, pl.scope(), m)
		if errors.Is(err, storage.ErrConflict) {
			return nil
		}
		if err != nil {
			return err
		}
		return h.threadMembersChanged(ctx, tx, ev, pl.ch, []storage.ThreadMember{m}, nil)
	})
	return domainErr("join thread", err)
}

// LeaveThread removes a member from a thread: oneself, or someone else with
// MANAGE_THREADS (or as the owner of a private thread).
func (h *Homeserver) LeaveThread(ctx context.Context, p Principal, threadID, userID snowflake.ID) error {
	return doErr(ctx, h, write[none]{op: "leave thread", channel: threadID,
		here: func(ctx context.Context) (none, error) { return nothing(h.leaveThreadHere(ctx, p, threadID, userID)) },
		there: func(ctx context.Context, g replicaLog) (none, error) {
			return nothing(h.forwardTarget(ctx, p, g, wire.ActThreadLeave, threadID, userID))
		}})
}

// leaveThreadHere carries out LeaveThread on this server's own log.
func (h *Homeserver) leaveThreadHere(ctx context.Context, p Principal, threadID, userID snowflake.ID) error {
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		pl, err := h.threadPlace(ctx, tx, p, threadID)
		if err != nil {
			return err
		}
		if userID != p.User.ID && !pl.perms.Has(permission.ManageThreads) &&
			!(pl.ch.Type == storage.ChannelPrivateThread && pl.ch.OwnerID == p.User.ID) {
			return fmt.Errorf("remove thread member: %w", ErrMissingPermission)
		}
		if err := tx.RemoveThreadMember(ctx, pl.scope(), threadID, userID); errors.Is(err, storage.ErrNotFound) {
			return ErrUnknownMember
		} else if err != nil {
			return err
		}
		return h.threadMembersChanged(ctx, tx, ev, pl.ch, nil, []snowflake.ID{userID})
	})
	return domainErr("leave thread", err)
}

// ThreadMembers lists a thread's members.
func (h *Homeserver) ThreadMembers(ctx context.Context, p Principal, threadID snowflake.ID) ([]discord.ThreadMember, error) {
	if _, err := h.threadPlace(ctx, h.store, p, threadID); err != nil {
		return nil, domainErr("thread members", err)
	}
	ms, err := h.store.ThreadMembers(ctx, threadID)
	if err != nil {
		return nil, storeErr("thread members", err)
	}
	out := make([]discord.ThreadMember, 0, len(ms))
	for _, m := range ms {
		out = append(out, renderThreadMember(m))
	}
	return out, nil
}

// ThreadUpdate is a PATCH of a thread.
type ThreadUpdate struct {
	Name             Optional[string]
	Archived         Optional[bool]
	Locked           Optional[bool]
	AutoArchive      Optional[int]
	Invitable        Optional[bool]
	RateLimitPerUser Optional[int]
}

// UpdateThread changes a thread: its owner renames, archives and sets the
// auto-archive time; MANAGE_THREADS does anything, and alone may lock, or
// reopen a locked thread.
func (h *Homeserver) UpdateThread(ctx context.Context, p Principal, threadID snowflake.ID, up ThreadUpdate) (discord.Channel, error) {
	return do(ctx, h, write[discord.Channel]{op: "update thread", channel: threadID,
		here: func(ctx context.Context) (discord.Channel, error) { return h.updateThreadHere(ctx, p, threadID, up) },
		there: func(ctx context.Context, g replicaLog) (discord.Channel, error) {
			t := wire.ActThreadData{Name: up.Name.ptr(), Archived: up.Archived.ptr(), Locked: up.Locked.ptr(),
				AutoArchive: up.AutoArchive.ptr(), Invitable: up.Invitable.ptr(), RateLimitPerUser: up.RateLimitPerUser.ptr()}
			return h.forwardThread(ctx, p, g, wire.ActThreadEdit, threadID, 0, t)
		}})
}

// updateThreadHere carries out UpdateThread on this server's own log.
func (h *Homeserver) updateThreadHere(ctx context.Context, p Principal, threadID snowflake.ID, up ThreadUpdate) (discord.Channel, error) {
	var out discord.Channel
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		pl, err := h.threadPlace(ctx, tx, p, threadID)
		if err != nil {
			return err
		}
		t := pl.ch
		if t.Thread == nil {
			t.Thread = &storage.ThreadMeta{AutoArchive: 4320}
		}
		mod := pl.perms.Has(permission.ManageThreads)
		owner := t.OwnerID == p.User.ID
		if !mod && !owner {
			return fmt.Errorf("update thread: %w", ErrMissingPermission)
		}
		if t.Thread.Locked && !mod {
			return ErrThreadLocked
		}
		if (up.Locked.Set || up.Invitable.Set || up.RateLimitPerUser.Set) && !mod {
			return fmt.Errorf("update thread: %w", ErrMissingPermission)
		}
		if up.Name.Set {
			if n := utf8.RuneCountInString(up.Name.Value); n < 1 || n > ChannelNameMax {
				return Invalid("name", "BASE_TYPE_BAD_LENGTH", fmt.Sprintf("Must be between 1 and %d in length.", ChannelNameMax))
			}
			t.Name = up.Name.Value
		}
		if up.AutoArchive.Set {
			if !autoArchiveChoices[up.AutoArchive.Value] {
				return Invalid("auto_archive_duration", "BASE_TYPE_CHOICES", "Value must be one of {60, 1440, 4320, 10080}.")
			}
			t.Thread.AutoArchive = up.AutoArchive.Value
		}
		if up.RateLimitPerUser.Set {
			if r := up.RateLimitPerUser.Value; r < 0 || r > SlowmodeMax {
				return Invalid("rate_limit_per_user", "NUMBER_TYPE_MAX", fmt.Sprintf("Must be between 0 and %d.", SlowmodeMax))
			}
			t.RateLimitPerUser = up.RateLimitPerUser.Value
		}
		if up.Locked.Set {
			t.Thread.Locked = up.Locked.Value
		}
		if up.Invitable.Set {
			t.Thread.Invitable = up.Invitable.Value
		}
		if up.Archived.Set && up.Archived.Value != t.Thread.Archived {
			t.Thread.Archived, t.Thread.ArchivedAt = up.Archived.Value, h.now()
		}
		if err := tx.UpdateChannel(ctx, storage.ScopeOf(t), t); err != nil {
			return err
		}
		out = h.renderThread(ctx, tx, t, p.User.ID)
		event := out
		event.Member = nil
		return ev.Append(ctx, t.GuildID, "THREAD_UPDATE", event)
	})
	return out, domainErr("update thread", err)
}

// reopenThread unarchives an archived thread that is not locked, as a
// message sent there does on Discord. The send calls it once every check
// of the message has passed, just before writing it.
func (h *Homeserver) reopenThread(ctx context.Context, p Principal, t storage.Channel) error {
	if !storage.IsThread(t.Type) || t.Thread == nil || !t.Thread.Archived || t.Thread.Locked {
		return nil
	}
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		c, err := tx.ChannelByID(ctx, t.ID)
		if err != nil {
			return err
		}
		if c.Thread == nil || !c.Thread.Archived || c.Thread.Locked {
			return nil // changed meanwhile
		}
		meta := *c.Thread
		meta.Archived, meta.ArchivedAt = false, h.now()
		c.Thread = &meta
		if err := tx.UpdateChannel(ctx, storage.ScopeOf(c), c); err != nil {
			return err
		}
		event := h.renderThread(ctx, tx, c, p.User.ID)
		event.Member = nil
		return ev.Append(ctx, c.GuildID, "THREAD_UPDATE", event)
	})
	return domainErr("reopen thread", err)
}

// DeleteThread deletes a thread and its messages (MANAGE_THREADS).
func (h *Homeserver) DeleteThread(ctx context.Context, p Principal, threadID snowflake.ID) (discord.Channel, error) {
	return do(ctx, h, write[discord.Channel]{op: "delete thread", channel: threadID,
		here: func(ctx context.Context) (discord.Channel, error) { return h.deleteThreadHere(ctx, p, threadID) },
		there: func(ctx context.Context, g replicaLog) (discord.Channel, error) {
			// Answered from the copy before it goes: the origin's deletion
			// takes the replica's thread with it.
			before, err := h.Thread(ctx, p, threadID)
			if err != nil {
				return discord.Channel{}, err
			}
			return before, h.forwardSimple(ctx, p, g, wire.ActThreadDrop, threadID, 0, nil)
		}})
}

// deleteThreadHere carries out DeleteThread on this server's own log.
func (h *Homeserver) deleteThreadHere(ctx context.Context, p Principal, threadID snowflake.ID) (discord.Channel, error) {
	var out discord.Channel
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		pl, err := h.threadPlace(ctx, tx, p, threadID)
		if err != nil {
			return err
		}
		if err := pl.require(permission.ManageThreads); err != nil {
			return err
		}
		out = h.renderThread(ctx, tx, pl.ch, p.User.ID)
		if err := tx.DeleteChannel(ctx, pl.scope(), threadID); err != nil {
			return err
		}
		return ev.Append(ctx, pl.ch.GuildID, "THREAD_DELETE", discord.ThreadDeleteEvent{
			ID: threadID, GuildID: pl.ch.GuildID, ParentID: pl.ch.ParentID, Type: pl.ch.Type})
	})
	return out, domainErr("delete thread", err)
}

// IsThread reports whether a channel is a thread the caller may know of.
func (h *Homeserver) IsThread(ctx context.Context, channelID snowflake.ID) bool {
	c, err := h.store.ChannelByID(ctx, channelID)
	return err == nil && storage.IsThread(c.Type)
}

// Thread returns a thread the caller can view.
func (h *Homeserver) Thread(ctx context.Context, p Principal, threadID snowflake.ID) (discord.Channel, error) {
	pl, err := h.threadPlace(ctx, h.store, p, threadID)
	if err != nil {
		return discord.Channel{}, domainErr("thread", err)
	}
	return h.renderThread(ctx, h.store, pl.ch, p.User.ID), nil
}

// ActiveThreads lists a guild's unarchived threads the caller can view,
// with the caller's memberships among them.
func (h *Homeserver) ActiveThreads(ctx context.Context, p Principal, guildID snowflake.ID) (discord.ThreadList, error) {
	a, err := h.loadAccess(ctx, h.store, guildID, p.User.ID)
	if err != nil {
		return discord.ThreadList{}, err
	}
	ts, err := h.store.ActiveThreads(ctx, guildID)
	if err != nil {
		return discord.ThreadList{}, storeErr("active threads", err)
	}
	return h.threadList(ctx, a, ts, p.User.ID, nil)
}

func (h *Homeserver) threadList(ctx context.Context, a *access, ts []storage.Channel, viewer snowflake.ID, hasMore *bool) (discord.ThreadList, error) {
	out := discord.ThreadList{Threads: []discord.Channel{}, Members: []discord.ThreadMember{}, HasMore: hasMore}
	for _, t := range ts {
		perms, err := h.threadPerms(ctx, h.store, a, t)
		if err != nil {
			if errors.Is(err, ErrUnknownChannel) {
				continue
			}
			return out, storeErr("threads", err)
		}
		if !perms.Has(permission.ViewChannel) {
			continue
		}
		rt := h.renderThread(ctx, h.store, t, viewer)
		if rt.Member != nil {
			out.Members = append(out.Members, *rt.Member)
			rt.Member = nil
		}
		out.Threads = append(out.Threads, rt)
	}
	return out, nil
}

// ArchivedThreads lists a channel's archived threads, public or (with
// MANAGE_THREADS) private, most recently archived first.
func (h *Homeserver) ArchivedThreads(ctx context.Context, p Principal, channelID snowflake.ID, private bool, before time.Time, limit int) (discord.ThreadList, error) {
	if limit < 1 || limit > 100 {
		limit = 50
	}
	pl, err := h.placeOf(ctx, h.store, channelID, p.User.ID)
	if err != nil {
		return discord.ThreadList{}, domainErr("archived threads", err)
	}
	if pl.guild == nil {
		return discord.ThreadList{}, ErrUnknownChannel
	}
	if err := pl.require(permission.ReadMessageHistory); err != nil {
		return discord.ThreadList{}, err
	}
	types := []int{storage.ChannelPublicThread, storage.ChannelAnnouncementThread}
	if private {
		if err := pl.require(permission.ManageThreads); err != nil {
			return discord.ThreadList{}, err
		}
		types = []int{storage.ChannelPrivateThread}
	}
	ts, err := h.store.ArchivedThreads(ctx, channelID, types, before, limit+1)
	if err != nil {
		return discord.ThreadList{}, storeErr("archived threads", err)
	}
	more := len(ts) > limit
	if more {
		ts = ts[:limit]
	}
	return h.threadList(ctx, pl.guild, ts, p.User.ID, &more)
}

// ArchiveIdleThreads archives the threads that have been quiet for longer
// than their auto-archive duration, as Discord does, and returns how many
// it archived.
func (h *Homeserver) ArchiveIdleThreads(ctx context.Context) (int, error) {
	idle, err := h.store.IdleThreads(ctx, h.now(), 100)
	if err != nil {
		return 0, storeErr("idle threads", err)
	}
	n := 0
	for _, t := range idle {
		err := h.update(ctx, func(tx storage.Tx, ev *events) error {
			// Checked again in the transaction: a message may have
			// come in since the query.
			cur, err := tx.ChannelByID(ctx, t.ID)
			if err != nil || cur.Thread == nil || cur.Thread.Archived || cur.LastMessageID != t.LastMessageID {
				return err
			}
			cur.Thread.Archived, cur.Thread.ArchivedAt = true, h.now()
			if err := tx.UpdateChannel(ctx, storage.ScopeOf(cur), cur); err != nil {
				return err
			}
			n++
			return ev.Append(ctx, cur.GuildID, "THREAD_UPDATE", h.renderThread(ctx, tx, cur, 0))
		})
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return n, storeErr("archive idle thread", err)
		}
	}
	return n, nil
}

// RunMaintenance does the homeserver's periodic work (archiving idle
// threads and pruning the receipts of old acts every interval, sweeping unreferenced files at most every ten
// minutes) until ctx ends; where several processes share the database, one
// of them at a time does the periodic part. Its caller owns it.
func (h *Homeserver) RunMaintenance(ctx context.Context, every time.Duration) {
	// Work it started in goroutines ends with it: their context is ctx.
	defer h.tasks.Wait()
	h.tasks.Add(1)
	go func() { defer h.tasks.Done(); h.watchInteractions(ctx) }()
	h.tasks.Add(1)
	go func() { defer h.tasks.Done(); h.sendInteractionNotices(ctx) }()
	t := time.NewTicker(every)
	defer t.Stop()
	// Files are swept less often: it reads every file reference.
	files := time.NewTicker(max(every, 10*time.Minute))
	defer files.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case fn := <-h.background:
			fn(ctx)
		case <-t.C:
			// One process at a time, where several share the database.
			if !h.leader(ctx, "maintenance") {
				continue
			}
			if n, err := h.ArchiveIdleThreads(ctx); err != nil {
				h.log.Warn("archiving idle threads failed", "err", err)
			} else if n > 0 {
				h.log.Info("archived idle threads", "threads", n)
			}
			if n, err := h.EndCustomStatuses(ctx); err != nil {
				h.log.Warn("clearing ended custom statuses failed", "err", err)
			} else if n > 0 {
				h.log.Debug("cleared ended custom statuses", "users", n)
			}
			if n, err := h.PruneActReceipts(ctx); err != nil {
				h.log.Warn("pruning act receipts failed", "err", err)
			} else if n > 0 {
				h.log.Debug("pruned act receipts", "receipts", n)
			}
			if n, err := h.PruneSentActs(ctx); err != nil {
				h.log.Warn("pruning sent acts failed", "err", err)
			} else if n > 0 {
				h.log.Info("pruned sent acts whose events never arrived", "acts", n)
			}
		case <-files.C:
			if !h.leader(ctx, "sweep-files") {
				continue
			}
			if n, size, err := h.SweepFiles(ctx, FileGrace); err != nil {
				h.log.Warn("sweeping unreferenced files failed", "err", err)
			} else if n > 0 {
				h.log.Info("removed unreferenced files", "files", n, "bytes", size)
			}
		}
	}
}

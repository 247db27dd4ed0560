package replica

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"hearth/discord"
	"hearth/homeserver/globalid"
	"hearth/homeserver/permission"
	"hearth/snowflake"
	"hearth/storage"
)

func (ap *applier) applyGuild(ctx context.Context, typ string, d []byte) error {
	tx, g := ap.tx, ap.g
	var err error
	switch typ {
	case "GUILD_MEMBER_ADD", "GUILD_MEMBER_UPDATE":
		var m discord.Member
		if err := json.Unmarshal(d, &m); err != nil {
			return err
		}
		var added bool
		added, err = upsertMember(ctx, tx, g.ID, m)
		ap.addedMembers = ap.addedMembers || added
	case "GUILD_MEMBER_REMOVE", "GUILD_BAN_ADD":
		var m discord.MemberRemoveEvent
		if err := json.Unmarshal(d, &m); err != nil {
			return err
		}
		err = tx.RemoveMember(ctx, g.ID, m.User.ID)
	case "GUILD_UPDATE":
		var gd discord.Guild
		if err := json.Unmarshal(d, &gd); err != nil {
			return err
		}
		old, gerr := tx.GuildByID(ctx, g.ID)
		if gerr != nil {
			return gerr
		}
		err = tx.UpdateGuild(ctx, guildFrom(gd, old))
	case "GUILD_DELETE":
		err = tx.DeleteGuild(ctx, g.ID)
	case "CHANNEL_CREATE", "CHANNEL_UPDATE":
		var c discord.Channel
		if err := json.Unmarshal(d, &c); err != nil {
			return err
		}
		if err := ap.l.Owned(c.ID); err != nil {
			return err
		}
		if storage.IsThread(c.Type) {
			return nil
		}
		delete(ap.channels, c.ID)
		ap.addedObjects = true
		err = upsertChannel(ctx, tx, g.ID, c)
	case "CHANNEL_DELETE":
		var c discord.Channel
		if err := json.Unmarshal(d, &c); err != nil {
			return err
		}
		err = ap.deleteChannel(ctx, c.ID)
	case "GUILD_ROLE_CREATE", "GUILD_ROLE_UPDATE":
		var r discord.RoleEvent
		if err := json.Unmarshal(d, &r); err != nil {
			return err
		}
		if err := ap.l.Owned(r.Role.ID); err != nil {
			return err
		}
		ap.addedObjects = true
		err = upsertRole(ctx, tx, g.ID, r.Role)
	case "GUILD_EMOJIS_UPDATE":
		var e discord.EmojisEvent
		if err := json.Unmarshal(d, &e); err != nil {
			return err
		}
		for _, em := range e.Emojis {
			if err := ap.l.Owned(em.ID); err != nil {
				return err
			}
		}
		if err := ap.env.EmojiBound(g.ID, len(e.Emojis)); err != nil {
			return err
		}
		ap.addedObjects = true
		err = syncEmojis(ctx, tx, g.ID, e.Emojis)
	case "THREAD_CREATE", "THREAD_UPDATE":
		var c discord.Channel
		if err := json.Unmarshal(d, &c); err != nil {
			return err
		}
		if err := ap.l.Owned(c.ID); err != nil {
			return err
		}
		if typ == "THREAD_CREATE" {
			if err := ap.inNameOf(ctx, derefID(c.OwnerID), didStartThread, 0); err != nil {
				return err
			}
		}
		delete(ap.channels, c.ID)
		ap.addedObjects = true
		err = upsertThread(ctx, tx, g.ID, c)
	case "THREAD_DELETE":
		var c discord.ThreadDeleteEvent
		if err := json.Unmarshal(d, &c); err != nil {
			return err
		}
		err = ap.deleteChannel(ctx, c.ID)
	case "THREAD_MEMBERS_UPDATE":
		var e discord.ThreadMembersUpdateEvent
		if err := json.Unmarshal(d, &e); err != nil {
			return err
		}
		if err := ap.l.Owned(e.ID); err != nil {
			return err
		}
		err = applyThreadMembers(ctx, tx, g.ID, e)
	case "GUILD_ROLE_DELETE":
		var r discord.RoleDeleteEvent
		if err := json.Unmarshal(d, &r); err != nil {
			return err
		}
		if err := ap.l.Owned(r.RoleID); err != nil {
			return err
		}
		if r.RoleID == g.ID {
			return fmt.Errorf("delete of @everyone: %w", ErrForbidden)
		}
		ap.l.Unneeded(r.RoleID)
		if ok, err := roleOf(ctx, tx, g.ID, r.RoleID); err != nil || !ok {
			return err
		}
		err = tx.DeleteRole(ctx, g.Scope(), r.RoleID)
	}
	return err
}

// deleteChannel deletes a channel or thread of the replica; one it does
// not hold is already gone.
func (ap *applier) deleteChannel(ctx context.Context, id snowflake.ID) error {
	if err := ap.l.Owned(id); err != nil {
		return err
	}
	ap.l.Unneeded(id)
	if ok, err := ap.holds(ctx, id); err != nil || !ok {
		return err
	}
	delete(ap.channels, id)
	return ap.tx.DeleteChannel(ctx, ap.g.Scope(), id)
}

// roleOf reports whether a role exists in a guild, refusing one that
// exists in another guild: a replica's events reach only its own roles.
func roleOf(ctx context.Context, tx storage.Tx, guildID, roleID snowflake.ID) (bool, error) {
	roles, err := tx.GuildRoles(ctx, guildID)
	if err != nil {
		return false, err
	}
	if slices.ContainsFunc(roles, func(r storage.Role) bool { return r.ID == roleID }) {
		return true, nil
	}
	if _, err := tx.GuildByID(ctx, roleID); err == nil && roleID != guildID {
		return false, fmt.Errorf("role %d is another guild's @everyone: %w", roleID, ErrForbidden)
	}
	return false, nil
}

func guildFrom(gd discord.Guild, g storage.Guild) storage.Guild {
	g.Name, g.OwnerID, g.VerificationLevel = gd.Name, gd.OwnerID, gd.VerificationLevel
	g.Description, g.SystemChannelID = deref(gd.Description), derefID(gd.SystemChannelID)
	// Discovery lists a homeserver's own guilds: a replica is not one.
	g.Public = g.Origin == "" && slices.Contains(gd.Features, "DISCOVERABLE")
	return g
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefID(id *snowflake.ID) snowflake.ID {
	if id == nil {
		return 0
	}
	return *id
}

// upsertMember stores a member of a replica guild; added reports a new
// row (a member not there before), which memberBound later checks.
func upsertMember(ctx context.Context, tx storage.Tx, guildID snowflake.ID, m discord.Member) (added bool, err error) {
	if m.User == nil {
		return false, nil
	}
	sm := storage.Member{GuildID: guildID, UserID: m.User.ID, Nick: deref(m.Nick), JoinedAt: time.Time(m.JoinedAt),
		Deaf: m.Deaf, Mute: m.Mute}
	for _, r := range m.Roles {
		if r != guildID {
			sm.Roles = append(sm.Roles, r)
		}
	}
	if m.CommunicationDisabledUntil != nil {
		sm.CommunicationDisabledUntil = time.Time(*m.CommunicationDisabledUntil)
	}
	// Asked first rather than learnt from a failed insert: on PostgreSQL a
	// failed statement ends the transaction.
	if _, err := tx.Member(ctx, guildID, sm.UserID); err == nil {
		return false, tx.UpdateMember(ctx, sm)
	} else if !errors.Is(err, storage.ErrNotFound) {
		return false, err
	}
	return true, tx.AddMember(ctx, sm)
}

func upsertRole(ctx context.Context, tx storage.Tx, guildID snowflake.ID, r discord.Role) error {
	perms, _ := permission.Parse(r.Permissions)
	sr := storage.Role{ID: r.ID, GuildID: guildID, Name: r.Name, Color: r.Color, Hoist: r.Hoist,
		UnicodeEmoji: deref(r.UnicodeEmoji), Position: r.Position, Permissions: int64(perms), Managed: r.Managed,
		Mentionable: r.Mentionable, CreatedAt: r.ID.Time()}
	ok, err := roleOf(ctx, tx, guildID, r.ID)
	if err != nil {
		return err
	}
	if ok {
		return tx.UpdateRole(ctx, storage.InGuild(guildID), sr)
	}
	// A role of another guild under this ID makes the insert conflict:
	// the batch is refused rather than the other guild's role changed.
	if err := tx.CreateRole(ctx, sr); errors.Is(err, storage.ErrConflict) {
		return fmt.Errorf("role %d belongs to another guild: %w", r.ID, ErrForbidden)
	} else if err != nil {
		return err
	}
	return nil
}

func upsertChannel(ctx context.Context, tx storage.Tx, guildID snowflake.ID, c discord.Channel) error {
	sc := storage.Channel{ID: c.ID, GuildID: guildID, Type: c.Type, Name: c.Name, Topic: deref(c.Topic),
		Position: c.Position, ParentID: derefID(c.ParentID), NSFW: c.NSFW, RateLimitPerUser: c.RateLimitPerUser,
		CreatedAt: c.ID.Time()}
	if c.Bitrate != nil {
		sc.Bitrate = *c.Bitrate
	}
	if c.UserLimit != nil {
		sc.UserLimit = *c.UserLimit
	}
	for _, o := range c.PermissionOverwrites {
		allow, _ := permission.Parse(o.Allow)
		deny, _ := permission.Parse(o.Deny)
		sc.Overwrites = append(sc.Overwrites, storage.Overwrite{TargetID: o.ID, Type: o.Type, Allow: int64(allow), Deny: int64(deny)})
	}
	old, err := tx.ChannelByID(ctx, c.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return tx.CreateChannel(ctx, sc)
	}
	if err != nil {
		return err
	}
	if old.GuildID != guildID || storage.IsThread(old.Type) {
		return fmt.Errorf("channel %d is not a channel of guild %d: %w", c.ID, guildID, ErrForbidden)
	}
	if err := tx.UpdateChannel(ctx, storage.InGuild(guildID), sc); err != nil {
		return err
	}
	for _, o := range old.Overwrites {
		if !slices.ContainsFunc(sc.Overwrites, func(n storage.Overwrite) bool { return n.TargetID == o.TargetID }) {
			if err := tx.DeleteOverwrite(ctx, storage.InGuild(guildID), c.ID, o.TargetID); err != nil {
				return err
			}
		}
	}
	for _, o := range sc.Overwrites {
		if err := tx.SetOverwrite(ctx, storage.InGuild(guildID), c.ID, o); err != nil {
			return err
		}
	}
	return nil
}

// replicableType reports whether an origin's event may enter a replica's
// log under its type. Every applied event is published on this server's
// bus, where some names are not dispatches for a guild's sessions: the
// bus's own internal events (HEARTH_..., on which the gateway acts, for
// one by closing a user's connections), PRESENCE_UPDATE (which the gateway
// takes as a presence to remember, and which comes only as an ephemeral
// event, checked as §8.6 says), and the dispatches about a client's own
// session and user (READY, USER_UPDATE...), which a client would take as
// news of itself. Any other name of a dispatch's form is the origin's to
// send, dispatched only when the applier knows nothing of it (§10).
func upsertThread(ctx context.Context, tx storage.Tx, guildID snowflake.ID, c discord.Channel) error {
	if !storage.IsThread(c.Type) || c.ParentID == nil {
		return nil
	}
	t := storage.Channel{ID: c.ID, GuildID: guildID, Type: c.Type, Name: c.Name, ParentID: *c.ParentID,
		OwnerID: derefID(c.OwnerID), RateLimitPerUser: c.RateLimitPerUser, CreatedAt: c.ID.Time(),
		Thread: &storage.ThreadMeta{AutoArchive: 4320}}
	if m := c.ThreadMetadata; m != nil {
		t.Thread = &storage.ThreadMeta{Archived: m.Archived, Locked: m.Locked, AutoArchive: m.AutoArchiveDuration,
			ArchivedAt: time.Time(m.ArchiveTimestamp), Invitable: m.Invitable == nil || *m.Invitable}
		if m.CreateTimestamp != nil {
			t.CreatedAt = time.Time(*m.CreateTimestamp)
		}
	}
	if parent, err := tx.ChannelByID(ctx, t.ParentID); err == nil && parent.GuildID != guildID {
		return fmt.Errorf("thread %d under channel %d of another guild: %w", c.ID, t.ParentID, ErrForbidden)
	} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	if old, err := tx.ChannelByID(ctx, c.ID); errors.Is(err, storage.ErrNotFound) {
		return tx.CreateChannel(ctx, t)
	} else if err != nil {
		return err
	} else if old.GuildID != guildID || !storage.IsThread(old.Type) {
		return fmt.Errorf("thread %d is not a thread of guild %d: %w", c.ID, guildID, ErrForbidden)
	}
	return tx.UpdateChannel(ctx, storage.InGuild(guildID), t)
}

// applyThreadMembers applies THREAD_MEMBERS_UPDATE to a replica.
func applyThreadMembers(ctx context.Context, tx storage.Tx, guildID snowflake.ID, e discord.ThreadMembersUpdateEvent) error {
	if c, err := tx.ChannelByID(ctx, e.ID); err != nil {
		return err // a thread the replica does not hold
	} else if c.GuildID != guildID || !storage.IsThread(c.Type) {
		return fmt.Errorf("thread %d is not a thread of guild %d: %w", e.ID, guildID, ErrForbidden)
	}
	s := storage.InGuild(guildID)
	for _, m := range e.AddedMembers {
		if m.UserID == nil {
			continue
		}
		err := tx.AddThreadMember(ctx, s, storage.ThreadMember{ThreadID: e.ID, UserID: *m.UserID,
			JoinedAt: time.Time(m.JoinTimestamp), Flags: m.Flags})
		if err != nil && !errors.Is(err, storage.ErrConflict) { // a conflict leaves the transaction usable
			return err
		}
	}
	for _, id := range e.RemovedMemberIDs {
		if err := ignoreMissing(tx.RemoveThreadMember(ctx, s, e.ID, id)); err != nil {
			return err
		}
	}
	return nil
}

// HistoryFloors takes from a snapshot's (decoded, global) state the newest
// message of each of its channels, which a replica of the origin's log
// does not hold, and removes them: they name messages only backfill will
// bring.
func HistoryFloors(v any, origin string) map[string]snowflake.ID {
	out := map[string]snowflake.ID{}
	st, _ := v.(map[string]any)
	chans, _ := st["channels"].([]any)
	for _, c := range chans {
		obj, ok := c.(map[string]any)
		if !ok {
			continue
		}
		last, _ := obj["last_message_id"].(string)
		delete(obj, "last_message_id")
		id, _ := obj["id"].(string)
		raw, o, ok := globalid.Parse(last)
		if !ok || o != origin {
			continue
		}
		if n, err := strconv.ParseUint(raw, 10, 64); err == nil {
			out[id] = snowflake.ID(n)
		}
	}
	return out
}

// syncEmojis makes a replica's custom emoji the origin's list (a
// snapshot's, or GUILD_EMOJIS_UPDATE's); images are fetched when asked for.
func syncEmojis(ctx context.Context, tx storage.Tx, guildID snowflake.ID, list []discord.Emoji) error {
	have, err := tx.GuildEmojis(ctx, guildID)
	if err != nil {
		return err
	}
	for _, old := range have {
		if !slices.ContainsFunc(list, func(e discord.Emoji) bool { return e.ID == old.ID }) {
			if err := ignoreMissing(tx.DeleteEmoji(ctx, storage.InGuild(guildID), old.ID)); err != nil {
				return err
			}
		}
	}
	for _, e := range list {
		i := slices.IndexFunc(have, func(o storage.Emoji) bool { return o.ID == e.ID })
		if i >= 0 {
			if have[i].Name != e.Name {
				have[i].Name = e.Name
				if err := tx.UpdateEmoji(ctx, storage.InGuild(guildID), have[i]); err != nil {
					return err
				}
			}
			continue
		}
		if _, err := tx.Emoji(ctx, e.ID); err == nil {
			// Another guild's emoji under this ID: refused, not changed.
			return fmt.Errorf("emoji %d belongs to another guild: %w", e.ID, ErrForbidden)
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		var creator snowflake.ID
		if e.User != nil {
			creator = e.User.ID
		}
		if err := tx.CreateEmoji(ctx, storage.Emoji{ID: e.ID, GuildID: guildID, UserID: creator, Name: e.Name,
			Animated: e.Animated, Available: e.Available, CreatedAt: e.ID.Time()}); err != nil {
			return err
		}
	}
	return nil
}

// ApplyState writes a join's snapshot of the origin's guild, in this
// server's IDs, into replica t: the guild (made, or updated when existing),
// its roles, channels, custom emoji and threads, each of which must be the
// origin's own in t (l is the snapshot's localizer in replica mode).
func ApplyState(ctx context.Context, tx storage.Tx, b Bound, l *globalid.Localizer, t Target, gd discord.Guild, channels, threads []discord.Channel, existing bool) error {
	raw, _, _ := globalid.Parse(t.Global)
	g := guildFrom(gd, storage.Guild{ID: t.ID, CreatedAt: t.ID.Time(), Origin: t.Origin, OriginID: raw})
	var err error
	if existing {
		err = tx.UpdateGuild(ctx, g)
	} else {
		err = tx.CreateGuild(ctx, g)
	}
	if err != nil {
		return err
	}
	for _, r := range gd.Roles {
		if err := l.Owned(r.ID); err != nil {
			return err
		}
		if err := upsertRole(ctx, tx, t.ID, r); err != nil {
			return err
		}
	}
	for _, c := range channels {
		if err := l.Owned(c.ID); err != nil {
			return err
		}
		if err := upsertChannel(ctx, tx, t.ID, c); err != nil {
			return err
		}
	}
	for _, e := range gd.Emojis {
		if err := l.Owned(e.ID); err != nil {
			return err
		}
	}
	if err := b.EmojiBound(t.ID, len(gd.Emojis)); err != nil {
		return err
	}
	if err := syncEmojis(ctx, tx, t.ID, gd.Emojis); err != nil {
		return err
	}
	for _, th := range threads {
		if err := l.Owned(th.ID); err != nil {
			return err
		}
		if err := upsertThread(ctx, tx, t.ID, th); err != nil {
			return err
		}
	}
	return b.ObjectBound(ctx, tx, t.ID)
}

// Bound is the part of Env that a snapshot or a page of members needs.
type Bound interface {
	// MemberBound refuses a payload that took a replica guild over its
	// member bound; asked once per payload that added members.
	MemberBound(ctx context.Context, tx storage.Tx, guildID snowflake.ID) error
	// ObjectBound refuses a payload that took a replica guild over its
	// bounds on channels, threads, roles and custom emoji; asked once per
	// payload that wrote any.
	ObjectBound(ctx context.Context, tx storage.Tx, guildID snowflake.ID) error
	// EmojiBound refuses a list of n custom emoji over a replica guild's
	// bound before any row is written: the list replaces the guild's, so
	// its length is what the guild would hold, and an overlong one costs
	// no database work.
	EmojiBound(guildID snowflake.ID, n int) error
}

// ApplyMembers writes a page of the origin's members (a snapshot's first,
// or a member page) into the replica guild guildID, and refuses the page
// when the new rows took the guild over its bound.
func ApplyMembers(ctx context.Context, tx storage.Tx, b Bound, guildID snowflake.ID, members []discord.Member) error {
	added := false
	for _, m := range members {
		a, err := upsertMember(ctx, tx, guildID, m)
		if err != nil {
			return err
		}
		added = added || a
	}
	if added {
		return b.MemberBound(ctx, tx, guildID)
	}
	return nil
}

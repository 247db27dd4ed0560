package storagetest

import (
	"context"
	"errors"
	"testing"

	"hearth/snowflake"
	"hearth/storage"
)

// scopeFixture is a guild with one of every object a scoped write can name,
// a second guild to aim writes from, and a DM channel beside a second one.
type scopeFixture struct {
	g1, g2        storage.Guild
	c1, c2        storage.Channel // text channels of g1 and g2
	th1           storage.Channel // a thread of c1
	role1         storage.Role
	emoji1        storage.Emoji
	invite1       storage.Invite
	m1, m2        storage.Message // messages of c1; m1 has an attachment
	att1          storage.Attachment
	tm1           storage.Message // a message of th1
	dm1, dm2      storage.Channel // group DMs
	dmMsg1        storage.Message // a message of dm1
	u0, u1, u2    snowflake.ID    // members of g1 (u0 also of g2) and recipients of dm1
	everyoneDeny  storage.Overwrite
	memberOverlap storage.Overwrite
}

func newScopeFixture(t *testing.T, s storage.Store) scopeFixture {
	t.Helper()
	ctx := context.Background()
	var f scopeFixture
	f.g1, f.g2 = createGuild(t, s, Name("scoped"), false), createGuild(t, s, Name("aimer"), false)
	us := createUsers(t, s, 3)
	f.u0, f.u1, f.u2 = us[0].ID, us[1].ID, us[2].ID
	f.everyoneDeny = storage.Overwrite{TargetID: f.g1.ID, Type: storage.OverwriteRole, Deny: 0x800}
	f.memberOverlap = storage.Overwrite{TargetID: f.u1, Type: storage.OverwriteMember, Allow: 0x400}
	f.c1, f.c2 = newChannel(f.g1.ID, "one", 0), newChannel(f.g2.ID, "two", 0)
	f.c1.Overwrites = []storage.Overwrite{f.everyoneDeny, f.memberOverlap}
	f.th1 = newThread(f.c1, storage.ChannelPublicThread, f.u0, "thread")
	f.role1 = newRole(f.g1.ID, "mods", 1)
	f.emoji1 = storage.Emoji{ID: ids.Next(), GuildID: f.g1.ID, UserID: f.u0, Name: "blob", Hash: "hash-blob",
		Available: true, CreatedAt: at(t0)}
	f.invite1 = storage.Invite{Code: Name("inv"), GuildID: f.g1.ID, ChannelID: f.c1.ID, CreatedAt: at(t0)}
	f.m1, f.m2 = newMessage(f.c1, f.u0, "one"), newMessage(f.c1, f.u1, "two")
	f.att1 = attach(&f.m1, "file.png")
	f.tm1 = newMessage(f.th1, f.u1, "in thread")
	f.dm1 = newDM(storage.ChannelGroupDM, f.u0, f.u1, f.u2)
	f.dm2 = newDM(storage.ChannelGroupDM, f.u0, f.u2)
	f.dmMsg1 = newMessage(f.dm1, f.u1, "private")
	update(t, s, func(tx storage.Tx) error {
		steps := []error{
			tx.CreateChannel(ctx, f.c1), tx.CreateChannel(ctx, f.c2), tx.CreateChannel(ctx, f.th1),
			tx.CreateChannel(ctx, f.dm1), tx.CreateChannel(ctx, f.dm2),
			tx.CreateRole(ctx, f.role1), tx.CreateEmoji(ctx, f.emoji1), tx.CreateInvite(ctx, f.invite1),
			tx.AddMember(ctx, newMember(f.g1.ID, f.u0, f.role1.ID)), tx.AddMember(ctx, newMember(f.g1.ID, f.u1)),
			tx.AddMember(ctx, newMember(f.g2.ID, f.u0)),
			tx.CreateMessages(ctx, storage.InGuild(f.g1.ID), []storage.Message{f.m1, f.m2, f.tm1}),
			tx.CreateMessage(ctx, storage.InDM(f.dm1.ID), f.dmMsg1),
		}
		for _, r := range []struct {
			m     storage.Message
			scope storage.Scope
		}{{f.m1, storage.InGuild(f.g1.ID)}, {f.m2, storage.InGuild(f.g1.ID)}, {f.dmMsg1, storage.InDM(f.dm1.ID)}} {
			steps = append(steps, tx.AddReaction(ctx, r.scope, storage.Reaction{MessageID: r.m.ID,
				ChannelID: r.m.ChannelID, UserID: f.u0, Emoji: "👍", CreatedAt: at(t0)}))
		}
		steps = append(steps, tx.AddThreadMember(ctx, storage.InGuild(f.g1.ID),
			storage.ThreadMember{ThreadID: f.th1.ID, UserID: f.u0, JoinedAt: at(t0)}))
		return errors.Join(steps...)
	})
	return f
}

// scopeState is everything a scoped write could change, read back.
type scopeState struct {
	Channels, Channels2, Threads []storage.Channel
	Roles                        []storage.Role
	Emojis                       []storage.Emoji
	Invites                      []storage.Invite
	Members                      []storage.Member
	History, ThreadHistory, DMs  []storage.Message
	Reactions                    []storage.ReactionCount
	ThreadMembers                []storage.ThreadMember
	Revisions                    []storage.Revision
	DM1, DM2                     storage.Channel
}

func readScopeState(ctx context.Context, s storage.Reader, f scopeFixture) (scopeState, error) {
	var st scopeState
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	var err error
	st.Channels, err = s.GuildChannels(ctx, f.g1.ID)
	add(err)
	st.Channels2, err = s.GuildChannels(ctx, f.g2.ID)
	add(err)
	st.Threads, err = s.ActiveThreads(ctx, f.g1.ID)
	add(err)
	st.Roles, err = s.GuildRoles(ctx, f.g1.ID)
	add(err)
	st.Emojis, err = s.GuildEmojis(ctx, f.g1.ID)
	add(err)
	st.Invites, err = s.GuildInvites(ctx, f.g1.ID)
	add(err)
	st.Members, err = s.Members(ctx, f.g1.ID, 0, 100)
	add(err)
	st.History, err = s.Messages(ctx, f.c1.ID, storage.MessageQuery{Limit: 100})
	add(err)
	st.ThreadHistory, err = s.Messages(ctx, f.th1.ID, storage.MessageQuery{Limit: 100})
	add(err)
	st.DMs, err = s.Messages(ctx, f.dm1.ID, storage.MessageQuery{Limit: 100})
	add(err)
	st.Reactions, err = s.Reactions(ctx, []snowflake.ID{f.m1.ID, f.m2.ID, f.tm1.ID, f.dmMsg1.ID}, f.u0)
	add(err)
	st.ThreadMembers, err = s.ThreadMembers(ctx, f.th1.ID)
	add(err)
	for _, id := range []snowflake.ID{f.m1.ID, f.dmMsg1.ID} {
		revs, err := s.Revisions(ctx, id)
		add(err)
		st.Revisions = append(st.Revisions, revs...)
	}
	st.DM1, err = s.ChannelByID(ctx, f.dm1.ID)
	add(err)
	st.DM2, err = s.ChannelByID(ctx, f.dm2.ID)
	add(err)
	for i := range st.Channels {
		st.Channels[i] = sortedOverwrites(st.Channels[i])
	}
	st.DM1, st.DM2 = sortedRecipients(st.DM1), sortedRecipients(st.DM2)
	return st, errors.Join(errs...)
}

// testScopedWrites: every write of an object that belongs to a guild or a
// DM channel, aimed at an object of guild 1 (or DM channel 1) with another
// scope, changes nothing and answers ErrNotFound, or, for the methods that
// report a miss as nothing done, no error and a count of 0. The state is
// read back inside the write's transaction, so that "nothing changed" is the
// statement's doing and not a rollback's; the transaction is then rolled
// back, so that a write that did reach its object fails its own case only.
func testScopedWrites(t *testing.T, s storage.Store) {
	ctx := context.Background()
	f := newScopeFixture(t, s)
	g1, g2 := storage.InGuild(f.g1.ID), storage.InGuild(f.g2.ID)
	dm1, dm2 := storage.InDM(f.dm1.ID), storage.InDM(f.dm2.ID)
	inC1 := storage.InDM(f.c1.ID) // a DM scope naming a guild channel
	none := func(err error) (int, error) { return -1, err }
	renamed := f.c1
	renamed.Name = "taken over"
	archived := f.th1
	archived.Thread = &storage.ThreadMeta{Archived: true, Locked: true, AutoArchive: 60, ArchivedAt: at(t0 + 9)}
	role := f.role1
	role.Name, role.Permissions, role.Position = "owned", 8, 99
	everyone := storage.Role{ID: f.g1.ID, GuildID: f.g1.ID, Name: "@everyone", Permissions: 8}
	emoji := f.emoji1
	emoji.Name = "stolen"
	edited := f.m1
	edited.Content, edited.EditedAt, edited.Attachments = "rewritten", at(t0+9), nil
	pinned := f.m2
	pinned.Pinned, pinned.PinnedAt = true, at(t0+9)
	dmEdited := f.dmMsg1
	dmEdited.Content = "rewritten"
	react := func(m storage.Message, emoji string) storage.Reaction {
		return storage.Reaction{MessageID: m.ID, ChannelID: m.ChannelID, UserID: f.u2, Emoji: emoji, CreatedAt: at(t0 + 9)}
	}
	dmRenamed := f.dm1
	dmRenamed.Name = "taken over"

	cases := []struct {
		name string
		fn   func(tx storage.Tx) (int, error)
		// want is the error; nil means the method reports a miss as
		// nothing done, and its count (when it has one) must be 0.
		want error
	}{
		{"UpdateChannel", func(tx storage.Tx) (int, error) { return none(tx.UpdateChannel(ctx, g2, renamed)) }, storage.ErrNotFound},
		{"UpdateChannel(thread)", func(tx storage.Tx) (int, error) { return none(tx.UpdateChannel(ctx, g2, archived)) }, storage.ErrNotFound},
		{"UpdateChannel(DM scope, guild channel)", func(tx storage.Tx) (int, error) { return none(tx.UpdateChannel(ctx, inC1, renamed)) }, storage.ErrNotFound},
		{"UpdateChannel(zero scope)", func(tx storage.Tx) (int, error) { return none(tx.UpdateChannel(ctx, storage.Scope{}, renamed)) }, storage.ErrNotFound},
		{"DeleteChannel", func(tx storage.Tx) (int, error) { return none(tx.DeleteChannel(ctx, g2, f.c1.ID)) }, storage.ErrNotFound},
		{"DeleteChannel(thread)", func(tx storage.Tx) (int, error) { return none(tx.DeleteChannel(ctx, g2, f.th1.ID)) }, storage.ErrNotFound},
		{"SetOverwrite(new)", func(tx storage.Tx) (int, error) {
			return none(tx.SetOverwrite(ctx, g2, f.c1.ID, storage.Overwrite{TargetID: f.u2, Type: storage.OverwriteMember, Allow: 8}))
		}, storage.ErrNotFound},
		{"SetOverwrite(replace)", func(tx storage.Tx) (int, error) {
			return none(tx.SetOverwrite(ctx, g2, f.c1.ID, storage.Overwrite{TargetID: f.g1.ID, Type: storage.OverwriteRole, Allow: 8}))
		}, storage.ErrNotFound},
		{"DeleteOverwrite", func(tx storage.Tx) (int, error) { return none(tx.DeleteOverwrite(ctx, g2, f.c1.ID, f.g1.ID)) }, storage.ErrNotFound},
		{"UpdateRole", func(tx storage.Tx) (int, error) { return none(tx.UpdateRole(ctx, g2, role)) }, storage.ErrNotFound},
		{"UpdateRole(@everyone)", func(tx storage.Tx) (int, error) { return none(tx.UpdateRole(ctx, g2, everyone)) }, storage.ErrNotFound},
		{"UpdateRole(DM scope)", func(tx storage.Tx) (int, error) { return none(tx.UpdateRole(ctx, dm1, role)) }, storage.ErrNotFound},
		{"DeleteRole", func(tx storage.Tx) (int, error) { return none(tx.DeleteRole(ctx, g2, f.role1.ID)) }, storage.ErrNotFound},
		{"DeleteRole(@everyone)", func(tx storage.Tx) (int, error) { return none(tx.DeleteRole(ctx, g2, f.g1.ID)) }, storage.ErrNotFound},
		{"UpdateEmoji", func(tx storage.Tx) (int, error) { return none(tx.UpdateEmoji(ctx, g2, emoji)) }, storage.ErrNotFound},
		{"DeleteEmoji", func(tx storage.Tx) (int, error) { return none(tx.DeleteEmoji(ctx, g2, f.emoji1.ID)) }, storage.ErrNotFound},
		{"SetEmojiHash", func(tx storage.Tx) (int, error) { return none(tx.SetEmojiHash(ctx, g2, f.emoji1.ID, "hash-other")) }, nil},
		{"DeleteInvite", func(tx storage.Tx) (int, error) { return none(tx.DeleteInvite(ctx, g2, f.invite1.Code)) }, storage.ErrNotFound},
		{"UpdateMessage", func(tx storage.Tx) (int, error) { return none(tx.UpdateMessage(ctx, g2, edited)) }, storage.ErrNotFound},
		{"UpdateMessage(pin)", func(tx storage.Tx) (int, error) { return none(tx.UpdateMessage(ctx, g2, pinned)) }, storage.ErrNotFound},
		{"UpdateMessage(DM scope, guild message)", func(tx storage.Tx) (int, error) { return none(tx.UpdateMessage(ctx, inC1, edited)) }, storage.ErrNotFound},
		{"UpdateMessage(other DM)", func(tx storage.Tx) (int, error) { return none(tx.UpdateMessage(ctx, dm2, dmEdited)) }, storage.ErrNotFound},
		{"UpdateMessage(guild scope, DM message)", func(tx storage.Tx) (int, error) { return none(tx.UpdateMessage(ctx, g1, dmEdited)) }, storage.ErrNotFound},
		{"DeleteMessages", func(tx storage.Tx) (int, error) { return tx.DeleteMessages(ctx, g2, f.c1.ID, []snowflake.ID{f.m1.ID}) }, nil},
		{"DeleteMessages(bulk)", func(tx storage.Tx) (int, error) {
			return tx.DeleteMessages(ctx, g2, f.c1.ID, []snowflake.ID{f.m1.ID, f.m2.ID})
		}, nil},
		{"DeleteMessages(thread)", func(tx storage.Tx) (int, error) {
			return tx.DeleteMessages(ctx, g2, f.th1.ID, []snowflake.ID{f.tm1.ID})
		}, nil},
		{"DeleteMessages(DM scope, guild channel)", func(tx storage.Tx) (int, error) {
			return tx.DeleteMessages(ctx, inC1, f.c1.ID, []snowflake.ID{f.m1.ID})
		}, nil},
		{"DeleteMessages(other DM)", func(tx storage.Tx) (int, error) {
			return tx.DeleteMessages(ctx, dm2, f.dm1.ID, []snowflake.ID{f.dmMsg1.ID})
		}, nil},
		{"DeleteMessages(guild scope, DM)", func(tx storage.Tx) (int, error) {
			return tx.DeleteMessages(ctx, g1, f.dm1.ID, []snowflake.ID{f.dmMsg1.ID})
		}, nil},
		{"DeleteMessages(zero scope)", func(tx storage.Tx) (int, error) {
			return tx.DeleteMessages(ctx, storage.Scope{}, f.dm1.ID, []snowflake.ID{f.dmMsg1.ID})
		}, nil},
		{"AddReaction", func(tx storage.Tx) (int, error) { return none(tx.AddReaction(ctx, g2, react(f.m1, "🔥"))) }, storage.ErrNotFound},
		{"AddReaction(already there)", func(tx storage.Tx) (int, error) {
			r := react(f.m1, "👍")
			r.UserID = f.u0
			return none(tx.AddReaction(ctx, g2, r))
		}, storage.ErrNotFound},
		{"AddReaction(other DM)", func(tx storage.Tx) (int, error) { return none(tx.AddReaction(ctx, dm2, react(f.dmMsg1, "🔥"))) }, storage.ErrNotFound},
		{"AddReaction(channel not the message's)", func(tx storage.Tx) (int, error) {
			r := react(f.m1, "🔥")
			r.ChannelID = f.th1.ID
			return none(tx.AddReaction(ctx, g1, r))
		}, storage.ErrNotFound},
		{"RemoveReaction", func(tx storage.Tx) (int, error) { return none(tx.RemoveReaction(ctx, g2, f.m1.ID, f.u0, "👍")) }, storage.ErrNotFound},
		{"RemoveReaction(other DM)", func(tx storage.Tx) (int, error) {
			return none(tx.RemoveReaction(ctx, dm2, f.dmMsg1.ID, f.u0, "👍"))
		}, storage.ErrNotFound},
		{"RemoveReactions(all)", func(tx storage.Tx) (int, error) { return tx.RemoveReactions(ctx, g2, f.m1.ID, "") }, nil},
		{"RemoveReactions(emoji)", func(tx storage.Tx) (int, error) { return tx.RemoveReactions(ctx, g2, f.m2.ID, "👍") }, nil},
		{"RemoveReactions(DM scope, guild message)", func(tx storage.Tx) (int, error) { return tx.RemoveReactions(ctx, inC1, f.m1.ID, "") }, nil},
		{"RemoveReactions(guild scope, DM message)", func(tx storage.Tx) (int, error) { return tx.RemoveReactions(ctx, g1, f.dmMsg1.ID, "") }, nil},
		{"SetAttachmentHash", func(tx storage.Tx) (int, error) { return none(tx.SetAttachmentHash(ctx, g2, f.att1.ID, "hash-other")) }, nil},
		{"SetAttachmentHash(DM scope)", func(tx storage.Tx) (int, error) {
			return none(tx.SetAttachmentHash(ctx, inC1, f.att1.ID, "hash-other"))
		}, nil},
		{"AddThreadMember", func(tx storage.Tx) (int, error) {
			return none(tx.AddThreadMember(ctx, g2, storage.ThreadMember{ThreadID: f.th1.ID, UserID: f.u1, JoinedAt: at(t0 + 9)}))
		}, storage.ErrNotFound},
		{"AddThreadMember(already there)", func(tx storage.Tx) (int, error) {
			return none(tx.AddThreadMember(ctx, g2, storage.ThreadMember{ThreadID: f.th1.ID, UserID: f.u0, JoinedAt: at(t0 + 9)}))
		}, storage.ErrNotFound},
		{"RemoveThreadMember", func(tx storage.Tx) (int, error) { return none(tx.RemoveThreadMember(ctx, g2, f.th1.ID, f.u0)) }, storage.ErrNotFound},
		{"SetRecipients(other DM)", func(tx storage.Tx) (int, error) {
			return none(tx.SetRecipients(ctx, dm2, f.dm1.ID, []snowflake.ID{f.u2}))
		}, storage.ErrNotFound},
		{"SetRecipients(guild scope)", func(tx storage.Tx) (int, error) {
			return none(tx.SetRecipients(ctx, g1, f.dm1.ID, []snowflake.ID{f.u2}))
		}, storage.ErrNotFound},
		{"UpdateChannel(other DM)", func(tx storage.Tx) (int, error) { return none(tx.UpdateChannel(ctx, dm2, dmRenamed)) }, storage.ErrNotFound},
		{"DeleteChannel(other DM)", func(tx storage.Tx) (int, error) { return none(tx.DeleteChannel(ctx, dm2, f.dm1.ID)) }, storage.ErrNotFound},
		{"AddRevision", func(tx storage.Tx) (int, error) {
			return none(tx.AddRevision(ctx, g2, storage.Revision{ID: ids.Next(), MessageID: f.m1.ID, ChannelID: f.c1.ID,
				GuildID: f.g2.ID, AuthorID: f.u0, EditorID: f.u2, Content: "forged", At: at(t0 + 9)}))
		}, storage.ErrNotFound},
		{"AddRevision(other DM)", func(tx storage.Tx) (int, error) {
			return none(tx.AddRevision(ctx, dm2, storage.Revision{ID: ids.Next(), MessageID: f.dmMsg1.ID,
				ChannelID: f.dm1.ID, AuthorID: f.u1, EditorID: f.u2, Content: "forged", At: at(t0 + 9)}))
		}, storage.ErrNotFound},
		{"CreateMessage(other guild's channel)", func(tx storage.Tx) (int, error) {
			m := newMessage(f.c1, f.u0, "planted")
			m.GuildID = f.g2.ID
			return none(tx.CreateMessage(ctx, g2, m))
		}, storage.ErrNotFound},
		{"CreateMessage(guild not the scope's)", func(tx storage.Tx) (int, error) {
			return none(tx.CreateMessage(ctx, g2, newMessage(f.c1, f.u0, "planted")))
		}, storage.ErrNotFound},
		{"CreateMessage(other DM)", func(tx storage.Tx) (int, error) {
			return none(tx.CreateMessage(ctx, dm2, newMessage(f.dm1, f.u0, "planted")))
		}, storage.ErrNotFound},
		{"CreateMessage(DM scope, guild channel)", func(tx storage.Tx) (int, error) {
			m := newMessage(f.c1, f.u0, "planted")
			m.GuildID = 0
			return none(tx.CreateMessage(ctx, inC1, m))
		}, storage.ErrNotFound},
		{"CreateMessage(guild scope, DM channel)", func(tx storage.Tx) (int, error) {
			m := newMessage(f.dm1, f.u0, "planted")
			m.GuildID = f.g1.ID
			return none(tx.CreateMessage(ctx, g1, m))
		}, storage.ErrNotFound},
		{"CreateMessages(one of several out of scope)", func(tx storage.Tx) (int, error) {
			stray := newMessage(f.dm1, f.u0, "planted")
			stray.GuildID = f.g1.ID
			ok := newMessage(f.c1, f.u0, "in scope")
			attach(&ok, "kept-out.png")
			return none(tx.CreateMessages(ctx, g1, []storage.Message{ok, newMessage(f.th1, f.u0, "in scope too"), stray}))
		}, storage.ErrNotFound},
		// Members are keyed by their guild: naming the guild is the scope.
		{"UpdateMember(other guild)", func(tx storage.Tx) (int, error) {
			return none(tx.UpdateMember(ctx, newMember(f.g2.ID, f.u1)))
		}, storage.ErrNotFound},
		{"RemoveMember(other guild)", func(tx storage.Tx) (int, error) { return none(tx.RemoveMember(ctx, f.g2.ID, f.u1)) }, storage.ErrNotFound},
		{"LockMember(other guild)", func(tx storage.Tx) (int, error) { return none(tx.LockMember(ctx, f.g2.ID, f.u1)) }, storage.ErrNotFound},
	}
	state := func(r storage.Reader) scopeState {
		t.Helper()
		st, err := readScopeState(ctx, r, f)
		if err != nil {
			t.Fatalf("read state: %v", err)
		}
		return st
	}
	before := state(s)
	errRollback := errors.New("roll back")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var n int
			var err, readErr error
			var after scopeState
			uerr := s.Update(ctx, func(tx storage.Tx) error {
				n, err = tc.fn(tx)
				after, readErr = readScopeState(ctx, tx, f)
				return errRollback
			})
			if !errors.Is(uerr, errRollback) {
				t.Fatalf("transaction: %v", uerr)
			}
			switch {
			case tc.want != nil:
				wantErr(t, tc.name, err, tc.want)
			case err != nil:
				t.Fatalf("%s: err = %v, want none", tc.name, err)
			case n > 0:
				t.Fatalf("%s = %d, want 0", tc.name, n)
			}
			if readErr != nil {
				t.Fatalf("read state after %s: %v", tc.name, readErr)
			}
			checkEqual(t, "state after "+tc.name, after, before)
		})
	}
	checkEqual(t, "state after every case", state(s), before)

	// A member of guild 2 given a role of guild 1 is refused whole.
	err := s.Update(ctx, func(tx storage.Tx) error { return tx.UpdateMember(ctx, newMember(f.g2.ID, f.u0, f.role1.ID)) })
	if err == nil {
		t.Fatal("UpdateMember with a role of another guild: no error")
	}
	if m, err := s.Member(ctx, f.g2.ID, f.u0); err != nil || len(m.Roles) != 0 {
		t.Fatalf("member of guild 2 after the refusal = %+v, %v", m, err)
	}

	// The same writes in their own scope do reach the objects, so that the
	// refusals above are the scope's doing.
	update(t, s, func(tx storage.Tx) error {
		steps := []error{
			tx.UpdateChannel(ctx, g1, renamed), tx.UpdateRole(ctx, g1, role), tx.UpdateEmoji(ctx, g1, emoji),
			tx.SetEmojiHash(ctx, g1, f.emoji1.ID, "hash-fetched"), tx.UpdateMessage(ctx, g1, pinned),
			tx.AddReaction(ctx, g1, react(f.m1, "🔥")), tx.RemoveReaction(ctx, g1, f.m1.ID, f.u0, "👍"),
			tx.SetAttachmentHash(ctx, g1, f.att1.ID, "hash-fetched"), tx.UpdateMessage(ctx, dm1, dmEdited),
			tx.AddThreadMember(ctx, g1, storage.ThreadMember{ThreadID: f.th1.ID, UserID: f.u1, JoinedAt: at(t0 + 9)}),
			tx.SetOverwrite(ctx, g1, f.c1.ID, storage.Overwrite{TargetID: f.u2, Type: storage.OverwriteMember, Allow: 8}),
			tx.DeleteOverwrite(ctx, g1, f.c1.ID, f.u1), tx.UpdateChannel(ctx, dm1, dmRenamed),
			tx.AddRevision(ctx, g1, storage.Revision{ID: ids.Next(), MessageID: f.m1.ID, ChannelID: f.c1.ID,
				GuildID: f.g1.ID, AuthorID: f.u0, EditorID: f.u0, Content: "one", At: at(t0 + 9)}),
		}
		n, err := tx.DeleteMessages(ctx, dm1, f.dm1.ID, []snowflake.ID{f.dmMsg1.ID})
		if err == nil && n != 1 {
			err = errors.New("DeleteMessages in scope deleted none")
		}
		return errors.Join(append(steps, err)...)
	})
	if equal(state(s), before) {
		t.Fatal("writes in their own scope changed nothing")
	}
	c, err := s.ChannelByID(ctx, f.c1.ID)
	if err != nil || c.Name != renamed.Name {
		t.Fatalf("channel after an update in scope = %+v, %v", c, err)
	}
	if a, err := s.Attachment(ctx, f.att1.ID); err != nil || a.Hash != "hash-fetched" {
		t.Fatalf("attachment after SetAttachmentHash in scope = %+v, %v", a, err)
	}
	if e, err := s.Emoji(ctx, f.emoji1.ID); err != nil || e.Hash != "hash-fetched" || e.Name != emoji.Name {
		t.Fatalf("emoji after writes in scope = %+v, %v", e, err)
	}
	update(t, s, func(tx storage.Tx) error {
		return errors.Join(tx.DeleteRole(ctx, g1, f.role1.ID), tx.DeleteEmoji(ctx, g1, f.emoji1.ID),
			tx.DeleteInvite(ctx, g1, f.invite1.Code), tx.RemoveThreadMember(ctx, g1, f.th1.ID, f.u0),
			tx.DeleteChannel(ctx, g1, f.th1.ID), tx.SetRecipients(ctx, dm1, f.dm1.ID, []snowflake.ID{f.u0, f.u1}))
	})
	if _, err := s.ChannelByID(ctx, f.th1.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("thread after DeleteChannel in scope: %v", err)
	}
}

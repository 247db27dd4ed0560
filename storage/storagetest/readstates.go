package storagetest

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"hearth/snowflake"
	"hearth/storage"
)

// testReadStates: acks move a read state forward only and count versions;
// states are per user and channel and go with their channel.
func testReadStates(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g, c, us := messageFixture(t, s, 2)
	c2 := newChannel(g.ID, "second", 1)
	update(t, s, func(tx storage.Tx) error { return tx.CreateChannel(ctx, c2) })
	a, b := us[0].ID, us[1].ID
	m1, m2, m3 := ids.Next(), ids.Next(), ids.Next()
	ack := func(user snowflake.ID, acks ...storage.ReadState) []storage.ReadState {
		var moved []storage.ReadState
		update(t, s, func(tx storage.Tx) error {
			var err error
			moved, err = tx.AckChannels(ctx, user, acks)
			return err
		})
		return moved
	}
	moved := ack(a, storage.ReadState{ChannelID: c.ID, LastMessageID: m2}, storage.ReadState{ChannelID: c2.ID, LastMessageID: m1})
	checkEqual(t, "first acks", moved, []storage.ReadState{
		{UserID: a, ChannelID: c.ID, LastMessageID: m2, Version: 1}, {UserID: a, ChannelID: c2.ID, LastMessageID: m1, Version: 1}})
	if moved := ack(a, storage.ReadState{ChannelID: c.ID, LastMessageID: m1}, storage.ReadState{ChannelID: c.ID, LastMessageID: m2}); len(moved) != 0 {
		t.Fatalf("acks back and in place moved %+v", moved)
	}
	checkEqual(t, "forward", ack(a, storage.ReadState{ChannelID: c.ID, LastMessageID: m3}),
		[]storage.ReadState{{UserID: a, ChannelID: c.ID, LastMessageID: m3, Version: 2}})
	// Marked unread: set back, version up; then set forward again.
	set := func(user, channel, msg snowflake.ID) storage.ReadState {
		var rs storage.ReadState
		update(t, s, func(tx storage.Tx) error {
			var err error
			rs, err = tx.SetReadState(ctx, user, channel, msg)
			return err
		})
		return rs
	}
	checkEqual(t, "set back", set(a, c.ID, m1), storage.ReadState{UserID: a, ChannelID: c.ID, LastMessageID: m1, Version: 3})
	checkEqual(t, "set forward", set(a, c.ID, m3), storage.ReadState{UserID: a, ChannelID: c.ID, LastMessageID: m3, Version: 4})
	checkEqual(t, "set new", set(b, c2.ID, m2), storage.ReadState{UserID: b, ChannelID: c2.ID, LastMessageID: m2, Version: 1})
	ack(b, storage.ReadState{ChannelID: c.ID, LastMessageID: m1})
	got, err := s.ReadStates(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	want := []storage.ReadState{{UserID: a, ChannelID: c.ID, LastMessageID: m3, Version: 4}, {UserID: a, ChannelID: c2.ID, LastMessageID: m1, Version: 1}}
	slices.SortFunc(want, func(x, y storage.ReadState) int { return int(x.ChannelID - y.ChannelID) })
	checkEqual(t, "read states of a", got, want)
	update(t, s, func(tx storage.Tx) error { return tx.DeleteChannel(ctx, storage.ScopeOf(c2), c2.ID) })
	if got, _ := s.ReadStates(ctx, a); len(got) != 1 || got[0].ChannelID != c.ID {
		t.Fatalf("after the channel's deletion: %+v", got)
	}
}

// testUnreadMentions: mentions of a user by name, by a role they hold and
// by @everyone are listed after their read state, not their own messages'
// nor those of guilds they are not in nor before they joined; deleted
// messages take their mentions with them; DM messages of others count.
func testUnreadMentions(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g, c, us := messageFixture(t, s, 3)
	a, b, outsider := us[0].ID, us[1].ID, us[2].ID
	role, other := newRole(g.ID, "pinged", 1), newRole(g.ID, "not held", 2)
	update(t, s, func(tx storage.Tx) error {
		for _, r := range []storage.Role{role, other} {
			if err := tx.CreateRole(ctx, r); err != nil {
				return err
			}
		}
		if err := tx.AddMember(ctx, newMember(g.ID, a, role.ID)); err != nil {
			return err
		}
		return tx.AddMember(ctx, newMember(g.ID, b))
	})
	msg := func(author snowflake.ID, edit func(*storage.Message)) storage.Message {
		m := newMessage(c, author, "text")
		if edit != nil {
			edit(&m)
		}
		return m
	}
	plain := msg(b, nil)
	direct := msg(b, func(m *storage.Message) { m.Mentions = []snowflake.ID{a, a, outsider} })
	byRole := msg(b, func(m *storage.Message) { m.MentionRoles = []snowflake.ID{role.ID} })
	notHeld := msg(b, func(m *storage.Message) { m.MentionRoles = []snowflake.ID{other.ID} })
	here := msg(b, func(m *storage.Message) { m.Content, m.MentionEveryone = "@here look", true })
	all := msg(b, func(m *storage.Message) { m.Content, m.MentionEveryone = "@everyone and @here", true })
	twice := msg(b, func(m *storage.Message) { m.Mentions, m.MentionRoles = []snowflake.ID{a}, []snowflake.ID{role.ID} })
	own := msg(a, func(m *storage.Message) {
		m.Content, m.Mentions, m.MentionEveryone = "@everyone", []snowflake.ID{a}, true
	})
	// "@EVERYONE" is no @everyone (Discord's is case-sensitive): it counts
	// on no database, and this @here reached nobody.
	shouting := msg(b, func(m *storage.Message) { m.Content, m.MentionEveryone = "@here and @EVERYONE", true })
	createMessages(t, s, plain, direct, byRole, notHeld, here, all, twice, own, shouting)

	list := func(user, channel snowflake.ID) []storage.Mention {
		t.Helper()
		got, err := s.UnreadMentions(ctx, user, channel, 1000)
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(got, func(x, y storage.Mention) int {
			if x.MessageID != y.MessageID {
				return int(x.MessageID - y.MessageID)
			}
			return int(x.Kind - y.Kind)
		})
		return got
	}
	mention := func(m storage.Message, k storage.MentionKind) storage.Mention {
		return storage.Mention{GuildID: g.ID, ChannelID: c.ID, MessageID: m.ID, Kind: k}
	}
	// @here counts only for those it reached while present.
	checkEqual(t, "unread mentions", list(a, 0), []storage.Mention{
		mention(direct, storage.MentionUser), mention(byRole, storage.MentionRole), mention(all, storage.MentionEveryone),
		mention(twice, storage.MentionUser), mention(twice, storage.MentionRole)})
	update(t, s, func(tx storage.Tx) error {
		if err := tx.AddHereMentions(ctx, here.ID, []snowflake.ID{a, outsider}); err != nil {
			return err
		}
		return tx.AddHereMentions(ctx, here.ID, []snowflake.ID{a}) // a repeat
	})
	checkEqual(t, "unread mentions with @here", list(a, 0), []storage.Mention{
		mention(direct, storage.MentionUser), mention(byRole, storage.MentionRole), mention(here, storage.MentionEveryone),
		mention(all, storage.MentionEveryone), mention(twice, storage.MentionUser), mention(twice, storage.MentionRole)})
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.AddHereMentions(ctx, ids.Next(), []snowflake.ID{a}) }); !errors.Is(err, storage.ErrDangling) {
		t.Fatalf("@here of a message that does not exist: %v", err)
	}
	checkEqual(t, "of b (only @everyone)", list(b, c.ID), []storage.Mention{mention(own, storage.MentionEveryone)})
	if got := list(outsider, 0); len(got) != 0 {
		t.Fatalf("a user outside the guild has mentions %+v", got)
	}
	if got, err := s.UnreadMentions(ctx, a, 0, 2); err != nil || len(got) != 2 {
		t.Fatalf("limit 2: %d, %v", len(got), err)
	}
	update(t, s, func(tx storage.Tx) error {
		_, err := tx.AckChannels(ctx, a, []storage.ReadState{{ChannelID: c.ID, LastMessageID: all.ID}})
		return err
	})
	checkEqual(t, "after an ack", list(a, c.ID), []storage.Mention{mention(twice, storage.MentionUser), mention(twice, storage.MentionRole)})
	update(t, s, func(tx storage.Tx) error {
		_, err := tx.DeleteMessages(ctx, storage.ScopeOf(c), c.ID, []snowflake.ID{twice.ID})
		return err
	})
	if got := list(a, 0); len(got) != 0 {
		t.Fatalf("after deleting the mentioning message: %+v", got)
	}
	if got := list(a, ids.Next()); len(got) != 0 {
		t.Fatalf("another channel: %+v", got)
	}

	// Joined after the message: it does not count.
	late := createUsers(t, s, 1)[0].ID
	update(t, s, func(tx storage.Tx) error {
		m := newMember(g.ID, late)
		m.JoinedAt = time.Now().Add(time.Hour)
		return tx.AddMember(ctx, m)
	})
	createMessages(t, s, msg(b, func(m *storage.Message) { m.Mentions = []snowflake.ID{late}; m.MentionEveryone = true }))
	if got := list(late, 0); len(got) != 0 {
		t.Fatalf("mentions from before joining: %+v", got)
	}

	// DMs: every message of the others, after the read state.
	dm := newDM(storage.ChannelDM, a, b)
	update(t, s, func(tx storage.Tx) error { return tx.CreateChannel(ctx, dm) })
	d1, d2, d3 := newMessage(dm, b, "1"), newMessage(dm, a, "mine"), newMessage(dm, b, "3")
	createMessages(t, s, d1, d2, d3)
	counts := func(user, channel snowflake.ID) map[snowflake.ID]int {
		t.Helper()
		got, err := s.UnreadDMCounts(ctx, user, channel)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	checkMap(t, "DM counts of a", counts(a, 0), map[snowflake.ID]int{dm.ID: 2})
	checkMap(t, "DM counts of b", counts(b, dm.ID), map[snowflake.ID]int{dm.ID: 1})
	checkMap(t, "DM counts of an outsider", counts(outsider, 0), map[snowflake.ID]int{})
	update(t, s, func(tx storage.Tx) error {
		_, err := tx.AckChannels(ctx, a, []storage.ReadState{{ChannelID: dm.ID, LastMessageID: d1.ID}})
		return err
	})
	checkMap(t, "after an ack", counts(a, 0), map[snowflake.ID]int{dm.ID: 1})
	update(t, s, func(tx storage.Tx) error {
		_, err := tx.DeleteMessages(ctx, storage.ScopeOf(dm), dm.ID, []snowflake.ID{d3.ID})
		return err
	})
	checkMap(t, "after a delete", counts(a, 0), map[snowflake.ID]int{})
}

// testUserGuildSettings: settings are written whole, read back, replaced,
// kept per user and guild, refused for a guild that does not exist, and go
// with their guild.
func testUserGuildSettings(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g, c, us := messageFixture(t, s, 2)
	a := us[0].ID
	if _, err := s.UserGuildSettingsOf(ctx, a, g.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("settings never written: %v", err)
	}
	set := storage.GuildSettings{UserID: a, GuildID: g.ID, Muted: true, MuteEndTime: at(t0 + 60_000),
		MessageNotifications: 1, SuppressEveryone: true, Version: 1,
		ChannelOverrides: []storage.ChannelOverride{{ChannelID: c.ID, Muted: true, MessageNotifications: 3, MuteEndTime: t0}}}
	update(t, s, func(tx storage.Tx) error { return tx.PutUserGuildSettings(ctx, set) })
	got, err := s.UserGuildSettingsOf(ctx, a, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "settings", got, set)
	set = storage.GuildSettings{UserID: a, GuildID: g.ID, MessageNotifications: 2, SuppressRoles: true, Version: 2,
		ChannelOverrides: []storage.ChannelOverride{}}
	update(t, s, func(tx storage.Tx) error { return tx.PutUserGuildSettings(ctx, set) })
	list, err := s.UserGuildSettings(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "replaced", list, []storage.GuildSettings{set})
	if list, _ := s.UserGuildSettings(ctx, us[1].ID); len(list) != 0 {
		t.Fatalf("another user's settings: %+v", list)
	}
	err = s.Update(ctx, func(tx storage.Tx) error {
		return tx.PutUserGuildSettings(ctx, storage.GuildSettings{UserID: a, GuildID: ids.Next(), Version: 1})
	})
	if err == nil {
		t.Fatal("settings of a guild that does not exist were written")
	}
	update(t, s, func(tx storage.Tx) error { return tx.DeleteGuild(ctx, g.ID) })
	if list, _ := s.UserGuildSettings(ctx, a); len(list) != 0 {
		t.Fatalf("settings outlive their guild: %+v", list)
	}
}

func checkMap(t *testing.T, what string, got, want map[snowflake.ID]int) {
	t.Helper()
	if !maps.Equal(got, want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

package origin

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"hearth/discord"
	"hearth/homeserver/permission"
	"hearth/snowflake"
	"hearth/storage"
	"hearth/storage/sqlite"
)

// What an origin serves, against a real SQLite store, without the domain:
// perms below computes a member's channel permissions with package
// permission from the stored guild, @everyone role and overwrites (no other
// roles: the guild here has none).

const (
	here = "here.test"
	peer = "peer.test"
)

type perms struct{ st storage.Reader }

func (d perms) ChannelPermissions(ctx context.Context, userID, channelID snowflake.ID) permission.Set {
	c, err := d.st.ChannelByID(ctx, channelID)
	if err != nil {
		return 0
	}
	g, err := d.st.GuildByID(ctx, c.GuildID)
	if err != nil {
		return 0
	}
	if _, err := d.st.Member(ctx, g.ID, userID); err != nil {
		return 0
	}
	roles, err := d.st.GuildRoles(ctx, g.ID)
	if err != nil {
		return 0
	}
	in := permission.Input{GuildID: uint64(g.ID), OwnerID: uint64(g.OwnerID), UserID: uint64(userID), Now: time.Now()}
	for _, r := range roles {
		if r.ID == g.ID {
			in.Everyone = permission.Set(r.Permissions)
		}
	}
	var ows []permission.Overwrite
	for _, o := range c.Overwrites {
		ows = append(ows, permission.Overwrite{ID: uint64(o.TargetID), Type: o.Type, Allow: permission.Set(o.Allow), Deny: permission.Set(o.Deny)})
	}
	return permission.Channel(in, ows)
}

func (d perms) Member(m storage.Member, u storage.User) discord.Member {
	return discord.Member{User: &discord.User{ID: u.ID, Username: u.Username}, JoinedAt: discord.Timestamp(m.JoinedAt)}
}

// guild is one of this server's guilds G (owner alice) with channels open
// and hidden (@everyone may not view it), and peer's user pete as a
// member; its log holds, in order, a message in each channel, an invite,
// and an update of the hidden channel.
type guild struct {
	s  Server
	id map[string]snowflake.ID
}

func newGuild(t *testing.T) *guild {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hearth.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ids := snowflake.NewGenerator(1)
	g := &guild{s: Server{Name: here, Store: st, Hot: st, Domain: perms{st}}, id: map[string]snowflake.ID{}}
	for _, n := range []string{"alice", "pete", "G", "open", "hidden", "m1", "m2"} {
		g.id[n] = ids.Next()
	}
	id := g.id
	now := time.Now().UTC().Truncate(time.Millisecond)
	view := int64(permission.ViewChannel | permission.ReadMessageHistory)
	payload := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	err = st.Update(ctx, func(tx storage.Tx) error {
		if err := tx.CreateUser(ctx, storage.User{ID: id["alice"], Username: "alice", CreatedAt: now}); err != nil {
			return err
		}
		if err := tx.CreateUser(ctx, storage.User{ID: id["pete"], Username: "pete", CreatedAt: now, Origin: peer, OriginID: "77"}); err != nil {
			return err
		}
		if err := tx.MapFederatedID(ctx, storage.GlobalID{Origin: peer, OriginID: "77"}, storage.Mapping{Local: id["pete"]}); err != nil {
			return err
		}
		if err := tx.CreateGuild(ctx, storage.Guild{ID: id["G"], Name: "G", OwnerID: id["alice"], CreatedAt: now}); err != nil {
			return err
		}
		if err := tx.CreateRole(ctx, storage.Role{ID: id["G"], GuildID: id["G"], Name: "@everyone", Permissions: view, CreatedAt: now}); err != nil {
			return err
		}
		for _, c := range []storage.Channel{{ID: id["open"], GuildID: id["G"], Name: "open", CreatedAt: now},
			{ID: id["hidden"], GuildID: id["G"], Name: "hidden", CreatedAt: now,
				Overwrites: []storage.Overwrite{{TargetID: id["G"], Type: permission.OverwriteRole, Deny: int64(permission.ViewChannel)}}}} {
			if err := tx.CreateChannel(ctx, c); err != nil {
				return err
			}
		}
		for _, u := range []string{"alice", "pete"} {
			if err := tx.AddMember(ctx, storage.Member{GuildID: id["G"], UserID: id[u], JoinedAt: now}); err != nil {
				return err
			}
		}
		_, err := tx.AppendEvents(ctx, []storage.Event{
			{LogID: id["G"], Type: "MESSAGE_CREATE", CreatedAt: now, Payload: payload(map[string]any{"id": id["m1"], "channel_id": id["open"], "content": "hi"})},
			{LogID: id["G"], Type: "MESSAGE_CREATE", CreatedAt: now, Payload: payload(map[string]any{"id": id["m2"], "channel_id": id["hidden"], "content": "secret"})},
			{LogID: id["G"], Type: "INVITE_CREATE", CreatedAt: now, Payload: payload(map[string]any{"code": "abc", "channel_id": id["open"]})},
			{LogID: id["G"], Type: "CHANNEL_UPDATE", CreatedAt: now, Payload: payload(map[string]any{"id": id["hidden"], "guild_id": id["G"], "type": 0, "name": "hidden"})},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestBatchShowsAPeerWhatItsMembersMaySee: the hidden channel's message
// and the invite are left out, the hidden channel's update reaches the
// peer as its deletion, and the batch still covers every sequence number.
func TestBatchShowsAPeerWhatItsMembersMaySee(t *testing.T) {
	g := newGuild(t)
	ctx := context.Background()
	b, err := g.s.Batch(ctx, peer, g.id["G"], 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if b.From != 0 || b.To != 4 || b.Guild != g.id["G"].String()+"@"+here {
		t.Fatalf("batch %s %d..%d, want %s@%s 0..4", b.Guild, b.From, b.To, g.id["G"], here)
	}
	var types []string
	for _, e := range b.Events {
		types = append(types, e.Type)
	}
	if len(types) != 2 || types[0] != "MESSAGE_CREATE" || types[1] != "CHANNEL_DELETE" {
		t.Fatalf("events %v, want the open channel's message and the hidden channel's deletion", types)
	}
	var m struct {
		ID        string `json:"id"`
		ChannelID string `json:"channel_id"`
	}
	if err := json.Unmarshal(b.Events[0].D, &m); err != nil {
		t.Fatal(err)
	}
	if m.ID != g.id["m1"].String()+"@"+here || m.ChannelID != g.id["open"].String()+"@"+here {
		t.Errorf("message named %+v, want global IDs of this server", m)
	}
	if _, err := g.s.Batch(ctx, "stranger.test", g.id["G"], 0, 0); !errors.Is(err, ErrForbidden) {
		t.Errorf("a peer without members: err = %v, want ErrForbidden", err)
	}
}

// TestMembersAndHistoryReader: a peer with members pages the members and
// reads the open channel as its member; a stranger gets neither, and a
// cursor this server did not give is refused.
func TestMembersAndHistoryReader(t *testing.T) {
	g := newGuild(t)
	ctx := context.Background()
	page, err := g.s.Members(ctx, peer, g.id["G"], "")
	if err != nil {
		t.Fatal(err)
	}
	var ms []discord.Member
	if err := json.Unmarshal(page.Members, &ms); err == nil {
		t.Fatalf("members decoded into local snowflakes: %s", page.Members)
	}
	var global []struct {
		User struct{ ID string } `json:"user"`
	}
	if err := json.Unmarshal(page.Members, &global); err != nil {
		t.Fatal(err)
	}
	if len(global) != 2 || page.Next != "" {
		t.Fatalf("page %s next %q, want two members and no next page", page.Members, page.Next)
	}
	for _, m := range global {
		if m.User.ID != g.id["alice"].String()+"@"+here && m.User.ID != "77@"+peer {
			t.Errorf("member %q is not named by its own server", m.User.ID)
		}
	}
	if _, err := g.s.Members(ctx, "stranger.test", g.id["G"], ""); !errors.Is(err, ErrForbidden) {
		t.Errorf("a stranger's member page: err = %v, want ErrForbidden", err)
	}
	if _, err := g.s.Members(ctx, peer, g.id["G"], "x"); !errors.Is(err, ErrCursor) {
		t.Errorf("a made-up cursor: err = %v, want ErrCursor", err)
	}
	if r, err := g.s.HistoryReader(ctx, peer, g.id["G"], g.id["open"]); err != nil || r != g.id["pete"] {
		t.Errorf("reader of the open channel = %d, %v, want pete", r, err)
	}
	if _, err := g.s.HistoryReader(ctx, peer, g.id["G"], g.id["hidden"]); !errors.Is(err, ErrForbidden) {
		t.Errorf("reader of the hidden channel: err = %v, want ErrForbidden", err)
	}
}

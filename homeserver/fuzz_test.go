package homeserver

import (
	"context"
	"encoding/json"
	"fmt"
	"hearth/homeserver/wire"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"hearth/homeserver/globalid"
	"hearth/snowflake"
	"hearth/storage"
)

// The fuzz targets feed what a hostile peer can send (a transaction, a
// join's snapshot, a member page, a history page, an act) through the
// real domain on a real database, and check after each input that nothing
// outside what that peer owns changed. `go test` runs their seeds (each
// one an attack that was possible once); `go test -fuzz FuzzX ./homeserver`
// explores further.

const (
	here  = "here.example"
	rogue = "o.example" // the peer under test: the origin of replica R
	third = "p.example" // another origin, whose replica P it must not touch
)

// fuzzRemote is the hostile origin's side of the wire: it answers
// whatever the fuzzer gives it.
type fuzzRemote struct {
	snapshot wire.Snapshot
	members  wire.MemberPage
	history  json.RawMessage
}

var errFuzzOffline = fmt.Errorf("fuzz: not answered: %w", ErrUnavailable)

func (r *fuzzRemote) Join(context.Context, string, wire.JoinRequest) (wire.Snapshot, error) {
	return r.snapshot, nil
}
func (r *fuzzRemote) Act(context.Context, string, wire.Act) (wire.ActResult, error) {
	return wire.ActResult{}, errFuzzOffline
}
func (r *fuzzRemote) Events(context.Context, string, string, int64) (wire.EventBatch, error) {
	return wire.EventBatch{}, errFuzzOffline
}
func (r *fuzzRemote) Members(context.Context, string, string, string) (wire.MemberPage, error) {
	p := r.members
	p.Next = "" // one page: a fuzzed cursor must not loop forever
	return p, nil
}
func (r *fuzzRemote) User(context.Context, string, string) (wire.RemoteUser, error) {
	return wire.RemoteUser{}, errFuzzOffline
}
func (r *fuzzRemote) Fetch(context.Context, string, string, int64) (io.ReadCloser, error) {
	return nil, errFuzzOffline
}
func (r *fuzzRemote) FetchUpload(context.Context, string, string, int64) (io.ReadCloser, error) {
	return nil, errFuzzOffline
}
func (r *fuzzRemote) Relationship(context.Context, string, wire.RelationshipAct) (wire.RelationshipResult, error) {
	return wire.RelationshipResult{}, errFuzzOffline
}
func (r *fuzzRemote) UserDeleted(context.Context, string, wire.UserDeleted) error {
	return errFuzzOffline
}
func (r *fuzzRemote) History(context.Context, string, string, string, int) (json.RawMessage, error) {
	return r.history, nil
}
func (r *fuzzRemote) Invite(context.Context, string, string) (json.RawMessage, error) {
	return nil, errFuzzOffline
}
func (r *fuzzRemote) InteractionNotice(context.Context, string, wire.InteractionNotice) error {
	return errFuzzOffline
}
func (r *fuzzRemote) ClockOffset(string) time.Duration { return 0 }

// world is a receiver with objects of every owner: its own guilds G (where
// the rogue's user ollie is a member) and G2 (no remote member), a replica
// R of the rogue's guild, a replica P of a third server's guild, and users
// of all three servers.
type world struct {
	h      *Homeserver
	remote *fuzzRemote
	ids    map[string]snowflake.ID // local IDs by name
	global map[string]string       // global IDs by name, for templates
	n      int                     // inputs so far, for fresh IDs
}

func newWorld(t testing.TB) *world {
	t.Helper()
	h := newTestHomeserver(t)
	h.cfg.ServerName = here
	w := &world{h: h, remote: &fuzzRemote{}, ids: map[string]snowflake.ID{}, global: map[string]string{}}
	h.SetRemote(w.remote)
	ctx := context.Background()
	next := h.cfg.IDs.Next
	for _, n := range []string{"alice", "bob", "ollie", "pam", "G", "GC", "GR", "GM", "G2", "G2C", "G2M",
		"R", "RC", "RR", "RM", "P", "PC", "PM"} {
		w.ids[n] = next()
		w.global[n] = globalid.Format(w.ids[n], here)
	}
	// The remote objects' IDs on their origins.
	remote := map[string]struct{ origin, id string }{
		"ollie": {rogue, "900"}, "R": {rogue, "1000"}, "RC": {rogue, "1001"}, "RR": {rogue, "1002"}, "RM": {rogue, "1003"},
		"pam": {third, "950"}, "P": {third, "2000"}, "PC": {third, "2001"}, "PM": {third, "2003"},
	}
	for n, g := range remote {
		w.global[n] = g.id + "@" + g.origin
	}
	id := w.ids
	now := time.Now().UTC().Truncate(time.Millisecond)
	err := h.store.Update(ctx, func(tx storage.Tx) error {
		for n, g := range remote {
			// Users are mapped in no place; objects in their replica.
			var scope snowflake.ID
			switch n[0] {
			case 'R', 'P':
				scope = id[n[:1]]
			}
			if err := tx.MapFederatedID(ctx, storage.GlobalID{Origin: g.origin, OriginID: g.id}, storage.Mapping{Local: id[n], Scope: scope}); err != nil {
				return err
			}
		}
		users := []storage.User{
			{ID: id["alice"], Username: "alice", CreatedAt: now},
			{ID: id["bob"], Username: "bob", CreatedAt: now},
			{ID: id["ollie"], Username: "ollie", CreatedAt: now, Origin: rogue, OriginID: "900"},
			{ID: id["pam"], Username: "pam", CreatedAt: now, Origin: third, OriginID: "950"},
		}
		for _, u := range users {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		guilds := []struct {
			g, c, r, m     string
			owner, author  string
			origin, remote string
			members        []string
		}{
			{"G", "GC", "GR", "GM", "alice", "alice", "", "", []string{"alice", "ollie", "pam"}},
			{"G2", "G2C", "", "G2M", "bob", "bob", "", "", []string{"bob"}},
			{"R", "RC", "RR", "RM", "ollie", "ollie", rogue, "1000", []string{"ollie", "alice"}},
			{"P", "PC", "", "PM", "pam", "pam", third, "2000", []string{"pam", "alice"}},
		}
		for _, g := range guilds {
			gid := id[g.g]
			if err := tx.CreateGuild(ctx, storage.Guild{ID: gid, Name: g.g, OwnerID: id[g.owner], CreatedAt: now, Origin: g.origin, OriginID: g.remote}); err != nil {
				return err
			}
			if err := tx.CreateRole(ctx, storage.Role{ID: gid, GuildID: gid, Name: "@everyone", Permissions: 1<<10 | 1<<11 | 1<<16 | 1<<6, CreatedAt: now}); err != nil {
				return err
			}
			if g.r != "" {
				if err := tx.CreateRole(ctx, storage.Role{ID: id[g.r], GuildID: gid, Name: "mods", Position: 1, Permissions: 1 << 13, CreatedAt: now}); err != nil {
					return err
				}
			}
			if err := tx.CreateChannel(ctx, storage.Channel{ID: id[g.c], GuildID: gid, Name: "general", CreatedAt: now}); err != nil {
				return err
			}
			for _, m := range g.members {
				if err := tx.AddMember(ctx, storage.Member{GuildID: gid, UserID: id[m], JoinedAt: now}); err != nil {
					return err
				}
			}
			if err := tx.CreateMessages(ctx, storage.InGuild(gid), []storage.Message{{ID: id[g.m], ChannelID: id[g.c], GuildID: gid, AuthorID: id[g.author],
				Content: "hello from " + g.g, CreatedAt: now}}); err != nil {
				return err
			}
			if g.origin != "" {
				if err := tx.SetReplica(ctx, storage.Replica{LogID: gid, Origin: g.origin, Seq: 0}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("world: %v", err)
	}
	return w
}

var placeholder = regexp.MustCompile(`[$%][A-Za-z0-9]+`)

// expand fills a template's placeholders ($RC, $alice, ...) with global
// IDs, and %name with the bare number of a local ID (for aliases: a
// rogue's ID with the number of a local object); $new is a fresh ID of
// the rogue's, different for every input.
func (w *world) expand(in []byte) []byte {
	w.n++
	return placeholder.ReplaceAllFunc(in, func(p []byte) []byte {
		name := string(p[1:])
		if p[0] == '%' {
			if id, ok := w.ids[name]; ok {
				return []byte(id.String())
			}
			return p
		}
		if name == "new" {
			return []byte(fmt.Sprintf("%d@%s", 5000+w.n, rogue))
		}
		if g, ok := w.global[name]; ok {
			return []byte(g)
		}
		return p
	})
}

// state renders what the world holds. Without everything it leaves out
// the rogue's replica R, the rogue's users and the rogue's own DM
// replicas: what the rogue may change.
func (w *world) state(t testing.TB, everything bool) string {
	return w.stateSkipping(t, everything, 0)
}

// stateSkipping is state less the messages, reactions and last message
// of one channel (where an act may legitimately post).
func (w *world) stateSkipping(t testing.TB, everything bool, skip snowflake.ID) string {
	t.Helper()
	ctx := context.Background()
	s := w.h.store
	var b strings.Builder
	must := func(v any, err error) {
		if err != nil {
			fmt.Fprintf(&b, "error %v\n", err)
			return
		}
		fmt.Fprintf(&b, "%+v\n", v)
	}
	guilds := []string{"G", "G2", "P"}
	if everything {
		guilds = append(guilds, "R")
	}
	for _, n := range guilds {
		gid := w.ids[n]
		must(s.GuildByID(ctx, gid))
		must(s.GuildRoles(ctx, gid))
		must(s.Members(ctx, gid, 0, 1000))
		must(s.GuildEmojis(ctx, gid))
		chans, err := s.GuildChannels(ctx, gid)
		for i := range chans {
			if chans[i].ID == skip {
				chans[i].LastMessageID = 0
			}
		}
		must(chans, err)
		for _, c := range chans {
			if c.ID == skip {
				continue
			}
			ms, err := s.Messages(ctx, c.ID, storage.MessageQuery{Limit: 100})
			must(ms, err)
			ids := make([]snowflake.ID, 0, len(ms))
			for _, m := range ms {
				ids = append(ids, m.ID)
			}
			must(s.Reactions(ctx, ids, 0))
		}
	}
	users := []string{"alice", "bob", "pam"}
	if everything {
		users = append(users, "ollie")
	}
	for _, n := range users {
		must(s.UserByID(ctx, w.ids[n]))
		dms, err := s.UserDMChannels(ctx, w.ids[n])
		if !everything {
			dms = slices.DeleteFunc(dms, func(c storage.Channel) bool { return c.Origin == rogue })
		}
		must(dms, err)
	}
	reps, err := s.Replicas(ctx)
	if !everything {
		reps = slices.DeleteFunc(reps, func(r storage.Replica) bool { return r.Origin == rogue })
	}
	must(reps, err)
	// No global ID of the rogue's may come to name an object the world
	// began with, other than those it was made with (an alias would let
	// the rogue act as a local user or on a local object).
	var all []snowflake.ID
	for _, id := range w.ids {
		all = append(all, id)
	}
	slices.Sort(all)
	origins, err := s.FederatedOrigins(ctx, all)
	for _, id := range all {
		if g, ok := origins[id]; ok {
			fmt.Fprintf(&b, "mapped %d <- %s@%s\n", id, g.OriginID, g.Origin)
		}
	}
	if err != nil {
		fmt.Fprintf(&b, "error %v\n", err)
	}
	return b.String()
}

// check fails when an input changed what the rogue does not own, or, when
// the input was refused (err), changed anything at all.
func (w *world) check(t *testing.T, what string, before, beforeAll string, err error) {
	t.Helper()
	if after := w.state(t, false); after != before {
		t.Fatalf("%s changed what %s does not own (err %v):\nbefore:\n%s\nafter:\n%s", what, rogue, err, before, after)
	}
	if err != nil {
		if after := w.state(t, true); after != beforeAll {
			t.Fatalf("%s was refused (%v) but changed the world:\nbefore:\n%s\nafter:\n%s", what, err, beforeAll, after)
		}
	}
}

// FuzzReplicaEvents: a transaction from the origin of replica R.
func FuzzReplicaEvents(f *testing.F) {
	seeds := []string{
		// The origin's own business: harmless.
		`{"guild":"$R","events":[{"type":"MESSAGE_CREATE","d":{"id":"$new","channel_id":"$RC","guild_id":"$R","author":{"id":"$ollie","username":"ollie"},"content":"hi","timestamp":"2026-01-01T00:00:00Z"}}]}`,
		// The reproduced attack: a DM replica of the rogue's, then a
		// delete of a message of the receiver's own guild.
		`{"guild":"$new","from":0,"to":2,"events":[{"seq":1,"type":"CHANNEL_CREATE","d":{"id":"$new","type":1,"recipients":[{"id":"$ollie","username":"ollie"},{"id":"$alice","username":"alice"}]}},{"seq":2,"type":"MESSAGE_DELETE","d":{"id":"$GM","channel_id":"$GC"}}]}`,
		`{"guild":"$new","from":0,"to":2,"events":[{"seq":1,"type":"CHANNEL_CREATE","d":{"id":"$new","type":1,"recipients":[{"id":"$ollie","username":"ollie"}]}},{"seq":2,"type":"MESSAGE_DELETE","d":{"id":"$G2M","channel_id":"$G2C"}}]}`,
		// Through its guild replica, at the receiver's and a third
		// server's objects.
		`{"guild":"$R","events":[{"type":"MESSAGE_DELETE","d":{"id":"$GM","channel_id":"$GC","guild_id":"$R"}}]}`,
		`{"guild":"$R","events":[{"type":"MESSAGE_DELETE","d":{"id":"$PM","channel_id":"$PC","guild_id":"$R"}}]}`,
		`{"guild":"$R","events":[{"type":"MESSAGE_DELETE_BULK","d":{"ids":["$GM","$G2M"],"channel_id":"$GC","guild_id":"$R"}}]}`,
		`{"guild":"$R","events":[{"type":"MESSAGE_UPDATE","d":{"id":"$GM","channel_id":"$GC","guild_id":"$R","author":{"id":"$alice","username":"alice"},"content":"defaced","timestamp":"2026-01-01T00:00:00Z"}}]}`,
		`{"guild":"$R","events":[{"type":"MESSAGE_CREATE","d":{"id":"$new","channel_id":"$GC","guild_id":"$R","author":{"id":"$ollie","username":"ollie"},"content":"planted","timestamp":"2026-01-01T00:00:00Z"}}]}`,
		`{"guild":"$R","events":[{"type":"MESSAGE_REACTION_ADD","d":{"message_id":"$GM","channel_id":"$GC","user_id":"$ollie","emoji":{"name":"x"}}}]}`,
		`{"guild":"$R","events":[{"type":"MESSAGE_REACTION_REMOVE_ALL","d":{"message_id":"$PM","channel_id":"$PC"}}]}`,
		`{"guild":"$R","events":[{"type":"MESSAGE_UPDATE","d":{"id":"$GM","channel_id":"$GC","pinned":true,"content":"hello from G","author":{"id":"$alice","username":"alice"},"timestamp":"2026-01-01T00:00:00Z"}}]}`,
		`{"guild":"$R","events":[{"type":"CHANNEL_DELETE","d":{"id":"$GC","guild_id":"$R","type":0}}]}`,
		`{"guild":"$R","events":[{"type":"CHANNEL_UPDATE","d":{"id":"$PC","guild_id":"$R","type":0,"name":"renamed","permission_overwrites":[{"id":"$G","type":0,"allow":"0","deny":"1024"}]}}]}`,
		`{"guild":"$R","events":[{"type":"GUILD_ROLE_UPDATE","d":{"guild_id":"$R","role":{"id":"$G","name":"@everyone","permissions":"8"}}}]}`,
		`{"guild":"$R","events":[{"type":"GUILD_ROLE_DELETE","d":{"guild_id":"$R","role_id":"$GR"}}]}`,
		`{"guild":"$R","events":[{"type":"GUILD_MEMBER_REMOVE","d":{"guild_id":"$R","user":{"id":"$bob","username":"bob"}}}]}`,
		`{"guild":"$R","events":[{"type":"GUILD_MEMBER_UPDATE","d":{"guild_id":"$R","user":{"id":"$pam","username":"pwned","global_name":"Pwned"},"roles":["$GR"]}}]}`,
		`{"guild":"$R","events":[{"type":"GUILD_MEMBER_ADD","d":{"guild_id":"$R","user":{"id":"$alice","username":"mallory"},"roles":[]}}]}`,
		`{"guild":"$R","events":[{"type":"GUILD_UPDATE","d":{"id":"$G","name":"taken","owner_id":"$ollie"}}]}`,
		`{"guild":"$R","events":[{"type":"GUILD_DELETE","d":{"id":"$P"}}]}`,
		`{"guild":"$R","events":[{"type":"GUILD_EMOJIS_UPDATE","d":{"guild_id":"$G","emojis":[]}}]}`,
		`{"guild":"$R","events":[{"type":"THREAD_CREATE","d":{"id":"$GC","guild_id":"$R","parent_id":"$RC","type":11,"name":"hijack"}}]}`,
		`{"guild":"$R","events":[{"type":"THREAD_DELETE","d":{"id":"$G2C","guild_id":"$R","parent_id":"$RC","type":11}}]}`,
		`{"guild":"$R","events":[{"type":"THREAD_MEMBERS_UPDATE","d":{"id":"$GC","guild_id":"$R","added_members":[{"user_id":"$ollie"}]}}]}`,
		// Objects of the receiver named where only the origin's belong.
		`{"guild":"$R","events":[{"type":"CHANNEL_CREATE","d":{"id":"$G2C","guild_id":"$R","type":0,"name":"mine now"}}]}`,
		`{"guild":"$R","events":[{"type":"GUILD_ROLE_CREATE","d":{"guild_id":"$R","role":{"id":"$GR","name":"mine now","permissions":"8"}}}]}`,
		// Profiles of others.
		`{"guild":"$R","events":[{"type":"MESSAGE_CREATE","d":{"id":"$new","channel_id":"$RC","guild_id":"$R","author":{"id":"$pam","username":"renamed","global_name":"Renamed"},"mentions":[{"id":"$alice","username":"renamed-too"}],"content":"hi","timestamp":"2026-01-01T00:00:00Z"}}]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	w := newWorld(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		ctx := context.Background()
		var batch wire.EventBatch
		if json.Unmarshal(w.expand(in), &batch) != nil {
			return
		}
		rGlobal := w.global["R"]
		if batch.Guild == rGlobal {
			// Every input applies at the replica's position, whatever its
			// numbers say, so that each one reaches the applier.
			rep, err := w.h.store.Replica(ctx, w.ids["R"])
			if err != nil {
				t.Fatal(err)
			}
			batch.From = rep.Seq
			for i := range batch.Events {
				batch.Events[i].Seq = rep.Seq + int64(i) + 1
			}
			batch.To = rep.Seq + int64(len(batch.Events))
		}
		before, all := w.state(t, false), w.state(t, true)
		err := w.h.ApplyEvents(ctx, rogue, batch)
		w.check(t, "transaction "+string(in), before, all, err)
	})
}

// FuzzSnapshot: the answer to a join sent to the rogue.
func FuzzSnapshot(f *testing.F) {
	seeds := []string{
		`{"seq":1,"invite":{"code":"x"},"guild":{"id":"$new","name":"New","roles":[],"channels":[{"id":"$new","type":0,"name":"general"}]},"members":[{"user":{"id":"$alice","username":"alice"},"roles":[]}]}`,
		// The receiver's own guild as the snapshot's.
		`{"seq":1,"invite":{"code":"x"},"guild":{"id":"$G","name":"taken","roles":[{"id":"$G","name":"@everyone","permissions":"8"}],"channels":[{"id":"$GC","type":0,"name":"taken"}]},"members":[{"user":{"id":"$alice","username":"alice"},"roles":[]}]}`,
		// Another origin's replica, and objects of the receiver inside a
		// new guild.
		`{"seq":1,"invite":{"code":"x"},"guild":{"id":"$new","name":"New","roles":[{"id":"$GR","name":"stolen","permissions":"8"}],"channels":[{"id":"$PC","type":0,"name":"stolen"},{"id":"$G2C","type":0,"name":"stolen"}]},"members":[{"user":{"id":"$alice","username":"mallory"},"roles":[]},{"user":{"id":"$pam","username":"renamed"},"roles":[]}]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	w := newWorld(f)
	alice := Principal{User: User{ID: w.ids["alice"], Username: "alice"}}
	f.Fuzz(func(t *testing.T, in []byte) {
		var snap wire.Snapshot
		if json.Unmarshal(w.expand(in), &snap) != nil {
			return
		}
		w.remote.snapshot = snap
		before, all := w.state(t, false), w.state(t, true)
		_, err := w.h.AcceptInvite(context.Background(), alice, "x@"+rogue)
		w.check(t, "snapshot "+string(in), before, all, err)
	})
}

// FuzzMemberPage: a page of replica R's members from the rogue.
func FuzzMemberPage(f *testing.F) {
	seeds := []string{
		`[{"user":{"id":"$ollie","username":"ollie"},"roles":["$RR"]}]`,
		`[{"user":{"id":"$alice","username":"mallory","global_name":"Mallory"},"roles":["$GR"]}]`,
		`[{"user":{"id":"$pam","username":"renamed"},"roles":["$G"]},{"user":{"id":"$bob","username":"bob"},"roles":[]}]`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	w := newWorld(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		page := w.expand(in)
		if !json.Valid(page) {
			return
		}
		w.remote.members = wire.MemberPage{Members: page}
		before, all := w.state(t, false), w.state(t, true)
		w.h.fetchMembers(context.Background(), w.ids["R"])
		w.check(t, "member page "+string(in), before, all, nil)
	})
}

// FuzzHistory: a page of older messages of replica R's channel from the
// rogue.
func FuzzHistory(f *testing.F) {
	seeds := []string{
		`[{"id":"10@o.example","channel_id":"$RC","author":{"id":"$ollie","username":"ollie"},"content":"old","timestamp":"2025-01-01T00:00:00Z"}]`,
		// An "old" message whose ID is a user of the receiver's, and one
		// in another channel.
		`[{"id":"$alice","channel_id":"$RC","author":{"id":"$ollie","username":"ollie"},"content":"alias","timestamp":"2025-01-01T00:00:00Z"}]`,
		`[{"id":"%alice@o.example","channel_id":"$RC","author":{"id":"$ollie","username":"ollie"},"content":"alias","timestamp":"2025-01-01T00:00:00Z"},{"id":"%GR@o.example","channel_id":"$RC","author":{"id":"$ollie","username":"ollie"},"content":"alias","timestamp":"2025-01-01T00:00:00Z"}]`,
		`[{"id":"11@o.example","channel_id":"$GC","author":{"id":"$alice","username":"mallory"},"content":"planted","timestamp":"2025-01-01T00:00:00Z"}]`,
		`[{"id":"12@o.example","channel_id":"$RC","author":{"id":"$pam","username":"renamed"},"mentions":[{"id":"$bob","username":"renamed"}],"content":"x","timestamp":"2025-01-01T00:00:00Z"}]`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	w := newWorld(f)
	ctx := context.Background()
	alice := Principal{User: User{ID: w.ids["alice"], Username: "alice"}}
	f.Fuzz(func(t *testing.T, in []byte) {
		page := w.expand(in)
		if !json.Valid(page) {
			return
		}
		w.remote.history = page
		// Each input reads below a history floor, as a reader paging back.
		err := w.h.store.Update(ctx, func(tx storage.Tx) error {
			return tx.SetHistoryFloor(ctx, w.ids["RC"], snowflake.FromTime(time.Now()))
		})
		if err != nil {
			t.Fatal(err)
		}
		before, all := w.state(t, false), w.state(t, true)
		_, err = w.h.Messages(ctx, alice, w.ids["RC"], HistoryQuery{Limit: 50})
		w.check(t, "history "+string(in), before, all, nil)
	})
}

// FuzzAct: an act of the rogue's user ollie, a plain member of the
// receiver's guild G: it may post and react in G's channel and change
// nothing else (G2, the replicas, G's roles, channels and members, every
// profile).
func FuzzAct(f *testing.F) {
	seeds := []string{
		`{"user":"$ollie","action":"message.create","guild":"$G","channel":"$GC","data":{"content":"hi"}}`,
		`{"user":"$ollie","action":"message.delete","guild":"$G","channel":"$G2C","message":"$G2M"}`,
		`{"user":"$alice","action":"message.delete","guild":"$G","channel":"$GC","message":"$GM"}`,
		`{"user":"$pam","action":"message.create","guild":"$G","channel":"$GC","data":{"content":"as pam"}}`,
		`{"user":"$ollie","action":"message.create","guild":"$G2","channel":"$G2C","data":{"content":"not a member"}}`,
		`{"user":"$ollie","action":"role.edit","guild":"$G","data":{"id":"$G","permissions":"8"}}`,
		`{"user":"$ollie","action":"member.kick","guild":"$G","data":{"user_id":"$alice"}}`,
		`{"user":"$ollie","action":"message.edit","guild":"$G","channel":"$GC","message":"$GM","data":{"content":"defaced"}}`,
		`{"user":"$ollie","action":"message.create","guild":"$R","channel":"$RC","data":{"content":"to a replica"}}`,
		`{"user":"$ollie","action":"message.create","guild":"","channel":"$PC","data":{"content":"to a third server's"}}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	w := newWorld(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		var act wire.Act
		if json.Unmarshal(w.expand(in), &act) != nil {
			return
		}
		before := w.stateSkipping(t, true, w.ids["GC"])
		_, err := w.h.PeerAct(context.Background(), rogue, act)
		if after := w.stateSkipping(t, true, w.ids["GC"]); after != before {
			t.Fatalf("act %s (err %v) changed what a member without permissions may not:\nbefore:\n%s\nafter:\n%s", in, err, before, after)
		}
	})
}

package replica

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"hearth/discord"
	"hearth/homeserver/globalid"
	"hearth/homeserver/wire"
	"hearth/snowflake"
	"hearth/storage"
	"hearth/storage/sqlite"
)

// The applier against a real SQLite store, without the domain: env below
// writes events and revisions straight to the transaction, as the domain's
// does after its checks.

const (
	here  = "here.test"
	rogue = "rogue.test"
)

// env is the least Env that keeps every write: events go to the log in the
// same transaction.
type env struct {
	tx      storage.Tx
	max     int
	appends []string
}

func (e *env) Append(ctx context.Context, logID snowflake.ID, typ string, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	e.appends = append(e.appends, typ)
	_, err = e.tx.AppendEvents(ctx, []storage.Event{{LogID: logID, Type: typ, Payload: b, CreatedAt: e.Now()}})
	return err
}

func (e *env) Now() time.Time { return time.Now().UTC() }

func (e *env) Localize(ctx context.Context, _ storage.Tx, l *globalid.Localizer, v any) ([]byte, error) {
	return l.Value(ctx, v)
}

func (e *env) RenderAttachment(a storage.Attachment) discord.Attachment {
	return discord.Attachment{ID: a.ID, Filename: a.Filename, URL: "https://" + here + "/attachments/" + a.ID.String()}
}

func (e *env) KeepRevision(ctx context.Context, tx storage.Tx, s storage.Scope, m storage.Message, editor snowflake.ID, deleted bool) error {
	return nil // edit history is the domain's; nothing here reads it
}

func (e *env) MemberBound(ctx context.Context, tx storage.Tx, guildID snowflake.ID) error {
	n, err := tx.MemberCount(ctx, guildID)
	if err == nil && n > e.max {
		err = fmt.Errorf("%d members: %w", n, ErrForbidden)
	}
	return err
}

func (e *env) ObjectBound(ctx context.Context, tx storage.Tx, guildID snowflake.ID) error {
	return nil // the bounds on objects are the domain's, tested across servers
}

func (e *env) EmojiBound(guildID snowflake.ID, n int) error {
	return nil // likewise
}

// place is a receiver with a guild of its own (G, channel GC, message GM
// by alice) and a replica R of rogue's guild 1000 (channel RC = 1001@rogue,
// message RM = 1003@rogue by ollie).
type place struct {
	st  storage.Store
	ids *snowflake.Generator
	id  map[string]snowflake.ID
}

func newPlace(t *testing.T) *place {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hearth.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p := &place{st: st, ids: snowflake.NewGenerator(1), id: map[string]snowflake.ID{}}
	for _, n := range []string{"alice", "ollie", "G", "GC", "GM", "R", "RC", "RM"} {
		p.id[n] = p.ids.Next()
	}
	id := p.id
	now := time.Now().UTC().Truncate(time.Millisecond)
	err = st.Update(ctx, func(tx storage.Tx) error {
		for n, raw := range map[string]string{"ollie": "900", "RC": "1001", "RM": "1003"} {
			var scope snowflake.ID
			if n != "ollie" {
				scope = id["R"]
			}
			if err := tx.MapFederatedID(ctx, storage.GlobalID{Origin: rogue, OriginID: raw}, storage.Mapping{Local: id[n], Scope: scope}); err != nil {
				return err
			}
		}
		if err := tx.MapFederatedID(ctx, storage.GlobalID{Origin: rogue, OriginID: "1000"}, storage.Mapping{Local: id["R"], Scope: id["R"]}); err != nil {
			return err
		}
		for _, u := range []storage.User{{ID: id["alice"], Username: "alice", CreatedAt: now},
			{ID: id["ollie"], Username: "ollie", CreatedAt: now, Origin: rogue, OriginID: "900"}} {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		for _, g := range []struct{ g, c, m, author, origin, raw string }{
			{"G", "GC", "GM", "alice", "", ""}, {"R", "RC", "RM", "ollie", rogue, "1000"}} {
			gid := id[g.g]
			if err := tx.CreateGuild(ctx, storage.Guild{ID: gid, Name: g.g, OwnerID: id[g.author], CreatedAt: now, Origin: g.origin, OriginID: g.raw}); err != nil {
				return err
			}
			if err := tx.CreateRole(ctx, storage.Role{ID: gid, GuildID: gid, Name: "@everyone", CreatedAt: now}); err != nil {
				return err
			}
			if err := tx.CreateChannel(ctx, storage.Channel{ID: id[g.c], GuildID: gid, Name: "general", CreatedAt: now}); err != nil {
				return err
			}
			for _, u := range []string{"alice", "ollie"} {
				if err := tx.AddMember(ctx, storage.Member{GuildID: gid, UserID: id[u], JoinedAt: now}); err != nil {
					return err
				}
			}
			if err := tx.CreateMessages(ctx, storage.InGuild(gid), []storage.Message{{ID: id[g.m], ChannelID: id[g.c], GuildID: gid,
				AuthorID: id[g.author], Content: "hello from " + g.g, CreatedAt: now}}); err != nil {
				return err
			}
		}
		return tx.SetReplica(ctx, storage.Replica{LogID: id["R"], Origin: rogue})
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// apply runs Apply for one event of rogue's replica R in a transaction of
// its own, and reports the events it appended.
func (p *place) apply(t *testing.T, typ, payload string) ([]string, error) {
	t.Helper()
	ctx := context.Background()
	names := slices.SortedFunc(maps.Keys(p.id), func(a, b string) int { return len(b) - len(a) }) // $GC before $G
	for _, n := range names {
		payload = strings.ReplaceAll(payload, "$"+n, globalid.Format(p.id[n], here))
	}
	batch := wire.EventBatch{Guild: "1000@" + rogue, From: 0, To: 1,
		Events: []wire.RemoteEvent{{Seq: 1, Type: typ, D: json.RawMessage(payload)}}}
	if err := Check(batch); err != nil {
		return nil, err
	}
	var e *env
	err := p.st.Update(ctx, func(tx storage.Tx) error {
		e = &env{tx: tx, max: 10}
		l := globalid.New(here, p.ids, tx, tx).ForReplica(rogue, p.id["R"])
		return Apply(ctx, tx, e, l, Target{ID: p.id["R"], Origin: rogue, Global: "1000@" + rogue, Guild: true}, batch, 0, false)
	})
	return e.appends, err
}

func (p *place) content(t *testing.T, channel, message string) string {
	t.Helper()
	m, err := p.st.Message(context.Background(), p.id[channel], p.id[message])
	if errors.Is(err, storage.ErrNotFound) {
		return "(gone)"
	}
	if err != nil {
		t.Fatal(err)
	}
	return m.Content
}

// TestApplyRefusesWhatTheOriginDoesNotOwn: a batch of the replica that
// names the receiver's own channel, message or guild is refused whole and
// changes nothing; one that names only the origin's objects is applied.
func TestApplyRefusesWhatTheOriginDoesNotOwn(t *testing.T) {
	p := newPlace(t)
	refused := []struct{ name, typ, payload string }{
		{"delete of a local message", "MESSAGE_DELETE", `{"id":"$GM","channel_id":"$GC","guild_id":"1000@rogue.test"}`},
		{"edit of a local message", "MESSAGE_UPDATE", `{"id":"$GM","channel_id":"$GC","content":"pwned","author":{"id":"900@rogue.test","username":"ollie"}}`},
		{"message into a local channel", "MESSAGE_CREATE", `{"id":"5000@rogue.test","channel_id":"$GC","content":"pwned","author":{"id":"900@rogue.test","username":"ollie"}}`},
		{"local channel renamed", "CHANNEL_UPDATE", `{"id":"$GC","type":0,"name":"pwned"}`},
		{"local @everyone deleted", "GUILD_ROLE_DELETE", `{"guild_id":"1000@rogue.test","role_id":"$G"}`},
		{"message in the name of a local user without an act", "MESSAGE_CREATE", `{"id":"5001@rogue.test","channel_id":"1001@rogue.test","content":"I said","author":{"id":"$alice","username":"alice"}}`},
		{"webhook message by a person", "MESSAGE_CREATE", `{"id":"5002@rogue.test","channel_id":"1001@rogue.test","content":"hook","webhook_id":"5003@rogue.test","author":{"id":"900@rogue.test","username":"ollie"}}`},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			appended, err := p.apply(t, c.typ, c.payload)
			if !errors.Is(err, ErrForbidden) {
				t.Fatalf("err = %v, want ErrForbidden", err)
			}
			if len(appended) != 0 {
				t.Fatalf("appended %v for a refused batch", appended)
			}
			if got := p.content(t, "GC", "GM"); got != "hello from G" {
				t.Fatalf("local message now %q", got)
			}
			if c, err := p.st.ChannelByID(context.Background(), p.id["GC"]); err != nil || c.Name != "general" {
				t.Fatalf("local channel now %+v, %v", c, err)
			}
		})
	}
	appended, err := p.apply(t, "MESSAGE_UPDATE", `{"id":"1003@rogue.test","channel_id":"1001@rogue.test","content":"edited","author":{"id":"900@rogue.test","username":"ollie"}}`)
	if err != nil {
		t.Fatalf("the origin's own edit: %v", err)
	}
	if len(appended) != 1 || appended[0] != "MESSAGE_UPDATE" {
		t.Fatalf("appended %v, want the edit", appended)
	}
	if got := p.content(t, "RC", "RM"); got != "edited" {
		t.Fatalf("replica message = %q, want the origin's edit", got)
	}
}

// TestCheckRefusesUnorderedAndInternalEvents: the batch checks that read
// nothing.
func TestCheckRefusesUnorderedAndInternalEvents(t *testing.T) {
	ev := func(seq int64, typ string) wire.RemoteEvent {
		return wire.RemoteEvent{Seq: seq, Type: typ, D: json.RawMessage(`{}`)}
	}
	for name, b := range map[string]wire.EventBatch{
		"repeated seq":    {From: 0, To: 2, Events: []wire.RemoteEvent{ev(1, "TYPING_START"), ev(1, "TYPING_START")}},
		"past To":         {From: 0, To: 1, Events: []wire.RemoteEvent{ev(2, "MESSAGE_CREATE")}},
		"internal type":   {From: 0, To: 1, Events: []wire.RemoteEvent{ev(1, "HEARTH_SESSIONS_REVOKED")}},
		"own user's news": {From: 0, To: 1, Events: []wire.RemoteEvent{ev(1, "USER_UPDATE")}},
		"lower case":      {From: 0, To: 1, Events: []wire.RemoteEvent{ev(1, "message_create")}},
	} {
		if err := Check(b); !errors.Is(err, ErrForbidden) {
			t.Errorf("%s: err = %v, want ErrForbidden", name, err)
		}
	}
	if err := Check(wire.EventBatch{From: 3, To: 5, Events: []wire.RemoteEvent{ev(4, "MESSAGE_CREATE"), ev(5, "GUILD_UPDATE")}}); err != nil {
		t.Errorf("an ordered batch: %v", err)
	}
}

// TestCheckHistoryPage: a page may name only the origin's objects, users
// of any server aside, in order, below the asked point, in the asked
// channel; this server's users it names are reported for the caller to
// find.
func TestCheckHistoryPage(t *testing.T) {
	target := Target{ID: 1, Origin: rogue, Global: "1000@" + rogue, Guild: true}
	page := func(s string) any {
		v, err := globalid.Decode([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	msg := func(id, extra string) string {
		return `{"id":"` + id + `","channel_id":"1001@rogue.test","author":{"id":"900@rogue.test","username":"ollie"}` + extra + `}`
	}
	for name, body := range map[string]string{
		"receiver's message":   `[` + msg("77@here.test", "") + `]`,
		"not shortest form":    `[` + msg("0500@rogue.test", "") + `]`,
		"out of order":         `[` + msg("400@rogue.test", "") + `,` + msg("500@rogue.test", "") + `]`,
		"not below":            `[` + msg("900@rogue.test", "") + `]`,
		"other channel":        `[{"id":"500@rogue.test","channel_id":"1009@rogue.test"}]`,
		"receiver's role":      `[` + msg("500@rogue.test", `,"mention_roles":["5@here.test"]`) + `]`,
		"bare number":          `[` + msg("500@rogue.test", `,"message_reference":{"message_id":"12"}`) + `]`,
		"too long":             `[` + msg("500@rogue.test", "") + `,` + msg("400@rogue.test", "") + `,` + msg("300@rogue.test", "") + `]`,
		"receiver's channel #": `[` + msg("500@rogue.test", `,"content":"see <#3@here.test>"`) + `]`,
	} {
		if _, _, err := CheckHistoryPage(page(body), target, here, "1001@rogue.test", 800, 2); !errors.Is(err, ErrRefusedHistory) {
			t.Errorf("%s: err = %v, want ErrRefusedHistory", name, err)
		}
	}
	ok := `[` + msg("500@rogue.test", `,"mentions":[{"id":"42@here.test","username":"alice"}]`) + `,` + msg("400@rogue.test", "") + `]`
	got, own, err := CheckHistoryPage(page(ok), target, here, "1001@rogue.test", 800, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].OriginID != 500 || got[1].Global != "400@rogue.test" {
		t.Errorf("page = %+v", got)
	}
	if len(own) != 1 || own[0] != 42 {
		t.Errorf("own users = %v, want [42]", own)
	}
}

package homeserver

import (
	"context"
	"encoding/json"
	"errors"
	"hearth/homeserver/wire"
	"testing"

	"hearth/storage"
)

// An origin's transaction may not carry, under the name of a dispatch of
// its guild, an event that this server's bus gives another meaning: the
// gateway closes the connections a HEARTH_SESSIONS_REVOKED names, keeps
// the presence a PRESENCE_UPDATE gives (of any user, this server's
// included), and a client takes READY or USER_UPDATE as about itself.
// Such a batch is refused whole; a dispatch the applier merely passes on
// is still taken.
func TestReplicaRefusesInternalEventTypes(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	rID := w.ids["R"]
	apply := func(typ string, d string) error {
		rep, err := w.h.store.Replica(ctx, rID)
		if err != nil {
			t.Fatal(err)
		}
		return w.h.ApplyEvents(ctx, rogue, wire.EventBatch{Guild: w.global["R"], From: rep.Seq, To: rep.Seq + 1,
			Events: []wire.RemoteEvent{{Seq: rep.Seq + 1, Type: typ, D: json.RawMessage(w.expand([]byte(d)))}}})
	}
	head := func() int64 {
		n, err := w.h.store.LogHead(ctx, rID)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, c := range []struct{ typ, d string }{
		{SessionsRevoked, `{"user_id":"$alice","sessions":["1","2","3"]}`},
		{PresenceLocal, `{"guild_id":"$R","user":{"id":"$alice"},"status":"online"}`},
		{"PRESENCE_UPDATE", `{"guild_id":"$R","user":{"id":"$alice"},"status":"dnd"}`},
		{"HEARTH_GATEWAY_BARRIER", `"x"`},
		{"USER_UPDATE", `{"guild_id":"$R","id":"$alice","username":"mallory"}`},
		{"MESSAGE_ACK", `{"guild_id":"$R","channel_id":"$RC","message_id":"1","version":9,"mention_count":0}`},
		{"USER_GUILD_SETTINGS_UPDATE", `{"guild_id":"$R","muted":true}`},
		{"READY", `{"guild_id":"$R","user":{"id":"$alice","username":"mallory"}}`},
		{"message_create", `{"guild_id":"$R"}`},
		{"", `{}`},
	} {
		before := head()
		err := apply(c.typ, c.d)
		if !errors.Is(err, ErrForbidden) {
			t.Errorf("a %q event was answered %v, want ErrForbidden", c.typ, err)
		}
		if after := head(); after != before {
			t.Errorf("a refused %q event moved the replica's log from %d to %d", c.typ, before, after)
		}
	}
	before := head()
	if err := apply("CHANNEL_PINS_UPDATE", `{"guild_id":"$R","channel_id":"$RC"}`); err != nil {
		t.Fatalf("CHANNEL_PINS_UPDATE: %v", err)
	}
	if after := head(); after != before+1 {
		t.Fatalf("CHANNEL_PINS_UPDATE moved the replica's log from %d to %d, want one event", before, after)
	}
}

// An ephemeral event keeps no mapping of an object this server does not
// hold: otherwise each keystroke of a rogue origin naming a made-up
// channel would leave a row. The users it introduces are kept (§8.6).
func TestEphemeralKeepsNoMappingOfUnheldObjects(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	send := func(typ, d string) {
		t.Helper()
		err := w.h.ApplyEphemeral(ctx, rogue, wire.EphemeralEvent{Guild: w.global["R"], Type: typ, D: json.RawMessage(w.expand([]byte(d)))})
		if err != nil {
			t.Fatalf("%s %s: %v", typ, d, err)
		}
	}
	mapped := func(origin, id string) bool {
		t.Helper()
		_, err := w.h.store.FederatedID(ctx, origin, id)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	send("TYPING_START", `{"channel_id":"777001@o.example","guild_id":"$R","user_id":"$ollie","timestamp":1}`)
	send("TYPING_START", `{"channel_id":"$RC","guild_id":"$R","user_id":"777002@o.example","timestamp":1}`)
	send("PRESENCE_UPDATE", `{"guild_id":"$R","user":{"id":"777003@o.example"},"status":"online"}`)
	for _, id := range []string{"777001", "777002", "777003"} {
		for _, origin := range []string{rogue, third} {
			if mapped(origin, id) {
				t.Errorf("an ephemeral event left a mapping of %s@%s", id, origin)
			}
		}
	}
	// A member of a third server typing for the first time is a user
	// the payload introduces: kept, with its mapping.
	send("TYPING_START", `{"channel_id":"$RC","guild_id":"$R","user_id":"777004@p.example","timestamp":1,
		"member":{"user":{"id":"777004@p.example","username":"newbie"},"roles":[]}}`)
	m, err := w.h.store.FederatedID(ctx, third, "777004")
	if err != nil {
		t.Fatalf("the typing member's mapping: %v", err)
	}
	if u, err := w.h.store.UserByID(ctx, m.Local); err != nil || u.Username != "newbie" || u.Origin != third {
		t.Fatalf("the typing member's row: %+v, %v", u, err)
	}
}

// A 1:1 DM is the one channel of its pair here: a DM replica of the
// origin's between two users of this server, or between one of them and
// a third server's user, would become the channel their own DMs go to,
// and take what they write to the origin. Only a DM between a user of the
// origin and one of this server's is taken, and its pair never changes.
func TestDMReplicaCannotTakeAnotherPair(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	apply := func(batch string) error {
		t.Helper()
		var b wire.EventBatch
		if err := json.Unmarshal(w.expand([]byte(batch)), &b); err != nil {
			t.Fatal(err)
		}
		return w.h.ApplyEvents(ctx, rogue, b)
	}
	for name, batch := range map[string]string{
		"two users of this server": `{"guild":"$new","from":0,"to":1,"events":[{"seq":1,"type":"CHANNEL_CREATE","d":{"id":"$new","type":1,
			"recipients":[{"id":"$alice","username":"alice"},{"id":"$bob","username":"bob"}]}}]}`,
		"a user of this server and one of a third": `{"guild":"$new","from":0,"to":1,"events":[{"seq":1,"type":"CHANNEL_CREATE","d":{"id":"$new","type":1,
			"recipients":[{"id":"$alice","username":"alice"},{"id":"$pam","username":"pam"}]}}]}`,
		"three recipients": `{"guild":"$new","from":0,"to":1,"events":[{"seq":1,"type":"CHANNEL_CREATE","d":{"id":"$new","type":1,
			"recipients":[{"id":"$ollie","username":"ollie"},{"id":"$alice","username":"alice"},{"id":"$bob","username":"bob"}]}}]}`,
		"moved to another pair": `{"guild":"$new","from":0,"to":3,"events":[{"seq":1,"type":"CHANNEL_CREATE","d":{"id":"$new","type":1,
			"recipients":[{"id":"$ollie","username":"ollie"},{"id":"$alice","username":"alice"}]}},
			{"seq":2,"type":"CHANNEL_RECIPIENT_REMOVE","d":{"channel_id":"$new","user":{"id":"$ollie","username":"ollie"}}},
			{"seq":3,"type":"CHANNEL_RECIPIENT_ADD","d":{"channel_id":"$new","user":{"id":"$bob","username":"bob"}}}]}`,
	} {
		if err := apply(batch); !errors.Is(err, ErrForbidden) {
			t.Errorf("a DM of %s: %v, want ErrForbidden", name, err)
		}
	}
	if c, err := w.h.store.DMChannel(ctx, w.ids["alice"], w.ids["bob"]); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("alice and bob have a DM channel %+v (%v) they never opened", c, err)
	}
	// Their own DM stays on this server.
	c, err := w.h.OpenDM(ctx, Principal{User: User{ID: w.ids["alice"], Username: "alice"}}, w.ids["bob"])
	if err != nil {
		t.Fatal(err)
	}
	if rl, ok := w.h.replicaOfChannel(ctx, c.ID); ok {
		t.Fatalf("alice's DM with bob is a replica of %s", rl.Origin)
	}
	// The rogue's own user may open a DM with alice, and a pair changes
	// no further.
	if err := apply(`{"guild":"$new","from":0,"to":1,"events":[{"seq":1,"type":"CHANNEL_CREATE","d":{"id":"$new","type":1,
		"recipients":[{"id":"$ollie","username":"ollie"},{"id":"$alice","username":"alice"}]}}]}`); err != nil {
		t.Fatalf("a DM of ollie and alice: %v", err)
	}
	dm, err := w.h.store.DMChannel(ctx, w.ids["ollie"], w.ids["alice"])
	if err != nil || dm.Origin != rogue {
		t.Fatalf("ollie's DM with alice: %+v, %v", dm, err)
	}
	err = w.h.ApplyEvents(ctx, rogue, wire.EventBatch{Guild: dm.OriginID + "@" + rogue, From: 1, To: 2, Events: []wire.RemoteEvent{{Seq: 2,
		Type: "CHANNEL_RECIPIENT_ADD", D: json.RawMessage(w.expand([]byte(`{"channel_id":"` + dm.OriginID + `@` + rogue + `","user":{"id":"$bob","username":"bob"}}`)))}}})
	if !errors.Is(err, ErrForbidden) {
		t.Fatalf("a recipient added to a 1:1 DM: %v, want ErrForbidden", err)
	}
	// A second DM of the same pair is refused and keeps nothing, however
	// many new IDs the rogue opens it under.
	before, err := w.h.store.Replicas(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := apply(`{"guild":"$new","from":0,"to":1,"events":[{"seq":1,"type":"CHANNEL_CREATE","d":{"id":"$new","type":1,
			"recipients":[{"id":"$ollie","username":"ollie"},{"id":"$alice","username":"alice"}]}}]}`); !errors.Is(err, ErrForbidden) {
			t.Fatalf("a second DM of ollie and alice: %v, want ErrForbidden", err)
		}
	}
	if after, err := w.h.store.Replicas(ctx); err != nil || len(after) != len(before) {
		t.Fatalf("second DMs of one pair kept replicas: %d before, %d after (%v)", len(before), len(after), err)
	}
}

// An event whose payload does not decode as its type says is the origin's
// fault: refused (403), not answered as this server's failure (503, which
// the origin retries for ever).
func TestReplicaRefusesMistypedPayloads(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	for _, d := range []string{
		`{"id":"$new","channel_id":"$RC","guild_id":"$R","author":{"id":"$ollie","username":"ollie"},"content":5,"timestamp":"2026-01-01T00:00:00Z"}`,
		`{"id":"$new","channel_id":"$RC","guild_id":"$R","author":{"id":"$ollie","username":"ollie"},"content":"x","type":"seven","timestamp":"2026-01-01T00:00:00Z"}`,
	} {
		rep, err := w.h.store.Replica(ctx, w.ids["R"])
		if err != nil {
			t.Fatal(err)
		}
		err = w.h.ApplyEvents(ctx, rogue, wire.EventBatch{Guild: w.global["R"], From: rep.Seq, To: rep.Seq + 1,
			Events: []wire.RemoteEvent{{Seq: rep.Seq + 1, Type: "MESSAGE_CREATE", D: json.RawMessage(w.expand([]byte(d)))}}})
		if !errors.Is(err, ErrForbidden) || ToWire(err).Code != "FORBIDDEN" {
			t.Errorf("%s: %v (wire %s), want FORBIDDEN", d, err, ToWire(err).Code)
		}
	}
}

// An ephemeral event is checked for one user: a presence whose user_id is
// the origin's user but whose user (which the gateway reads) is one of
// this server's would set that user's presence from another server.
func TestEphemeralNamesOneUser(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	send := func(d string) error {
		return w.h.ApplyEphemeral(ctx, rogue, wire.EphemeralEvent{Guild: w.global["R"], Type: "PRESENCE_UPDATE",
			D: json.RawMessage(w.expand([]byte(d)))})
	}
	if err := send(`{"user_id":"$ollie","user":{"id":"$alice"},"guild_id":"$R","status":"online"}`); !errors.Is(err, ErrForbidden) {
		t.Fatalf("a presence of alice under ollie's user_id: %v, want ErrForbidden", err)
	}
	if err := send(`{"user_id":"$ollie","user":{"id":"$ollie"},"guild_id":"$R","status":"online"}`); err != nil {
		t.Fatalf("ollie's presence: %v", err)
	}
}

package homeserver

import (
	"context"
	"strings"
	"testing"

	"hearth/snowflake"
	"hearth/storage"
)

// TestAnnouncementsRoundTrip: what a process announces is read back as
// the stretches it committed, joined only where they touch (a gap is
// another process's), split under NOTIFY's payload limit.
func TestAnnouncementsRoundTrip(t *testing.T) {
	r := newRelay(nil, "self")
	ev := func(log snowflake.ID, seq int64) storage.Event { return storage.Event{LogID: log, Seq: seq} }
	r.announce([]storage.Event{ev(7, 1), ev(7, 2), {LogID: 7}}) // Seq 0: ephemeral, not announced
	r.announce([]storage.Event{ev(7, 3)})
	r.announce([]storage.Event{ev(7, 5), ev(9, 1)}) // 4 is another process's
	got := map[snowflake.ID][]seqSpan{}
	for _, p := range r.payloads() {
		from, spans, ok := parseAnnouncement(p)
		if !ok || from != "self" {
			t.Fatalf("%q read as %q, %v", p, from, ok)
		}
		for _, sp := range spans {
			got[sp.id] = append(got[sp.id], sp.seqSpan)
		}
	}
	if len(got[7]) != 2 || got[7][0] != (seqSpan{1, 3}) || got[7][1] != (seqSpan{5, 5}) || len(got[9]) != 1 || got[9][0] != (seqSpan{1, 1}) {
		t.Fatalf("announced %v", got)
	}
	if ps := r.payloads(); len(ps) != 0 {
		t.Fatalf("announced twice: %q", ps)
	}

	// Many logs at once: several announcements, each under the limit,
	// together naming every log.
	var evs []storage.Event
	for i := range 2000 {
		evs = append(evs, ev(snowflake.ID(1<<40+i), 1))
	}
	r.announce(evs)
	ps := r.payloads()
	if len(ps) < 2 {
		t.Fatalf("%d announcements for 2,000 logs", len(ps))
	}
	n := 0
	for _, p := range ps {
		if len(p) > maxNotify {
			t.Fatalf("announcement of %d bytes", len(p))
		}
		_, spans, ok := parseAnnouncement(p)
		if !ok {
			t.Fatalf("unreadable: %.60q", p)
		}
		n += len(spans)
	}
	if n != 2000 {
		t.Fatalf("%d logs announced, want 2000", n)
	}
}

// TestAnnouncementsRefuseOtherText: text on the channel that is not an
// announcement (another program's) is ignored whole.
func TestAnnouncementsRefuseOtherText(t *testing.T) {
	for _, p := range []string{
		"",
		"self",
		"self 7",
		"self 7:1",
		"self 7:1:2:3",
		"self x:1:2",
		"self 7:0:2",
		"self 7:3:2",
		"self 7:-1:2",
		"self 7:1:99999999999999999999",
		"self 7:1:2 " + strings.Repeat("junk", 3),
	} {
		if _, _, ok := parseAnnouncement(p); ok {
			t.Errorf("%q read as an announcement", p)
		}
	}
	if from, spans, ok := parseAnnouncement("p 7:1:2 8:3:3"); !ok || from != "p" || len(spans) != 2 {
		t.Fatalf("a valid announcement refused: %v %v %v", from, spans, ok)
	}
}

// TestRevocationsRoundTrip: ended sign-ins announced are read back whole,
// in pages under the payload limit; other text is not taken for one.
func TestRevocationsRoundTrip(t *testing.T) {
	r := newRelay(nil, "self")
	var ids []snowflake.ID
	for i := range 700 {
		ids = append(ids, snowflake.ID(1<<50+i))
	}
	r.revoke(RevokedSessions{UserID: 5, Sessions: ids})
	r.revoke(RevokedSessions{UserID: 6, All: true})
	var got []snowflake.ID
	all := false
	for _, p := range r.payloads() {
		if len(p) > maxNotify {
			t.Fatalf("announcement of %d bytes", len(p))
		}
		from, rs, ok := parseRevocation(p)
		if !ok || from != "self" {
			t.Fatalf("%.60q not read back", p)
		}
		if rs.All {
			all = rs.UserID == 6
			continue
		}
		if rs.UserID != 5 {
			t.Fatalf("user %d", rs.UserID)
		}
		got = append(got, rs.Sessions...)
	}
	if !all || len(got) != 700 || got[0] != ids[0] || got[699] != ids[699] {
		t.Fatalf("read back %d sessions, all=%v", len(got), all)
	}
	for _, p := range []string{"self revoke", "self revoke 5", "self revoke x all", "self revoke 0 all", "self revoke 5 1,,2", "self revoke 5 1,x", "self 7:1:2 8:1:1"} {
		if _, _, ok := parseRevocation(p); ok {
			t.Errorf("%q read as a revocation", p)
		}
	}
}

// fixedLog answers every read with the same events.
type fixedLog []storage.Event

func (l fixedLog) Events(context.Context, snowflake.ID, int64, int) ([]storage.Event, error) {
	return l, nil
}

// TestGapFillDropsCachedState: where other processes write the logs, an
// event the bus reads to fill a gap drops the cached state of its guild
// before it is routed, as one that came with an announcement does.
func TestGapFillDropsCachedState(t *testing.T) {
	guild := snowflake.ID(42)
	if _, ok := busLog(nil, newStateCache(), true).(invalidatingLog); !ok {
		t.Fatal("a shared database's bus reads the log without dropping cached state")
	}
	for _, tc := range []struct {
		typ      string
		wantDrop bool
	}{{"GUILD_ROLE_UPDATE", true}, {"CHANNEL_UPDATE", true}, {"MESSAGE_CREATE", false}} {
		c := newStateCache()
		before := c.gen(guild)
		l := invalidatingLog{fixedLog{{LogID: guild, Seq: 1, Type: tc.typ}}, c}
		if _, err := l.Events(context.Background(), guild, 0, 10); err != nil {
			t.Fatal(err)
		}
		if got := c.gen(guild) != before; got != tc.wantDrop {
			t.Fatalf("%s: cache dropped = %v, want %v", tc.typ, got, tc.wantDrop)
		}
	}
}

// TestEphemeralRoundTrip: an ephemeral event shared is read back whole by
// the others, tagged with its process, after the commits of the same
// round; logged events, relayed copies and events too long for a
// notification are not shared; and other announcements are not taken for
// ephemeral ones.
func TestEphemeralRoundTrip(t *testing.T) {
	r := newRelay(nil, "self")
	typing := storage.Event{LogID: 42, Type: "TYPING_START", Payload: []byte(`{"channel_id":"43","user_id":"7 8"}`)}
	r.announce([]storage.Event{{LogID: 9, Seq: 1}})
	r.share([]storage.Event{
		typing,
		{LogID: 9, Seq: 2, Type: "MESSAGE_CREATE", Payload: []byte(`{}`)},          // logged: announced instead
		{LogID: 42, Type: "TYPING_START", Payload: []byte(`{}`), Process: "other"}, // relayed here: not again
		{LogID: 42, Type: "TYPING_START", Payload: []byte(`"` + strings.Repeat("x", maxNotify) + `"`)},
	})
	ps := r.payloads()
	if len(ps) != 2 {
		t.Fatalf("payloads %q, want the commit's and one ephemeral", ps)
	}
	if _, _, ok := parseAnnouncement(ps[0]); !ok {
		t.Fatalf("first payload %q is not the commit's", ps[0])
	}
	from, ev, ok := parseEphemeral(ps[1])
	if !ok || from != "self" || ev.Process != "self" || ev.LogID != typing.LogID || ev.Type != typing.Type || string(ev.Payload) != string(typing.Payload) {
		t.Fatalf("%q read as %q %+v %v", ps[1], from, ev, ok)
	}
	if n := r.ephDropped.Load(); n != 1 {
		t.Fatalf("%d dropped as too long, want 1", n)
	}
	for _, p := range []string{"self 9:1:2", "self revoke 5 all", "self eph x TYPING_START {}", "self eph 42", " eph 42 T {}"} {
		if _, _, ok := parseEphemeral(p); ok {
			t.Errorf("%q read as an ephemeral event", p)
		}
	}
	if _, _, ok := parseAnnouncement(ps[1]); ok {
		t.Errorf("%q read as an announcement of commits", ps[1])
	}
}

// TestEphemeralQueueBounded: ephemeral events shared while nothing is
// announced (NOTIFY slow or failing) are held up to maxEphQueued bytes;
// the rest are dropped and counted, not kept without bound.
func TestEphemeralQueueBounded(t *testing.T) {
	r := newRelay(nil, "self")
	ev := storage.Event{LogID: 42, Type: "TYPING_START", Payload: []byte(`{"channel_id":"43","user_id":"7","pad":"` + strings.Repeat("x", 4000) + `"}`)}
	const n = 2 * maxEphQueued / 4000
	for range n {
		r.share([]storage.Event{ev})
	}
	held := 0
	for _, p := range r.payloads() {
		held += len(p)
	}
	if held > maxEphQueued {
		t.Fatalf("%d bytes of ephemeral events held, over %d", held, maxEphQueued)
	}
	if r.ephDropped.Load() == 0 {
		t.Fatal("none counted as dropped")
	}
	// Drained: room again.
	r.share([]storage.Event{ev})
	if ps := r.payloads(); len(ps) != 1 {
		t.Fatalf("after a drain, %d payloads, want 1", len(ps))
	}
}

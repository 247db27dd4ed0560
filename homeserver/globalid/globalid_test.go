package globalid_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"hearth/homeserver/globalid"
	"hearth/snowflake"
	"hearth/storage"
	"hearth/storage/sqlite"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in         string
		id, origin string
		ok         bool
	}{
		{"123@a.example", "123", "a.example", true},
		{"123@127.0.0.1:8080", "123", "127.0.0.1:8080", true},
		{"123", "", "", false},
		{"@a.example", "", "", false},
		{"123@", "", "", false},
		{"12a@a.example", "", "", false},
		{"-1@a.example", "", "", false},
		{"1@A.example", "", "", false},
		{"1@a.example:443", "", "", false},
		{"1@a.example/x?", "", "", false},
		{"123456789012345678901@a.example", "", "", false},
	}
	for _, tc := range cases {
		id, origin, ok := globalid.Parse(tc.in)
		if id != tc.id || origin != tc.origin || ok != tc.ok {
			t.Errorf("Parse(%q) = %q, %q, %v; want %q, %q, %v", tc.in, id, origin, ok, tc.id, tc.origin, tc.ok)
		}
	}
	if got := globalid.Format(42, "a.example"); got != "42@a.example" {
		t.Errorf("Format = %q", got)
	}
}

// fixture is a receiver, here.example, holding a user of its own, a
// replica of origin.example's guild 1 (with a user and a role of that
// origin), and another replica of the same origin's guild 2 with a channel.
type fixture struct {
	store                               storage.Store
	ids                                 *snowflake.Generator
	localUser, localGuild               snowflake.ID
	replica, originUser, originRole     snowflake.ID
	otherReplica, otherChannel, third   snowflake.ID
	thirdGlobal                         string
	replicaGlobal, otherChannelGlobal   string
	originUserGlobal, originRoleGlobal  string
	localUserGlobal, localGuildGlobal   string
	unknownOrigin, unknownThird, thirdU string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hearth.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ids := snowflake.NewGenerator(1)
	f := &fixture{store: store, ids: ids, localUser: ids.Next(), localGuild: ids.Next(), replica: ids.Next(),
		originUser: ids.Next(), originRole: ids.Next(), otherReplica: ids.Next(), otherChannel: ids.Next(), third: ids.Next()}
	f.localUserGlobal = globalid.Format(f.localUser, "here.example")
	f.localGuildGlobal = globalid.Format(f.localGuild, "here.example")
	f.replicaGlobal, f.originUserGlobal, f.originRoleGlobal = "1@origin.example", "10@origin.example", "11@origin.example"
	f.otherChannelGlobal = "21@origin.example"
	f.thirdGlobal = "30@third.example"
	f.unknownOrigin, f.unknownThird = "99@origin.example", "99@third.example"
	now := time.Now()
	err = store.Update(ctx, func(tx storage.Tx) error {
		users := []storage.User{
			{ID: f.localUser, Username: "alice", CreatedAt: now},
			{ID: f.originUser, Username: "bob", CreatedAt: now, Origin: "origin.example", OriginID: "10"},
			{ID: f.third, Username: "carol", CreatedAt: now, Origin: "third.example", OriginID: "30"},
		}
		for _, u := range users {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		maps := map[storage.GlobalID]storage.Mapping{
			{Origin: "origin.example", OriginID: "1"}:  {Local: f.replica, Scope: f.replica},
			{Origin: "origin.example", OriginID: "10"}: {Local: f.originUser},
			{Origin: "origin.example", OriginID: "11"}: {Local: f.originRole, Scope: f.replica},
			{Origin: "origin.example", OriginID: "2"}:  {Local: f.otherReplica, Scope: f.otherReplica},
			{Origin: "origin.example", OriginID: "21"}: {Local: f.otherChannel, Scope: f.otherReplica},
			{Origin: "third.example", OriginID: "30"}:  {Local: f.third},
		}
		return tx.MapFederatedIDs(ctx, maps)
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// In replica mode, what origin.example says about its guild 1 may name
// its own objects there, users anywhere, and nothing else; and the applier
// may write only to what the origin's IDs named.
func TestLocalizerReplicaRules(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	cases := []struct {
		name   string
		global func(*fixture) string
		want   error
		// local is the ID it must resolve to (0: a new one).
		local func(*fixture) snowflake.ID
		owned bool
	}{
		{"the origin's role in the replica", func(f *fixture) string { return f.originRoleGlobal }, nil, func(f *fixture) snowflake.ID { return f.originRole }, true},
		{"the origin's user", func(f *fixture) string { return f.originUserGlobal }, nil, func(f *fixture) snowflake.ID { return f.originUser }, true},
		{"a new object of the origin", func(f *fixture) string { return f.unknownOrigin }, nil, nil, true},
		{"a user of the receiver", func(f *fixture) string { return f.localUserGlobal }, nil, func(f *fixture) snowflake.ID { return f.localUser }, false},
		{"a user of a third server", func(f *fixture) string { return f.thirdGlobal }, nil, func(f *fixture) snowflake.ID { return f.third }, false},
		{"a guild of the receiver", func(f *fixture) string { return f.localGuildGlobal }, globalid.ErrForbidden, nil, false},
		{"a channel of the origin's other replica", func(f *fixture) string { return f.otherChannelGlobal }, globalid.ErrForbidden, nil, false},
		{"an unknown object of a third server", func(f *fixture) string { return f.unknownThird }, globalid.ErrForbidden, nil, false},
		{"not a global ID", func(*fixture) string { return "12x@origin.example" }, globalid.ErrMalformed, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := f.store.Update(ctx, func(tx storage.Tx) error {
				l := globalid.New("here.example", f.ids, tx, tx).ForReplica("origin.example", f.replica)
				id, err := l.ID(ctx, tc.global(f))
				if !errors.Is(err, tc.want) && !(err == nil && tc.want == nil) {
					t.Fatalf("ID: err = %v, want %v", err, tc.want)
				}
				if err != nil {
					return errRollback
				}
				if tc.local != nil && id != tc.local(f) {
					t.Errorf("ID = %d, want %d", id, tc.local(f))
				}
				if err := l.Owned(id); (err == nil) != tc.owned {
					t.Errorf("Owned(%d) = %v, want owned %v", id, err, tc.owned)
				}
				return errRollback
			})
			if !errors.Is(err, errRollback) {
				t.Fatal(err)
			}
		})
	}
}

var errRollback = errors.New("rollback")

// Without a transaction a localizer only looks up: an unknown object is
// an error, and nothing is mapped.
func TestLocalizerLookupOnly(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	l := globalid.New("here.example", f.ids, f.store, nil)
	if id, err := l.ID(ctx, f.originRoleGlobal); err != nil || id != f.originRole {
		t.Fatalf("known: %d, %v", id, err)
	}
	if _, err := l.ID(ctx, f.unknownOrigin); !errors.Is(err, globalid.ErrUnknown) {
		t.Fatalf("unknown: %v", err)
	}
	if _, err := f.store.FederatedID(ctx, "origin.example", "99"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a lookup mapped the unknown ID: %v", err)
	}
}

// Payloads cross the wire and back: this server's own IDs become
// <id>@here.example, mirrored ones their origin's, mentions included, and
// the localizer turns them back.
func TestGlobalizeAndBack(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	in := []byte(`{"id":"` + f.localUser.String() + `","role_ids":["` + f.originRole.String() + `"],"content":"hi <@` + f.third.String() + `> <@&` + f.originRole.String() + `>","name":"12"}`)
	out, err := globalid.Globalize(ctx, f.store, "here.example", in)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"content":"hi <@30@third.example> <@&11@origin.example>","id":"` + f.localUserGlobal + `","name":"12","role_ids":["11@origin.example"]}`
	sameJSON(t, "globalized", out[0], want)
	back, err := globalid.New("here.example", f.ids, f.store, nil).Payload(ctx, out[0])
	if err != nil {
		t.Fatal(err)
	}
	wantBack := `{"content":"hi <@` + f.third.String() + `> <@&` + f.originRole.String() + `>","id":"` + f.localUser.String() + `","name":"12","role_ids":["` + f.originRole.String() + `"]}`
	sameJSON(t, "localized", back, wantBack)
}

func sameJSON(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s\n got %s\nwant %s", what, got, want)
	}
}

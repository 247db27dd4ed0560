package homeserver

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"hearth/homeserver/password"
	"hearth/snowflake"
	"hearth/storage"
	"hearth/storage/blobs"
	"hearth/storage/sqlite"
)

// cheapPassword makes argon2 fast in tests.
var cheapPassword = password.Params{Memory: 64, Time: 1, Threads: 1}

// newTestHomeserver is a Homeserver on a fresh SQLite database.
func newTestHomeserver(t testing.TB) *Homeserver {
	t.Helper()
	dir := t.TempDir()
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, "hearth.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	files, err := blobs.Open(filepath.Join(dir, "files"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{ServerName: "here.example", Store: store, Blobs: files, IDs: snowflake.NewGenerator(1),
		TokenKey: make([]byte, 32), Password: cheapPassword})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// A write that reaches a replica guild's log without being forwarded to
// its origin fails whole (nothing of it stays), whichever way it writes;
// the transaction that applies the origin's events may append to it.
func TestDoorRefusesLocalWritesToReplicas(t *testing.T) {
	ctx := context.Background()
	h := newTestHomeserver(t)
	ids := h.cfg.IDs
	local, replica := ids.Next(), ids.Next()
	now := time.Now()
	err := h.store.Update(ctx, func(tx storage.Tx) error {
		if err := tx.CreateGuild(ctx, storage.Guild{ID: local, Name: "ours", CreatedAt: now}); err != nil {
			return err
		}
		if err := tx.CreateGuild(ctx, storage.Guild{ID: replica, Name: "theirs", CreatedAt: now, Origin: "origin.example", OriginID: "1"}); err != nil {
			return err
		}
		return tx.SetReplica(ctx, storage.Replica{LogID: replica, Origin: "origin.example", Seq: 0})
	})
	if err != nil {
		t.Fatal(err)
	}
	head := func(logID snowflake.ID) int64 {
		t.Helper()
		evs, err := h.store.Events(ctx, logID, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		return int64(len(evs))
	}
	rename := func(id snowflake.ID, name string) func(tx storage.Tx, ev *events) error {
		return func(tx storage.Tx, ev *events) error {
			g, err := tx.GuildByID(ctx, id)
			if err != nil {
				return err
			}
			g.Name = name
			if err := tx.UpdateGuild(ctx, g); err != nil {
				return err
			}
			return ev.Append(ctx, id, "GUILD_UPDATE", map[string]string{"name": name})
		}
	}
	cases := []struct {
		name  string
		write func() error
		guild snowflake.ID
		want  error
	}{
		{"a local write to a local guild", func() error { return h.update(ctx, rename(local, "renamed")) }, local, nil},
		{"a local write to a replica", func() error { return h.update(ctx, rename(replica, "forked")) }, replica, ErrRemoteGuild},
		{"a local write to both", func() error {
			return h.update(ctx, func(tx storage.Tx, ev *events) error {
				if err := rename(local, "both")(tx, ev); err != nil {
					return err
				}
				return rename(replica, "both")(tx, ev)
			})
		}, replica, ErrRemoteGuild},
		{"a batched send to a replica", func() error {
			return h.updateLog(ctx, replica, logWrite{events: []storage.Event{{LogID: replica, Type: "MESSAGE_CREATE", Payload: []byte(`{}`), CreatedAt: now}}})
		}, replica, ErrRemoteGuild},
		{"the origin's events applied to their replica", func() error {
			return h.update(ctx, func(tx storage.Tx, ev *events) error {
				ev.applyingReplica(replica)
				return rename(replica, "applied")(tx, ev)
			})
		}, replica, nil},
		{"the origin's events of one replica touching another log", func() error {
			return h.update(ctx, func(tx storage.Tx, ev *events) error {
				ev.applyingReplica(ids.Next())
				return rename(replica, "elsewhere")(tx, ev)
			})
		}, replica, ErrRemoteGuild},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := h.store.GuildByID(ctx, tc.guild)
			n := head(tc.guild)
			err := tc.write()
			if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			after, _ := h.store.GuildByID(ctx, tc.guild)
			if tc.want != nil && (after.Name != before.Name || head(tc.guild) != n) {
				t.Fatalf("refused write left %q and %d events (had %q and %d)", after.Name, head(tc.guild), before.Name, n)
			}
			if tc.want == nil && head(tc.guild) != n+1 {
				t.Fatalf("accepted write appended %d events", head(tc.guild)-n)
			}
		})
	}
}

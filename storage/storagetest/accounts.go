package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"hearth/snowflake"
	"hearth/storage"
)

// Closings are recorded, replaced, listed by time and forgotten; the known
// servers are the origins of the users seen, each once.
func testClosedAccounts(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := time.UnixMilli(time.Now().UnixMilli())
	a, b := newUser("closer"), newUser("stayer")
	r1, r2, r3 := newUser("rone"), newUser("rtwo"), newUser("rthree")
	r1.Origin, r1.OriginID = "x.example", "1"
	r2.Origin, r2.OriginID = "x.example", "2"
	r3.Origin, r3.OriginID = "y.example", "3"
	update(t, s, func(tx storage.Tx) error {
		for _, u := range []storage.User{a, b, r1, r2, r3} {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		return nil
	})
	if _, err := s.ClosedAccount(ctx, a.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("closing of an open account: %v", err)
	}
	update(t, s, func(tx storage.Tx) error {
		if err := tx.CloseAccount(ctx, storage.ClosedAccount{UserID: a.ID, State: storage.AccountDisabled, ClosedAt: now}); err != nil {
			return err
		}
		return tx.CloseAccount(ctx, storage.ClosedAccount{UserID: a.ID, State: storage.AccountDeleted, ClosedAt: now.Add(time.Second)})
	})
	c, err := s.ClosedAccount(ctx, a.ID)
	if err != nil || c.State != storage.AccountDeleted || !c.ClosedAt.Equal(now.Add(time.Second)) {
		t.Fatalf("closing = %+v, %v", c, err)
	}
	if cs, err := s.ClosedSince(ctx, now.Add(time.Second), 10); err != nil || len(cs) != 1 || cs[0].UserID != a.ID {
		t.Fatalf("closed since = %+v, %v", cs, err)
	}
	if cs, err := s.ClosedSince(ctx, now.Add(2*time.Second), 10); err != nil || len(cs) != 0 {
		t.Fatalf("closed since later = %+v, %v", cs, err)
	}
	servers, err := s.KnownServers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, sv := range servers {
		seen[sv]++
	}
	if seen["x.example"] != 1 || seen["y.example"] != 1 {
		t.Fatalf("known servers = %v", servers)
	}
	update(t, s, func(tx storage.Tx) error { return tx.ReopenAccount(ctx, a.ID) })
	if _, err := s.ClosedAccount(ctx, a.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("closing after reopening: %v", err)
	}
	err = s.Update(ctx, func(tx storage.Tx) error { return tx.ReopenAccount(ctx, b.ID) })
	if !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("reopening an open account: %v", err)
	}
}

// A user's messages are listed across guilds and channels, oldest first,
// after a cursor, with their attachments; others' are not.
func testUserMessages(t *testing.T, s storage.Store) {
	ctx := context.Background()
	_, c1, users := messageFixture(t, s, 2)
	g2 := storage.Guild{ID: ids.Next(), Name: "second", OwnerID: users[0].ID, CreatedAt: time.UnixMilli(time.Now().UnixMilli())}
	c2 := newChannel(g2.ID, "elsewhere", 0)
	update(t, s, func(tx storage.Tx) error {
		if err := tx.CreateGuild(ctx, g2); err != nil {
			return err
		}
		return tx.CreateChannel(ctx, c2)
	})
	first, theirs, second := newMessage(c1, users[0].ID, "a"), newMessage(c1, users[1].ID, "b"), newMessage(c2, users[0].ID, "c")
	second.Attachments = []storage.Attachment{{ID: ids.Next(), MessageID: second.ID, ChannelID: c2.ID, Filename: "f.txt", ContentType: "text/plain", Size: 3, Hash: "abc"}}
	createMessages(t, s, first, theirs, second)
	ms, err := s.UserMessages(ctx, users[0].ID, 0, 10)
	if err != nil || len(ms) != 2 || ms[0].ID != first.ID || ms[1].ID != second.ID || len(ms[1].Attachments) != 1 || ms[1].Attachments[0].Filename != "f.txt" {
		t.Fatalf("UserMessages = %+v, %v", ms, err)
	}
	if ms, err := s.UserMessages(ctx, users[0].ID, first.ID, 10); err != nil || len(ms) != 1 || ms[0].ID != second.ID {
		t.Fatalf("UserMessages after the first = %+v, %v", ms, err)
	}
	if ms, err := s.UserMessages(ctx, users[0].ID, 0, 1); err != nil || len(ms) != 1 || ms[0].ID != first.ID {
		t.Fatalf("UserMessages limit 1 = %+v, %v", ms, err)
	}
}

// A registration token is used up to its allowance and until it expires;
// an unlimited one any number of times; a revoked one not at all.
func testRegistrationTokens(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := time.UnixMilli(time.Now().UnixMilli())
	once := storage.RegistrationToken{ID: ids.Next(), Hash: "h-once", UsesAllowed: 1, CreatedAt: now}
	expiring := storage.RegistrationToken{ID: ids.Next(), Hash: "h-expiring", UsesAllowed: 5, ExpiresAt: now.Add(time.Hour), CreatedAt: now}
	unlimited := storage.RegistrationToken{ID: ids.Next(), Hash: "h-unlimited", CreatedAt: now, CreatedBy: 42}
	update(t, s, func(tx storage.Tx) error {
		for _, rt := range []storage.RegistrationToken{once, expiring, unlimited} {
			if err := tx.CreateRegistrationToken(ctx, rt); err != nil {
				return err
			}
		}
		return nil
	})
	use := func(hash string, at time.Time) error {
		return s.Update(ctx, func(tx storage.Tx) error { return tx.UseRegistrationToken(ctx, hash, at) })
	}
	for i, c := range []struct {
		hash string
		at   time.Time
		ok   bool
	}{
		{"h-once", now, true}, {"h-once", now, false},
		{"h-expiring", now.Add(59 * time.Minute), true}, {"h-expiring", now.Add(time.Hour), false},
		{"h-unlimited", now, true}, {"h-unlimited", now.Add(1000 * time.Hour), true},
		{"h-nothing", now, false},
	} {
		err := use(c.hash, c.at)
		if c.ok && err != nil || !c.ok && !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("case %d: use %s: %v", i, c.hash, err)
		}
	}
	ts, err := s.RegistrationTokens(ctx)
	if err != nil || len(ts) != 3 || ts[0].Uses != 1 || ts[1].Uses != 1 || !ts[1].ExpiresAt.Equal(expiring.ExpiresAt) ||
		!ts[2].ExpiresAt.IsZero() || ts[2].Uses != 2 || ts[2].CreatedBy != 42 || ts[2].UsesAllowed != 0 {
		t.Fatalf("tokens = %+v, %v", ts, err)
	}
	update(t, s, func(tx storage.Tx) error { return tx.DeleteRegistrationToken(ctx, unlimited.ID) })
	if err := use("h-unlimited", now); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("use of a revoked token: %v", err)
	}
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.DeleteRegistrationToken(ctx, unlimited.ID) }); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("revoking twice: %v", err)
	}
}

// The local guilds are this server's own, not replicas; operator deletions
// are listed by time.
func testLocalGuildsAndDeletions(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := time.UnixMilli(time.Now().UnixMilli())
	owner := newUser("guildowner")
	ours := storage.Guild{ID: ids.Next(), Name: "ours", OwnerID: owner.ID, CreatedAt: now}
	theirs := storage.Guild{ID: ids.Next(), Name: "theirs", CreatedAt: now, Origin: "x.example", OriginID: "9"}
	update(t, s, func(tx storage.Tx) error {
		if err := tx.CreateUser(ctx, owner); err != nil {
			return err
		}
		for _, g := range []storage.Guild{ours, theirs} {
			if err := tx.CreateGuild(ctx, g); err != nil {
				return err
			}
		}
		return nil
	})
	gs, err := s.LocalGuilds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, g := range gs {
		if g.ID == theirs.ID {
			t.Fatalf("a replica among the local guilds: %+v", g)
		}
		found = found || g.ID == ours.ID && g.Name == "ours" && g.OwnerID == owner.ID
	}
	if !found {
		t.Fatalf("local guilds %+v lack ours", gs)
	}
	update(t, s, func(tx storage.Tx) error {
		if err := tx.RecordGuildDeletion(ctx, storage.GuildDeletion{GuildID: ours.ID, DeletedAt: now}); err != nil {
			return err
		}
		return tx.RecordGuildDeletion(ctx, storage.GuildDeletion{GuildID: theirs.ID, DeletedAt: now.Add(time.Second)})
	})
	ds, err := s.GuildDeletionsSince(ctx, now, 10)
	if err != nil || len(ds) != 2 || ds[0].GuildID != ours.ID || ds[1].GuildID != theirs.ID {
		t.Fatalf("deletions since = %+v, %v", ds, err)
	}
	if ds, err := s.GuildDeletionsSince(ctx, now.Add(time.Second), 10); err != nil || len(ds) != 1 || ds[0].GuildID != theirs.ID {
		t.Fatalf("deletions since later = %+v, %v", ds, err)
	}
}

// Reports are listed newest first, by guild, open only and below a
// cursor; resolving marks one and is ErrNotFound for none.
func testReports(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := time.UnixMilli(time.Now().UnixMilli())
	g1, g2 := ids.Next(), ids.Next()
	msg := func(g snowflake.ID) storage.Report {
		return storage.Report{ID: ids.Next(), Kind: storage.ReportMessage, ReporterID: 1, GuildID: g, ChannelID: 2, MessageID: 3,
			TargetUserID: 4, Reason: "spam", Content: "buy now", CreatedAt: now}
	}
	a, b := msg(g1), msg(g2)
	c := msg(g1)
	u := storage.Report{ID: ids.Next(), Kind: storage.ReportUser, ReporterID: 1, TargetUserID: 5, Reason: "rude", CreatedAt: now}
	update(t, s, func(tx storage.Tx) error {
		for _, r := range []storage.Report{a, b, c, u} {
			if err := tx.CreateReport(ctx, r); err != nil {
				return err
			}
		}
		return tx.ResolveReport(ctx, c.ID, 9, now.Add(time.Minute), "removed")
	})
	idsOf := func(rs []storage.Report, err error) []snowflake.ID {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out []snowflake.ID
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	same := func(got []snowflake.ID, want ...snowflake.ID) bool {
		if len(got) != len(want) {
			return false
		}
		for i := range got {
			if got[i] != want[i] {
				return false
			}
		}
		return true
	}
	if got := idsOf(s.Reports(ctx, storage.ReportQuery{GuildID: g1})); !same(got, c.ID, a.ID) {
		t.Fatalf("guild 1's reports = %v", got)
	}
	if got := idsOf(s.Reports(ctx, storage.ReportQuery{GuildID: g1, Open: true})); !same(got, a.ID) {
		t.Fatalf("guild 1's open reports = %v", got)
	}
	if got := idsOf(s.Reports(ctx, storage.ReportQuery{Before: u.ID, Limit: 2})); !same(got, c.ID, b.ID) {
		t.Fatalf("reports before the user's, 2 = %v", got)
	}
	r, err := s.ReportByID(ctx, c.ID)
	if err != nil || r.ResolvedBy != 9 || r.Resolution != "removed" || !r.ResolvedAt.Equal(now.Add(time.Minute)) || r.Content != "buy now" || r.GuildID != g1 {
		t.Fatalf("resolved report = %+v, %v", r, err)
	}
	if r, err := s.ReportByID(ctx, u.ID); err != nil || !r.ResolvedAt.IsZero() || r.Kind != storage.ReportUser || r.TargetUserID != 5 {
		t.Fatalf("user report = %+v, %v", r, err)
	}
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.ResolveReport(ctx, ids.Next(), 9, now, "") }); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("resolving no report: %v", err)
	}
}

// An address belongs to one account (ignoring case); a link works once,
// for its purpose, before it expires.
func testEmails(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := time.UnixMilli(time.Now().UnixMilli())
	a, b := newUser("mailer"), newUser("other")
	update(t, s, func(tx storage.Tx) error {
		if err := tx.CreateUser(ctx, a); err != nil {
			return err
		}
		return tx.CreateUser(ctx, b)
	})
	if _, err := s.UserEmail(ctx, a.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("no address yet: %v", err)
	}
	update(t, s, func(tx storage.Tx) error {
		return tx.SetUserEmail(ctx, storage.UserEmail{UserID: a.ID, Email: "Ann@Example.org", VerifiedAt: now})
	})
	if id, err := s.UserByEmail(ctx, "ann@example.ORG"); err != nil || id != a.ID {
		t.Fatalf("user by email = %v, %v", id, err)
	}
	if e, err := s.UserEmail(ctx, a.ID); err != nil || e.Email != "Ann@Example.org" || !e.VerifiedAt.Equal(now) {
		t.Fatalf("user email = %+v, %v", e, err)
	}
	err := s.Update(ctx, func(tx storage.Tx) error {
		return tx.SetUserEmail(ctx, storage.UserEmail{UserID: b.ID, Email: "ann@example.org", VerifiedAt: now})
	})
	if !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("a second account with the address: %v", err)
	}
	update(t, s, func(tx storage.Tx) error {
		return tx.CreateEmailToken(ctx, storage.EmailToken{Hash: "h1", UserID: a.ID, Purpose: storage.EmailReset, Email: "x@example.org", ExpiresAt: now.Add(time.Hour)})
	})
	use := func(hash, purpose string, at time.Time) (storage.EmailToken, error) {
		var et storage.EmailToken
		err := s.Update(ctx, func(tx storage.Tx) error {
			var err error
			et, err = tx.UseEmailToken(ctx, hash, purpose, at)
			return err
		})
		return et, err
	}
	if _, err := use("h1", storage.EmailConfirm, now); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a reset link used to confirm: %v", err)
	}
	if _, err := use("h1", storage.EmailReset, now.Add(time.Hour)); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("an expired link: %v", err)
	}
	if et, err := use("h1", storage.EmailReset, now); err != nil || et.UserID != a.ID || et.Email != "x@example.org" {
		t.Fatalf("use = %+v, %v", et, err)
	}
	if _, err := use("h1", storage.EmailReset, now); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a link used twice: %v", err)
	}
	update(t, s, func(tx storage.Tx) error {
		if err := tx.CreateEmailToken(ctx, storage.EmailToken{Hash: "h2", UserID: a.ID, Purpose: storage.EmailReset, Email: "x@example.org", ExpiresAt: now.Add(time.Hour)}); err != nil {
			return err
		}
		if err := tx.DeleteUserEmail(ctx, a.ID); err != nil {
			return err
		}
		return tx.DeleteUserEmail(ctx, b.ID)
	})
	if _, err := s.UserByEmail(ctx, "ann@example.org"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("the address after deleting it: %v", err)
	}
	if _, err := use("h2", storage.EmailReset, now); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a link of a deleted address: %v", err)
	}
	// A password change forgets the reset links, and only them.
	update(t, s, func(tx storage.Tx) error {
		for _, et := range []storage.EmailToken{
			{Hash: "r1", UserID: a.ID, Purpose: storage.EmailReset, Email: "x@example.org", ExpiresAt: now.Add(time.Hour)},
			{Hash: "c1", UserID: a.ID, Purpose: storage.EmailConfirm, Email: "x@example.org", ExpiresAt: now.Add(time.Hour)},
			{Hash: "r2", UserID: b.ID, Purpose: storage.EmailReset, Email: "y@example.org", ExpiresAt: now.Add(time.Hour)},
		} {
			if err := tx.CreateEmailToken(ctx, et); err != nil {
				return err
			}
		}
		return tx.DeleteEmailTokens(ctx, a.ID, storage.EmailReset)
	})
	if _, err := use("r1", storage.EmailReset, now); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a reset link after its account's links were forgotten: %v", err)
	}
	if _, err := use("c1", storage.EmailConfirm, now); err != nil {
		t.Fatalf("a confirmation link forgotten with the reset links: %v", err)
	}
	if _, err := use("r2", storage.EmailReset, now); err != nil {
		t.Fatalf("another account's reset link forgotten: %v", err)
	}
}

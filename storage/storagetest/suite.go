package storagetest

import (
	"cmp"
	"context"
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"hearth/snowflake"
	"hearth/storage"
)

// Run runs the conformance suite against stores made by open, a fresh empty
// database for each call.
func Run(t *testing.T, open func(t *testing.T) storage.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Store)
	}{
		{"Users", testUsers},
		{"UsernamesUniqueIgnoringCase", testUsernameUnique},
		{"RemoteUsers", testRemoteUsers},
		{"Sessions", testSessions},
		{"LinkCodes", testLinkCodes},
		{"RecoveryCodes", testRecoveryCodes},
		{"InstanceAdmin", testInstanceAdmin},
		{"ClosedAccounts", testClosedAccounts},
		{"Emails", testEmails},
		{"Notices", testNotices},
		{"Reports", testReports},
		{"LocalGuildsAndDeletions", testLocalGuildsAndDeletions},
		{"RegistrationTokens", testRegistrationTokens},
		{"UserMessages", testUserMessages},
		{"EventLogOrder", testEventLogOrder},
		{"AppendEventsBatch", testAppendEventsBatch},
		{"CreateMessagesBatch", testCreateMessagesBatch},
		{"AuthorMessages", testAuthorMessages},
		{"IdleThreads", testIdleThreads},
		{"SearchManyMatches", testSearchManyMatches},
		{"SearchFiltersOnly", testSearchFiltersOnly},
		{"UseInviteLimits", testUseInviteLimits},
		{"LockMember", testLockMember},
		{"LockUser", testLockUser},
		{"LockChannel", testLockChannel},
		{"EventLogConcurrentAppendsGapless", testEventLogConcurrent},
		{"EventLogRollbackLeavesNoGap", testEventLogRollback},
		{"UpdateRollsBackState", testUpdateRollsBack},
		{"UpdateEndsAtContext", testUpdateEndsAtContext},
		{"Guilds", testGuilds},
		{"UserGuildsAndMemberCount", testUserGuilds},
		{"ObjectCounts", testObjectCounts},
		{"PublicGuilds", testPublicGuilds},
		{"Channels", testChannels},
		{"Overwrites", testOverwrites},
		{"Roles", testRoles},
		{"DeleteRole", testDeleteRole},
		{"Members", testMembers},
		{"MembersPages", testMembersPages},
		{"TemporaryMembers", testTemporaryMembers},
		{"Bans", testBans},
		{"Invites", testInvites},
		{"Emojis", testEmojis},
		{"EmojiRoles", testEmojiRoles},
		{"AuditLog", testAuditLog},
		{"DeleteGuildCascades", testDeleteGuild},
		{"GuildNotFound", testGuildNotFound},
		{"GuildConflicts", testGuildConflicts},
		{"Messages", testMessages},
		{"MessageHistory", testMessageHistory},
		{"MessageByNonceAndLastMessageBy", testMessageByNonce},
		{"ChannelLastMessageID", testLastMessageID},
		{"PinnedMessages", testPinnedMessages},
		{"Reactions", testReactions},
		{"DeleteMessagesCascades", testDeleteMessages},
		{"Revisions", testRevisions},
		{"SearchMessages", testSearchMessages},
		{"SearchMessagesPages", testSearchPages},
		{"DMChannels", testDMChannels},
		{"DMMessages", testDMMessages},
		{"Threads", testThreads},
		{"UpdateThread", testUpdateThread},
		{"ArchivedThreads", testArchivedThreads},
		{"ThreadMembers", testThreadMembers},
		{"ThreadMessages", testThreadMessages},
		{"DeleteChannelDeletesThreads", testDeleteChannelThreads},
		{"ScopedWrites", testScopedWrites},
		{"Webhooks", testWebhooks},
		{"Bridge", testBridge},
		{"FederatedIDs", testFederatedIDs},
		{"RemapFederatedMessage", testRemapFederatedMessage},
		{"DeliveryCursorsAndReplicas", testDeliveryCursors},
		{"MemberOrigins", testMemberOrigins},
		{"ActReceipts", testActReceipts},
		{"SentActs", testSentActs},
		{"LiveSessions", testLiveSessions},
		{"MessageAuthors", testMessageAuthors},
		{"Applications", testApplications},
		{"ApplicationCommands", testApplicationCommands},
		{"Interactions", testInteractions},
		{"Relationships", testRelationships},
		{"Profiles", testProfiles},
		{"ReadStates", testReadStates},
		{"UnreadMentions", testUnreadMentions},
		{"UserGuildSettings", testUserGuildSettings},
		{"Leases", testLeases},
		{"NodeLeases", testNodeLeases},
		{"LogHeads", testLogHeads},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

var ids = snowflake.NewGenerator(1)

func update(t *testing.T, s storage.Store, fn func(tx storage.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func newUser(name string) storage.User {
	return storage.User{
		ID: ids.Next(), Username: name, PasswordHash: "hash:" + name,
		CreatedAt: time.UnixMilli(time.Now().UnixMilli()).UTC(),
	}
}

func testUsers(t *testing.T, s storage.Store) {
	ctx := context.Background()
	accent := 0x5865F2
	u := newUser("Alice")
	u.GlobalName, u.Bio, u.AccentColor, u.Flags = "Alice A.", "hello", &accent, 64
	update(t, s, func(tx storage.Tx) error { return tx.CreateUser(ctx, u) })

	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	if got.Username != "Alice" || got.GlobalName != "Alice A." || got.Bio != "hello" ||
		got.AccentColor == nil || *got.AccentColor != accent || got.Flags != 64 ||
		!got.CreatedAt.Equal(u.CreatedAt) || got.PasswordHash != u.PasswordHash || got.Bot {
		t.Fatalf("UserByID = %+v, want %+v", got, u)
	}
	if got, err := s.UserByUsername(ctx, "aLiCe"); err != nil || got.ID != u.ID {
		t.Fatalf("UserByUsername(aLiCe) = %v, %v", got.ID, err)
	}
	if _, err := s.UserByID(ctx, ids.Next()); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("UserByID(unknown) err = %v, want ErrNotFound", err)
	}
	if _, err := s.UserByUsername(ctx, "nobody"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("UserByUsername(unknown) err = %v, want ErrNotFound", err)
	}

	got.Username, got.GlobalName, got.AccentColor, got.Avatar = "Alicia", "", nil, "abc"
	update(t, s, func(tx storage.Tx) error { return tx.UpdateUser(ctx, got) })
	again, err := s.UserByID(ctx, u.ID)
	if err != nil || again.Username != "Alicia" || again.GlobalName != "" || again.AccentColor != nil || again.Avatar != "abc" {
		t.Fatalf("after update: %+v, %v", again, err)
	}
	if _, err := s.UserByUsername(ctx, "alice"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("old name still resolves: %v", err)
	}
	missing := newUser("ghost")
	err = s.Update(ctx, func(tx storage.Tx) error { return tx.UpdateUser(ctx, missing) })
	if !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("UpdateUser(unknown) err = %v, want ErrNotFound", err)
	}
}

func testUsernameUnique(t *testing.T, s storage.Store) {
	ctx := context.Background()
	a, b := newUser("Bob"), newUser("carol")
	update(t, s, func(tx storage.Tx) error {
		if err := tx.CreateUser(ctx, a); err != nil {
			return err
		}
		return tx.CreateUser(ctx, b)
	})
	dup := newUser("BOB")
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.CreateUser(ctx, dup) }); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("CreateUser(BOB) err = %v, want ErrConflict", err)
	}
	b.Username = "bOb"
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.UpdateUser(ctx, b) }); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("rename to bOb err = %v, want ErrConflict", err)
	}
	// Changing only the case of one's own name is allowed.
	a.Username = "BOB"
	update(t, s, func(tx storage.Tx) error { return tx.UpdateUser(ctx, a) })
}

func testRemoteUsers(t *testing.T, s storage.Store) {
	ctx := context.Background()
	local := newUser("dave")
	remote := newUser("dave")
	remote.Origin, remote.OriginID = "other.example", "1234"
	update(t, s, func(tx storage.Tx) error {
		if err := tx.CreateUser(ctx, local); err != nil {
			return err
		}
		return tx.CreateUser(ctx, remote)
	})
	if got, err := s.UserByUsername(ctx, "dave"); err != nil || got.ID != local.ID {
		t.Fatalf("UserByUsername(dave) = %v, %v; want the local user", got.ID, err)
	}
	got, err := s.UserByID(ctx, remote.ID)
	if err != nil || got.Origin != "other.example" || got.OriginID != "1234" {
		t.Fatalf("remote user = %+v, %v", got, err)
	}
	twin := newUser("dave2")
	twin.Origin, twin.OriginID = "other.example", "1234"
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.CreateUser(ctx, twin) }); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("duplicate origin pair err = %v, want ErrConflict", err)
	}
}

func testSessions(t *testing.T, s storage.Store) {
	ctx := context.Background()
	u := newUser("erin")
	now := time.UnixMilli(time.Now().UnixMilli()).UTC()
	sess := []storage.Session{
		{ID: ids.Next(), UserID: u.ID, CreatedAt: now, LastUsed: now, Client: "curl"},
		{ID: ids.Next(), UserID: u.ID, CreatedAt: now, LastUsed: now},
		{ID: ids.Next(), UserID: u.ID, CreatedAt: now, LastUsed: now},
	}
	update(t, s, func(tx storage.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		for _, x := range sess {
			if err := tx.CreateSession(ctx, x); err != nil {
				return err
			}
		}
		return nil
	})
	// A row naming a missing one fails with ErrDangling, on either
	// database, so that a peer's payload naming what is not here is told
	// from an outage.
	err := s.Update(ctx, func(tx storage.Tx) error {
		return tx.CreateSession(ctx, storage.Session{ID: ids.Next(), UserID: ids.Next(), CreatedAt: now, LastUsed: now})
	})
	if !errors.Is(err, storage.ErrDangling) {
		t.Fatalf("CreateSession of a missing user: err = %v, want ErrDangling", err)
	}
	got, err := s.SessionByID(ctx, sess[0].ID)
	if err != nil || got.UserID != u.ID || got.Client != "curl" || !got.CreatedAt.Equal(now) {
		t.Fatalf("SessionByID = %+v, %v", got, err)
	}
	later := now.Add(time.Hour)
	update(t, s, func(tx storage.Tx) error { return tx.TouchSession(ctx, sess[0].ID, later, "192.0.2.7") })
	if got, _ := s.SessionByID(ctx, sess[0].ID); !got.LastUsed.Equal(later) || got.Address != "192.0.2.7" {
		t.Fatalf("after TouchSession: LastUsed = %v, Address %q; want %v, 192.0.2.7", got.LastUsed, got.Address, later)
	}
	if list, err := s.UserSessions(ctx, u.ID); err != nil || len(list) != 3 || list[0].ID != sess[0].ID || list[0].Address != "192.0.2.7" {
		t.Fatalf("UserSessions = %+v, %v; want 3, the touched one first", list, err)
	}
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.TouchSession(ctx, ids.Next(), later, "") }); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("TouchSession of no session: %v, want ErrNotFound", err)
	}
	var ended []snowflake.ID
	update(t, s, func(tx storage.Tx) error {
		var err error
		ended, err = tx.DeleteUserSessions(ctx, u.ID, sess[0].ID)
		return err
	})
	if len(ended) != 2 {
		t.Fatalf("DeleteUserSessions ended %v, want 2 sessions", ended)
	}
	for _, x := range sess[1:] {
		if _, err := s.SessionByID(ctx, x.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("session %d survived: %v", x.ID, err)
		}
	}
	update(t, s, func(tx storage.Tx) error { return tx.DeleteSession(ctx, sess[0].ID) })
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.DeleteSession(ctx, sess[0].ID) }); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("second DeleteSession err = %v, want ErrNotFound", err)
	}
}

func appendN(t *testing.T, s storage.Store, logID snowflake.ID, n int) {
	t.Helper()
	for i := range n {
		update(t, s, func(tx storage.Tx) error {
			_, err := tx.AppendEvent(context.Background(), storage.Event{
				LogID: logID, Type: "TEST", Payload: []byte(`{"i":` + itoa(i) + `}`),
			})
			return err
		})
	}
}

func itoa(i int) string {
	return snowflake.ID(uint64(i)).String()
}

func testEventLogOrder(t *testing.T, s storage.Store) {
	ctx := context.Background()
	a, b := ids.Next(), ids.Next()
	if head, err := s.LogHead(ctx, a); err != nil || head != 0 {
		t.Fatalf("LogHead(empty) = %d, %v", head, err)
	}
	appendN(t, s, a, 5)
	appendN(t, s, b, 2)
	evs, err := s.Events(ctx, a, 0, 100)
	if err != nil || len(evs) != 5 {
		t.Fatalf("Events = %d events, %v", len(evs), err)
	}
	for i, e := range evs {
		if e.Seq != int64(i+1) || e.LogID != a || e.Type != "TEST" || string(e.Payload) != `{"i":`+itoa(i)+`}` || e.CreatedAt.IsZero() {
			t.Fatalf("event %d = %+v", i, e)
		}
	}
	page, err := s.Events(ctx, a, 2, 2)
	if err != nil || len(page) != 2 || page[0].Seq != 3 || page[1].Seq != 4 {
		t.Fatalf("Events(after 2, limit 2) = %+v, %v", page, err)
	}
	if head, _ := s.LogHead(ctx, a); head != 5 {
		t.Fatalf("LogHead(a) = %d, want 5", head)
	}
	if head, _ := s.LogHead(ctx, b); head != 2 {
		t.Fatalf("LogHead(b) = %d, want 2", head)
	}
}

func testEventLogConcurrent(t *testing.T, s storage.Store) {
	ctx := context.Background()
	logs := []snowflake.ID{ids.Next(), ids.Next()}
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				err := s.Update(ctx, func(tx storage.Tx) error {
					_, err := tx.AppendEvent(ctx, storage.Event{LogID: logs[w%2], Type: "TEST", Payload: []byte(`{}`)})
					return err
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent append: %v", err)
	}
	for _, l := range logs {
		evs, err := s.Events(ctx, l, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != writers/2*each {
			t.Fatalf("log has %d events, want %d", len(evs), writers/2*each)
		}
		for i, e := range evs {
			if e.Seq != int64(i+1) {
				t.Fatalf("event %d has seq %d: gap or duplicate", i, e.Seq)
			}
		}
	}
}

var errAbort = errors.New("abort")

func testEventLogRollback(t *testing.T, s storage.Store) {
	ctx := context.Background()
	l := ids.Next()
	appendN(t, s, l, 1)
	err := s.Update(ctx, func(tx storage.Tx) error {
		if _, err := tx.AppendEvent(ctx, storage.Event{LogID: l, Type: "LOST", Payload: []byte(`{}`)}); err != nil {
			return err
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("Update err = %v, want errAbort", err)
	}
	appendN(t, s, l, 1)
	evs, _ := s.Events(ctx, l, 0, 10)
	if len(evs) != 2 || evs[1].Seq != 2 || evs[1].Type != "TEST" {
		t.Fatalf("after rollback: %+v", evs)
	}
}

func testUpdateRollsBack(t *testing.T, s storage.Store) {
	ctx := context.Background()
	u := newUser("frank")
	l := ids.Next()
	err := s.Update(ctx, func(tx storage.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if _, err := tx.AppendEvent(ctx, storage.Event{LogID: l, Type: "TEST", Payload: []byte(`{}`)}); err != nil {
			return err
		}
		// A state write that fails must take the event with it.
		return tx.CreateUser(ctx, newUser("FRANK"))
	})
	if !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("Update err = %v, want ErrConflict", err)
	}
	if _, err := s.UserByID(ctx, u.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("user survived a rolled-back transaction: %v", err)
	}
	if head, _ := s.LogHead(ctx, l); head != 0 {
		t.Fatalf("event survived a rolled-back transaction: head %d", head)
	}
}

// Guild tests. Times are whole milliseconds in UTC, what the stores keep.

// t0 is an arbitrary moment the guild tests count from.
const t0 = 1_700_000_000_000

func at(msec int64) time.Time { return time.UnixMilli(msec).UTC() }

var timeType = reflect.TypeOf(time.Time{})

// equal is reflect.DeepEqual except that times are compared with Equal and
// a nil slice equals an empty one: neither a location nor nil-versus-empty
// is part of the contract. (Where nil is, as for audit JSON, tests check it
// separately.) Pointers are equal when both are nil or what they point to
// is: a thread's ThreadMeta, say, is read into a new value every time.
func equal(a, b any) bool { return equalValues(reflect.ValueOf(a), reflect.ValueOf(b)) }

func equalValues(a, b reflect.Value) bool {
	if a.Type() != b.Type() {
		return false
	}
	if a.Type() == timeType {
		return a.Interface().(time.Time).Equal(b.Interface().(time.Time))
	}
	switch a.Kind() {
	case reflect.Struct:
		for i := range a.NumField() {
			if !equalValues(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !equalValues(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return equalValues(a.Elem(), b.Elem())
	default:
		return a.Equal(b)
	}
}

// checkEqual fails the test when got differs from want.
func checkEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !equal(got, want) {
		t.Fatalf("%s =\n\t%+v\nwant\n\t%+v", what, got, want)
	}
}

// wantErr fails the test unless err wraps want.
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

// createUsers creates n users with ascending IDs.
func createUsers(t *testing.T, s storage.Store, n int) []storage.User {
	t.Helper()
	us := make([]storage.User, n)
	for i := range us {
		us[i] = newUser(Name("user"))
	}
	update(t, s, func(tx storage.Tx) error {
		for _, u := range us {
			if err := tx.CreateUser(context.Background(), u); err != nil {
				return err
			}
		}
		return nil
	})
	return us
}

// createGuild creates an owner and a guild with its @everyone role, as the
// homeserver does. The owner is not made a member.
func createGuild(t *testing.T, s storage.Store, name string, public bool) storage.Guild {
	t.Helper()
	owner := createUsers(t, s, 1)[0]
	g := storage.Guild{ID: ids.Next(), Name: name, OwnerID: owner.ID, Public: public, CreatedAt: at(t0)}
	update(t, s, func(tx storage.Tx) error {
		if err := tx.CreateGuild(context.Background(), g); err != nil {
			return err
		}
		return tx.CreateRole(context.Background(), storage.Role{
			ID: g.ID, GuildID: g.ID, Name: "@everyone", Permissions: 0x400, CreatedAt: at(t0),
		})
	})
	return g
}

func newChannel(guildID snowflake.ID, name string, position int) storage.Channel {
	return storage.Channel{ID: ids.Next(), GuildID: guildID, Name: name, Position: position, CreatedAt: at(t0)}
}

func newRole(guildID snowflake.ID, name string, position int) storage.Role {
	return storage.Role{ID: ids.Next(), GuildID: guildID, Name: name, Position: position, CreatedAt: at(t0)}
}

func newMember(guildID, userID snowflake.ID, roles ...snowflake.ID) storage.Member {
	return storage.Member{GuildID: guildID, UserID: userID, Roles: roles, JoinedAt: at(t0 + 5)}
}

// The order of a member's roles and of a channel's overwrites is not part
// of the contract; tests sort them before comparing.

func sortedRoles(m storage.Member) storage.Member {
	m.Roles = slices.Clone(m.Roles)
	slices.Sort(m.Roles)
	return m
}

func sortedOverwrites(c storage.Channel) storage.Channel {
	c.Overwrites = slices.Clone(c.Overwrites)
	slices.SortFunc(c.Overwrites, func(a, b storage.Overwrite) int { return cmp.Compare(a.TargetID, b.TargetID) })
	return c
}

func guildIDs(gs []storage.Guild) []snowflake.ID {
	out := make([]snowflake.ID, len(gs))
	for i, g := range gs {
		out[i] = g.ID
	}
	return out
}

func testGuilds(t *testing.T, s storage.Store) {
	ctx := context.Background()
	us := createUsers(t, s, 2)
	local := storage.Guild{
		ID: ids.Next(), Name: "Hearth", Icon: "abc123", Description: "warm", OwnerID: us[0].ID,
		VerificationLevel: 2, Public: true, CreatedAt: at(t0),
	}
	// A guild's system channel may be named before the channel exists.
	remote := storage.Guild{
		ID: ids.Next(), Name: "Elsewhere", OwnerID: us[1].ID, SystemChannelID: ids.Next(),
		CreatedAt: at(t0 + 1), Origin: "other.example", OriginID: "42",
	}
	update(t, s, func(tx storage.Tx) error {
		if err := tx.CreateGuild(ctx, local); err != nil {
			return err
		}
		if err := tx.CreateGuild(ctx, remote); err != nil {
			return err
		}
		// Reads inside the transaction see its writes.
		got, err := tx.GuildByID(ctx, local.ID)
		if err != nil || got.Name != "Hearth" {
			t.Errorf("GuildByID in tx = %+v, %v", got, err)
		}
		return nil
	})
	for _, want := range []storage.Guild{local, remote} {
		got, err := s.GuildByID(ctx, want.ID)
		if err != nil {
			t.Fatalf("GuildByID(%s): %v", want.Name, err)
		}
		checkEqual(t, "GuildByID", got, want)
	}

	changed := local
	changed.Name, changed.Icon, changed.Description, changed.OwnerID = "Hearth II", "", "cosy", us[1].ID
	changed.SystemChannelID, changed.VerificationLevel, changed.Public = ids.Next(), 3, false
	update(t, s, func(tx storage.Tx) error { return tx.UpdateGuild(ctx, changed) })
	got, err := s.GuildByID(ctx, local.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "after UpdateGuild", got, changed)

	// 0 means no system channel, and reads back as 0.
	changed.SystemChannelID = 0
	update(t, s, func(tx storage.Tx) error { return tx.UpdateGuild(ctx, changed) })
	if got, _ := s.GuildByID(ctx, local.ID); got.SystemChannelID != 0 {
		t.Fatalf("SystemChannelID = %d after clearing, want 0", got.SystemChannelID)
	}
	if got, _ := s.GuildByID(ctx, remote.ID); !equal(got, remote) {
		t.Fatalf("UpdateGuild touched another guild: %+v", got)
	}
}

func testUserGuilds(t *testing.T, s storage.Store) {
	ctx := context.Background()
	us := createUsers(t, s, 2)
	a, b := us[0].ID, us[1].ID
	g1, g2, g3 := createGuild(t, s, "one", false), createGuild(t, s, "two", false), createGuild(t, s, "three", true)
	update(t, s, func(tx storage.Tx) error {
		for _, m := range []storage.Member{newMember(g3.ID, a), newMember(g1.ID, a), newMember(g2.ID, b)} {
			if err := tx.AddMember(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	check := func(user snowflake.ID, want ...storage.Guild) {
		t.Helper()
		got, err := s.UserGuilds(ctx, user)
		if err != nil {
			t.Fatalf("UserGuilds: %v", err)
		}
		checkEqual(t, "UserGuilds", got, want)
	}
	count := func(g storage.Guild, want int) {
		t.Helper()
		if n, err := s.MemberCount(ctx, g.ID); err != nil || n != want {
			t.Fatalf("MemberCount(%s) = %d, %v; want %d", g.Name, n, err, want)
		}
	}
	check(a, g1, g3)
	check(b, g2)
	check(ids.Next())
	count(g1, 1)
	count(g2, 1)
	count(storage.Guild{ID: ids.Next(), Name: "unknown"}, 0)

	update(t, s, func(tx storage.Tx) error { return tx.AddMember(ctx, newMember(g1.ID, b)) })
	count(g1, 2)
	check(b, g1, g2)
	update(t, s, func(tx storage.Tx) error { return tx.RemoveMember(ctx, g1.ID, a) })
	check(a, g3)
	count(g1, 1)
}

func testPublicGuilds(t *testing.T, s storage.Store) {
	ctx := context.Background()
	names := []struct {
		name   string
		public bool
	}{
		{"Go Gophers", true},
		{"gopher hole", true},
		{"Private Gophers", false},
		{"100% Real", true},
		{"1000 Real", true},
		{"snake_case", true},
		{"snakeXcase", true},
		{`C:\Games`, true},
		{"Café ÜBER", true},
	}
	byName := map[string]storage.Guild{}
	var public []storage.Guild
	for _, n := range names {
		g := createGuild(t, s, n.name, n.public)
		byName[n.name] = g
		if n.public {
			public = append(public, g)
		}
	}
	cases := []struct {
		query string
		want  []string
	}{
		{"", nil}, // every public guild
		{"GOPHER", []string{"Go Gophers", "gopher hole"}},
		{"go g", []string{"Go Gophers"}},
		{"%", []string{"100% Real"}},
		{"0% r", []string{"100% Real"}},
		{"_", []string{"snake_case"}},
		{"e_c", []string{"snake_case"}},
		{`\`, []string{`C:\Games`}},
		{`:\g`, []string{`C:\Games`}},
		{"über", []string{"Café ÜBER"}},
		{"CAFÉ", []string{"Café ÜBER"}},
		{"private", nil},
		{"nothing like it", nil},
	}
	for _, tc := range cases {
		got, err := s.PublicGuilds(ctx, tc.query, 0, 100)
		if err != nil {
			t.Fatalf("PublicGuilds(%q): %v", tc.query, err)
		}
		var want []storage.Guild
		if tc.query == "" {
			want = public
		}
		for _, n := range tc.want {
			want = append(want, byName[n])
		}
		if !equal(guildIDs(got), guildIDs(want)) {
			t.Errorf("PublicGuilds(%q) = %v, want %v", tc.query, guildNames(got), guildNames(want))
		}
	}

	// Pages of two follow on from the last ID and together list each public
	// guild once, in ID order.
	var paged []storage.Guild
	after := snowflake.ID(0)
	for range len(public) {
		page, err := s.PublicGuilds(ctx, "", after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) > 2 {
			t.Fatalf("page of %d guilds, limit 2", len(page))
		}
		paged = append(paged, page...)
		after = page[len(page)-1].ID
	}
	checkEqual(t, "paged PublicGuilds", guildIDs(paged), guildIDs(public))
	checkEqual(t, "PublicGuilds result", paged[0], public[0])
	got, err := s.PublicGuilds(ctx, "real", byName["100% Real"].ID, 10)
	if err != nil || len(got) != 1 || got[0].ID != byName["1000 Real"].ID {
		t.Fatalf("PublicGuilds(real, after 100%% Real) = %v, %v", guildNames(got), err)
	}
}

func guildNames(gs []storage.Guild) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.Name
	}
	return out
}

func testChannels(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g := createGuild(t, s, "channels", false)
	other := createGuild(t, s, "other", false)
	member := createUsers(t, s, 1)[0]
	category := newChannel(g.ID, "Text", 0)
	category.Type = 4
	general := newChannel(g.ID, "general", 1)
	general.Topic, general.ParentID, general.NSFW, general.RateLimitPerUser = "hello", category.ID, true, 10
	general.CreatedAt = at(t0 + 123)
	general.Overwrites = []storage.Overwrite{
		{TargetID: g.ID, Type: storage.OverwriteRole, Deny: 0x800},
		{TargetID: member.ID, Type: storage.OverwriteMember, Allow: 0x800 | 1<<40, Deny: 1 << 62},
	}
	voice := newChannel(g.ID, "Lounge", 1)
	voice.Type, voice.Bitrate, voice.UserLimit = 2, 64000, 10
	voice.Overwrites = []storage.Overwrite{{TargetID: g.ID, Type: storage.OverwriteRole, Allow: 0x100000}}
	// Same position as the category: the ID breaks the tie.
	rules := newChannel(g.ID, "rules", 0)
	remote := newChannel(g.ID, "mirrored", 5)
	remote.Origin, remote.OriginID = "other.example", "c1"
	elsewhere := newChannel(other.ID, "elsewhere", 0)
	elsewhere.Overwrites = []storage.Overwrite{{TargetID: other.ID, Type: storage.OverwriteRole, Deny: 1}}
	update(t, s, func(tx storage.Tx) error {
		for _, c := range []storage.Channel{remote, voice, general, rules, category, elsewhere} {
			if err := tx.CreateChannel(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})

	for _, want := range []storage.Channel{category, general, voice, rules, remote} {
		got, err := s.ChannelByID(ctx, want.ID)
		if err != nil {
			t.Fatalf("ChannelByID(%s): %v", want.Name, err)
		}
		checkEqual(t, "ChannelByID("+want.Name+")", sortedOverwrites(got), sortedOverwrites(want))
	}
	list, err := s.GuildChannels(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []storage.Channel{category, rules, general, voice, remote}
	if len(list) != len(want) {
		t.Fatalf("GuildChannels = %d channels, want %d", len(list), len(want))
	}
	for i := range want {
		checkEqual(t, "GuildChannels["+itoa(i)+"]", sortedOverwrites(list[i]), sortedOverwrites(want[i]))
	}

	general.Name, general.Topic, general.Position, general.ParentID = "chat", "", 7, 0
	general.NSFW, general.RateLimitPerUser, general.Type = false, 0, 5
	update(t, s, func(tx storage.Tx) error {
		// The overwrites passed to UpdateChannel are ignored.
		c := general
		c.Overwrites = nil
		return tx.UpdateChannel(ctx, storage.ScopeOf(c), c)
	})
	got, err := s.ChannelByID(ctx, general.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "after UpdateChannel", sortedOverwrites(got), sortedOverwrites(general))
	if list, _ := s.GuildChannels(ctx, g.ID); len(list) != 5 || list[4].ID != general.ID {
		t.Fatalf("after moving general to position 7, GuildChannels = %+v", list)
	}

	update(t, s, func(tx storage.Tx) error { return tx.DeleteChannel(ctx, storage.ScopeOf(voice), voice.ID) })
	_, err = s.ChannelByID(ctx, voice.ID)
	wantErr(t, "ChannelByID(deleted)", err, storage.ErrNotFound)
	if list, _ := s.GuildChannels(ctx, g.ID); len(list) != 4 {
		t.Fatalf("after DeleteChannel, GuildChannels has %d channels, want 4", len(list))
	}
	// Creating the channel again proves its overwrites went with it.
	voice.Overwrites = nil
	update(t, s, func(tx storage.Tx) error { return tx.CreateChannel(ctx, voice) })
	if got, err := s.ChannelByID(ctx, voice.ID); err != nil || len(got.Overwrites) != 0 {
		t.Fatalf("re-created channel = %+v, %v; want no overwrites", got, err)
	}
	if list, _ := s.GuildChannels(ctx, other.ID); len(list) != 1 || !equal(list[0], elsewhere) {
		t.Fatalf("other guild's channels = %+v", list)
	}
	if list, err := s.GuildChannels(ctx, ids.Next()); err != nil || len(list) != 0 {
		t.Fatalf("GuildChannels(unknown) = %+v, %v", list, err)
	}
}

func testOverwrites(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g := createGuild(t, s, "overwrites", false)
	u := createUsers(t, s, 1)[0]
	c := newChannel(g.ID, "general", 0)
	everyone := storage.Overwrite{TargetID: g.ID, Type: storage.OverwriteRole, Deny: 0x400}
	c.Overwrites = []storage.Overwrite{everyone}
	update(t, s, func(tx storage.Tx) error { return tx.CreateChannel(ctx, c) })

	check := func(what string, want ...storage.Overwrite) {
		t.Helper()
		got, err := s.ChannelByID(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		c.Overwrites = want
		checkEqual(t, what, sortedOverwrites(got).Overwrites, sortedOverwrites(c).Overwrites)
		list, err := s.GuildChannels(ctx, g.ID)
		if err != nil || len(list) != 1 {
			t.Fatalf("GuildChannels = %+v, %v", list, err)
		}
		checkEqual(t, what+" (GuildChannels)", sortedOverwrites(list[0]).Overwrites, sortedOverwrites(c).Overwrites)
	}
	mem := storage.Overwrite{TargetID: u.ID, Type: storage.OverwriteMember, Allow: 0x400}
	update(t, s, func(tx storage.Tx) error { return tx.SetOverwrite(ctx, storage.ScopeOf(c), c.ID, mem) })
	check("after adding a member overwrite", everyone, mem)

	everyone.Allow, everyone.Deny = 0x40, 0
	update(t, s, func(tx storage.Tx) error { return tx.SetOverwrite(ctx, storage.ScopeOf(c), c.ID, everyone) })
	check("after replacing @everyone's overwrite", everyone, mem)

	update(t, s, func(tx storage.Tx) error { return tx.DeleteOverwrite(ctx, storage.ScopeOf(c), c.ID, u.ID) })
	check("after DeleteOverwrite", everyone)
	err := s.Update(ctx, func(tx storage.Tx) error { return tx.DeleteOverwrite(ctx, storage.ScopeOf(c), c.ID, u.ID) })
	wantErr(t, "second DeleteOverwrite", err, storage.ErrNotFound)
}

func testRoles(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g := createGuild(t, s, "roles", false)
	other := createGuild(t, s, "other", false)
	mod := newRole(g.ID, "mod", 2)
	mod.Color, mod.Hoist, mod.Permissions, mod.Mentionable = 0x3498DB, true, 1<<40|8, true
	mod.Icon, mod.UnicodeEmoji, mod.CreatedAt = "iconhash", "🛡", at(t0+9)
	bot := newRole(g.ID, "bot", 1)
	bot.Managed = true
	helper := newRole(g.ID, "helper", 1)
	update(t, s, func(tx storage.Tx) error {
		for _, r := range []storage.Role{mod, bot, helper, newRole(other.ID, "elsewhere", 1)} {
			if err := tx.CreateRole(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	everyone := storage.Role{ID: g.ID, GuildID: g.ID, Name: "@everyone", Permissions: 0x400, CreatedAt: at(t0)}
	got, err := s.GuildRoles(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "GuildRoles", got, []storage.Role{everyone, bot, helper, mod})

	mod.Name, mod.Color, mod.Hoist, mod.Icon, mod.UnicodeEmoji = "moderator", 0, false, "", ""
	mod.Position, mod.Permissions, mod.Mentionable = 0, 8, false
	update(t, s, func(tx storage.Tx) error { return tx.UpdateRole(ctx, storage.InGuild(mod.GuildID), mod) })
	got, err = s.GuildRoles(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	// @everyone keeps position 0 with the smallest ID (the guild's).
	checkEqual(t, "GuildRoles after UpdateRole", got, []storage.Role{everyone, mod, bot, helper})
	if list, err := s.GuildRoles(ctx, ids.Next()); err != nil || len(list) != 0 {
		t.Fatalf("GuildRoles(unknown) = %+v, %v", list, err)
	}
}

func testDeleteRole(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g := createGuild(t, s, "delete role", false)
	us := createUsers(t, s, 2)
	doomed, kept := newRole(g.ID, "doomed", 1), newRole(g.ID, "kept", 2)
	c := newChannel(g.ID, "general", 0)
	c.Overwrites = []storage.Overwrite{
		{TargetID: doomed.ID, Type: storage.OverwriteRole, Allow: 1},
		{TargetID: kept.ID, Type: storage.OverwriteRole, Allow: 2},
		{TargetID: us[0].ID, Type: storage.OverwriteMember, Allow: 4},
	}
	c2 := newChannel(g.ID, "second", 1)
	c2.Overwrites = []storage.Overwrite{{TargetID: doomed.ID, Type: storage.OverwriteRole, Deny: 1}}
	update(t, s, func(tx storage.Tx) error {
		for _, r := range []storage.Role{doomed, kept} {
			if err := tx.CreateRole(ctx, r); err != nil {
				return err
			}
		}
		for _, ch := range []storage.Channel{c, c2} {
			if err := tx.CreateChannel(ctx, ch); err != nil {
				return err
			}
		}
		if err := tx.AddMember(ctx, newMember(g.ID, us[0].ID, doomed.ID, kept.ID)); err != nil {
			return err
		}
		return tx.AddMember(ctx, newMember(g.ID, us[1].ID, doomed.ID))
	})
	update(t, s, func(tx storage.Tx) error { return tx.DeleteRole(ctx, storage.InGuild(doomed.GuildID), doomed.ID) })

	roles, err := s.GuildRoles(ctx, g.ID)
	if err != nil || len(roles) != 2 || roles[1].ID != kept.ID {
		t.Fatalf("GuildRoles after DeleteRole = %+v, %v", roles, err)
	}
	if m, err := s.Member(ctx, g.ID, us[0].ID); err != nil || !equal(m.Roles, []snowflake.ID{kept.ID}) {
		t.Fatalf("member 0 after DeleteRole = %+v, %v", m, err)
	}
	if m, err := s.Member(ctx, g.ID, us[1].ID); err != nil || len(m.Roles) != 0 {
		t.Fatalf("member 1 after DeleteRole = %+v, %v", m, err)
	}
	got, err := s.ChannelByID(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	c.Overwrites = c.Overwrites[1:]
	checkEqual(t, "overwrites after DeleteRole", sortedOverwrites(got).Overwrites, sortedOverwrites(c).Overwrites)
	if got, err := s.ChannelByID(ctx, c2.ID); err != nil || len(got.Overwrites) != 0 {
		t.Fatalf("second channel after DeleteRole = %+v, %v", got, err)
	}
	// Creating the role again proves it was taken from the members, not
	// only hidden.
	update(t, s, func(tx storage.Tx) error { return tx.CreateRole(ctx, doomed) })
	if m, _ := s.Member(ctx, g.ID, us[1].ID); len(m.Roles) != 0 {
		t.Fatalf("re-created role came back to member: %+v", m)
	}
}

func testMembers(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g := createGuild(t, s, "members", false)
	us := createUsers(t, s, 2)
	r1, r2, r3 := newRole(g.ID, "one", 1), newRole(g.ID, "two", 2), newRole(g.ID, "three", 3)
	m := newMember(g.ID, us[0].ID, r2.ID, r1.ID)
	m.Nick, m.Deaf, m.JoinedAt = "Al", true, at(t0+77)
	m.CommunicationDisabledUntil = at(t0 + 3_600_000)
	plain := newMember(g.ID, us[1].ID)
	update(t, s, func(tx storage.Tx) error {
		for _, r := range []storage.Role{r1, r2, r3} {
			if err := tx.CreateRole(ctx, r); err != nil {
				return err
			}
		}
		if err := tx.AddMember(ctx, m); err != nil {
			return err
		}
		return tx.AddMember(ctx, plain)
	})
	get := func() storage.Member {
		t.Helper()
		got, err := s.Member(ctx, g.ID, m.UserID)
		if err != nil {
			t.Fatalf("Member: %v", err)
		}
		return got
	}
	checkEqual(t, "Member", sortedRoles(get()), sortedRoles(m))
	got, err := s.Member(ctx, g.ID, plain.UserID)
	if err != nil || len(got.Roles) != 0 || !got.CommunicationDisabledUntil.IsZero() {
		t.Fatalf("member without roles or timeout = %+v, %v", got, err)
	}
	checkEqual(t, "plain Member", got, plain)

	// UpdateMember replaces the roles and sets, then clears, the timeout.
	m.Nick, m.Deaf, m.Mute, m.Roles = "", false, true, []snowflake.ID{r3.ID, r1.ID}
	m.CommunicationDisabledUntil = at(t0 + 7_200_000)
	update(t, s, func(tx storage.Tx) error { return tx.UpdateMember(ctx, m) })
	checkEqual(t, "after UpdateMember", sortedRoles(get()), sortedRoles(m))
	m.Roles, m.CommunicationDisabledUntil = nil, time.Time{}
	update(t, s, func(tx storage.Tx) error { return tx.UpdateMember(ctx, m) })
	if got := get(); len(got.Roles) != 0 || !got.CommunicationDisabledUntil.IsZero() || !got.Mute {
		t.Fatalf("after clearing roles and timeout: %+v", got)
	}

	err = s.Update(ctx, func(tx storage.Tx) error { return tx.AddMember(ctx, newMember(g.ID, m.UserID)) })
	wantErr(t, "AddMember twice", err, storage.ErrConflict)

	update(t, s, func(tx storage.Tx) error { return tx.RemoveMember(ctx, g.ID, m.UserID) })
	_, err = s.Member(ctx, g.ID, m.UserID)
	wantErr(t, "Member after RemoveMember", err, storage.ErrNotFound)
	if n, _ := s.MemberCount(ctx, g.ID); n != 1 {
		t.Fatalf("MemberCount after RemoveMember = %d, want 1", n)
	}
	// Joining again starts without the old roles.
	update(t, s, func(tx storage.Tx) error { return tx.AddMember(ctx, newMember(g.ID, m.UserID)) })
	if got := get(); len(got.Roles) != 0 {
		t.Fatalf("rejoined member kept roles %v", got.Roles)
	}
}

// testTemporaryMembers: the temporary mark is set and cleared, listed by
// user, and goes with the member (and with the guild).
func testTemporaryMembers(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g1, g2, g3 := createGuild(t, s, "temp one", false), createGuild(t, s, "temp two", false), createGuild(t, s, "temp three", false)
	us := createUsers(t, s, 2)
	u, other := us[0].ID, us[1].ID
	update(t, s, func(tx storage.Tx) error {
		for _, g := range []storage.Guild{g1, g2, g3} {
			for _, id := range []snowflake.ID{u, other} {
				if err := tx.AddMember(ctx, newMember(g.ID, id)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	list := func(id snowflake.ID) []snowflake.ID {
		t.Helper()
		got, err := s.TemporaryGuilds(ctx, id)
		if err != nil {
			t.Fatalf("TemporaryGuilds: %v", err)
		}
		return got
	}
	checkEqual(t, "TemporaryGuilds before any", len(list(u)), 0)
	set := func(g snowflake.ID, on bool) {
		t.Helper()
		update(t, s, func(tx storage.Tx) error { return tx.SetTemporaryMember(ctx, g, u, on) })
	}
	set(g2.ID, true)
	set(g1.ID, true)
	set(g1.ID, true) // twice is once
	set(g3.ID, true)
	checkEqual(t, "TemporaryGuilds", list(u), []snowflake.ID{g1.ID, g2.ID, g3.ID})
	checkEqual(t, "another user's", len(list(other)), 0)
	set(g2.ID, false)
	checkEqual(t, "after clearing one", list(u), []snowflake.ID{g1.ID, g3.ID})
	// The mark goes with the member: joining again is not temporary.
	update(t, s, func(tx storage.Tx) error { return tx.RemoveMember(ctx, g1.ID, u) })
	update(t, s, func(tx storage.Tx) error { return tx.AddMember(ctx, newMember(g1.ID, u)) })
	checkEqual(t, "after leaving and joining again", list(u), []snowflake.ID{g3.ID})
	update(t, s, func(tx storage.Tx) error { return tx.DeleteGuild(ctx, g3.ID) })
	checkEqual(t, "after the guild is deleted", len(list(u)), 0)
	// Only a member can be marked.
	err := s.Update(ctx, func(tx storage.Tx) error { return tx.SetTemporaryMember(ctx, g2.ID, snowflake.ID(424242), true) })
	wantErr(t, "SetTemporaryMember of a non-member", err, storage.ErrNotFound)
}

func testMembersPages(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g := createGuild(t, s, "pages", false)
	other := createGuild(t, s, "other", false)
	us := createUsers(t, s, 5)
	r1, r2 := newRole(g.ID, "one", 1), newRole(g.ID, "two", 2)
	otherRole := newRole(other.ID, "other", 1)
	roles := [][]snowflake.ID{{r1.ID}, {r1.ID, r2.ID}, nil, {r2.ID}, {r1.ID}}
	var want []storage.Member
	update(t, s, func(tx storage.Tx) error {
		for _, r := range []storage.Role{r1, r2, otherRole} {
			if err := tx.CreateRole(ctx, r); err != nil {
				return err
			}
		}
		for i, u := range us {
			m := newMember(g.ID, u.ID, roles[i]...)
			m.Nick = "n" + itoa(i)
			want = append(want, m)
			if err := tx.AddMember(ctx, m); err != nil {
				return err
			}
			// The same users in another guild, with roles there, must not
			// leak into this guild's pages.
			if err := tx.AddMember(ctx, newMember(other.ID, u.ID, otherRole.ID)); err != nil {
				return err
			}
		}
		return nil
	})
	all, err := s.Members(ctx, g.ID, 0, 100)
	if err != nil || len(all) != 5 {
		t.Fatalf("Members = %d, %v; want 5", len(all), err)
	}
	for i := range all {
		checkEqual(t, "Members["+itoa(i)+"]", sortedRoles(all[i]), sortedRoles(want[i]))
	}
	cases := []struct {
		after snowflake.ID
		limit int
		want  []storage.Member
	}{
		{0, 2, want[:2]},
		{us[1].ID, 2, want[2:4]},
		{us[3].ID, 2, want[4:]},
		{us[4].ID, 2, nil},
		{us[0].ID, 1, want[1:2]},
		{us[2].ID - 1, 1, want[2:3]},
	}
	for _, tc := range cases {
		page, err := s.Members(ctx, g.ID, tc.after, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) != len(tc.want) {
			t.Fatalf("Members(after %d, limit %d) = %d members, want %d", tc.after, tc.limit, len(page), len(tc.want))
		}
		for i := range page {
			checkEqual(t, "page member", sortedRoles(page[i]), sortedRoles(tc.want[i]))
		}
	}
}

func testBans(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g := createGuild(t, s, "bans", false)
	us := createUsers(t, s, 3)
	bans := make([]storage.Ban, len(us))
	update(t, s, func(tx storage.Tx) error {
		for i := len(us) - 1; i >= 0; i-- {
			bans[i] = storage.Ban{GuildID: g.ID, UserID: us[i].ID, Reason: "spam " + itoa(i), CreatedAt: at(t0 + int64(i))}
			if err := tx.CreateBan(ctx, bans[i]); err != nil {
				return err
			}
		}
		return nil
	})
	got, err := s.Ban(ctx, g.ID, us[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "Ban", got, bans[1])

	// Banning again replaces the ban.
	bans[0].Reason, bans[0].CreatedAt = "", at(t0+1000)
	update(t, s, func(tx storage.Tx) error { return tx.CreateBan(ctx, bans[0]) })
	all, err := s.Bans(ctx, g.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "Bans", all, bans)
	page, err := s.Bans(ctx, g.ID, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "Bans page 1", page, bans[:2])
	page, err = s.Bans(ctx, g.ID, us[1].ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "Bans page 2", page, bans[2:])

	update(t, s, func(tx storage.Tx) error { return tx.DeleteBan(ctx, g.ID, us[1].ID) })
	_, err = s.Ban(ctx, g.ID, us[1].ID)
	wantErr(t, "Ban after DeleteBan", err, storage.ErrNotFound)
	if all, _ := s.Bans(ctx, g.ID, 0, 100); len(all) != 2 {
		t.Fatalf("Bans after DeleteBan = %+v", all)
	}
}

func testInvites(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g := createGuild(t, s, "invites", false)
	other := createGuild(t, s, "other", false)
	inviter := createUsers(t, s, 1)[0]
	c1, c2, c3 := newChannel(g.ID, "one", 0), newChannel(g.ID, "two", 1), newChannel(other.ID, "three", 0)
	// Created out of time order, so that "by creation" is not insertion.
	invs := []storage.Invite{
		{Code: "aaaa", GuildID: g.ID, ChannelID: c1.ID, InviterID: inviter.ID, MaxUses: 10, MaxAge: 3600,
			Temporary: true, CreatedAt: at(t0 + 10), ExpiresAt: at(t0 + 10 + 3_600_000)},
		{Code: "bbbb", GuildID: g.ID, ChannelID: c2.ID, CreatedAt: at(t0 + 20)},
		{Code: "cccc", GuildID: g.ID, ChannelID: c1.ID, Uses: 3, CreatedAt: at(t0 + 30)},
	}
	elsewhere := storage.Invite{Code: "dddd", GuildID: other.ID, ChannelID: c3.ID, CreatedAt: at(t0)}
	update(t, s, func(tx storage.Tx) error {
		for _, c := range []storage.Channel{c1, c2, c3} {
			if err := tx.CreateChannel(ctx, c); err != nil {
				return err
			}
		}
		for _, inv := range []storage.Invite{invs[2], elsewhere, invs[0], invs[1]} {
			if err := tx.CreateInvite(ctx, inv); err != nil {
				return err
			}
		}
		return nil
	})
	for _, want := range invs {
		got, err := s.Invite(ctx, want.Code)
		if err != nil {
			t.Fatalf("Invite(%s): %v", want.Code, err)
		}
		checkEqual(t, "Invite("+want.Code+")", got, want)
	}
	dup := invs[1]
	dup.ChannelID = c1.ID
	err := s.Update(ctx, func(tx storage.Tx) error { return tx.CreateInvite(ctx, dup) })
	wantErr(t, "CreateInvite(duplicate code)", err, storage.ErrConflict)

	update(t, s, func(tx storage.Tx) error {
		if err := tx.UseInvite(ctx, "cccc", time.Now()); err != nil {
			return err
		}
		return tx.UseInvite(ctx, "cccc", time.Now())
	})
	invs[2].Uses = 5
	if got, _ := s.Invite(ctx, "cccc"); got.Uses != 5 {
		t.Fatalf("Uses after two UseInvite = %d, want 5", got.Uses)
	}

	list, err := s.GuildInvites(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "GuildInvites", list, invs)
	list, err = s.ChannelInvites(ctx, c1.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "ChannelInvites", list, []storage.Invite{invs[0], invs[2]})

	update(t, s, func(tx storage.Tx) error { return tx.DeleteInvite(ctx, storage.InGuild(g.ID), "aaaa") })
	_, err = s.Invite(ctx, "aaaa")
	wantErr(t, "Invite after DeleteInvite", err, storage.ErrNotFound)

	// Deleting a channel deletes its invites and no others.
	update(t, s, func(tx storage.Tx) error { return tx.DeleteChannel(ctx, storage.ScopeOf(c1), c1.ID) })
	_, err = s.Invite(ctx, "cccc")
	wantErr(t, "Invite of a deleted channel", err, storage.ErrNotFound)
	if list, err := s.ChannelInvites(ctx, c1.ID); err != nil || len(list) != 0 {
		t.Fatalf("ChannelInvites(deleted) = %+v, %v", list, err)
	}
	list, err = s.GuildInvites(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "GuildInvites after DeleteChannel", list, invs[1:2])
	if list, _ := s.GuildInvites(ctx, other.ID); len(list) != 1 {
		t.Fatalf("other guild's invites = %+v", list)
	}
}

func testEmojis(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g := createGuild(t, s, "emoji", false)
	other := createGuild(t, s, "other", false)
	u := createUsers(t, s, 1)[0]
	es := []storage.Emoji{
		{ID: ids.Next(), GuildID: g.ID, UserID: u.ID, Name: "blob", Hash: "h1", Available: true, CreatedAt: at(t0)},
		{ID: ids.Next(), GuildID: g.ID, UserID: u.ID, Name: "party", Animated: true, Hash: "h2", CreatedAt: at(t0 + 1)},
	}
	update(t, s, func(tx storage.Tx) error {
		for _, e := range []storage.Emoji{es[1], es[0],
			{ID: ids.Next(), GuildID: other.ID, UserID: u.ID, Name: "x", Hash: "h3", CreatedAt: at(t0)}} {
			if err := tx.CreateEmoji(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	got, err := s.Emoji(ctx, es[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "Emoji", got, es[1])
	list, err := s.GuildEmojis(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "GuildEmojis", list, es)

	es[0].Name = "blobby"
	update(t, s, func(tx storage.Tx) error { return tx.UpdateEmoji(ctx, storage.InGuild(es[0].GuildID), es[0]) })
	if got, _ := s.Emoji(ctx, es[0].ID); !equal(got, es[0]) {
		t.Fatalf("after UpdateEmoji: %+v", got)
	}
	update(t, s, func(tx storage.Tx) error { return tx.DeleteEmoji(ctx, storage.InGuild(es[0].GuildID), es[0].ID) })
	_, err = s.Emoji(ctx, es[0].ID)
	wantErr(t, "Emoji after DeleteEmoji", err, storage.ErrNotFound)
	list, err = s.GuildEmojis(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "GuildEmojis after DeleteEmoji", list, es[1:])
}

// testEmojiRoles: SetEmojiRoles replaces an emoji's roles, refuses a role
// of another guild or an emoji out of scope, and the rows go with a deleted
// role or emoji.
func testEmojiRoles(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g := createGuild(t, s, "emoji roles", false)
	other := createGuild(t, s, "other roles", false)
	u := createUsers(t, s, 1)[0]
	r1, r2, foreign := newRole(g.ID, "one", 1), newRole(g.ID, "two", 2), newRole(other.ID, "foreign", 1)
	e1 := storage.Emoji{ID: ids.Next(), GuildID: g.ID, UserID: u.ID, Name: "one", Hash: "h1", Available: true, CreatedAt: at(t0)}
	e2 := storage.Emoji{ID: ids.Next(), GuildID: g.ID, UserID: u.ID, Name: "two", Hash: "h2", Available: true, CreatedAt: at(t0)}
	update(t, s, func(tx storage.Tx) error {
		for _, r := range []storage.Role{r1, r2, foreign} {
			if err := tx.CreateRole(ctx, r); err != nil {
				return err
			}
		}
		for _, e := range []storage.Emoji{e1, e2} {
			if err := tx.CreateEmoji(ctx, e); err != nil {
				return err
			}
		}
		return tx.SetEmojiRoles(ctx, storage.InGuild(g.ID), e1.ID, []snowflake.ID{r2.ID, r1.ID, r2.ID})
	})
	roles := func(id snowflake.ID) []snowflake.ID {
		t.Helper()
		e, err := s.Emoji(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return e.Roles
	}
	want := []snowflake.ID{r1.ID, r2.ID}
	slices.Sort(want)
	checkEqual(t, "Emoji roles", roles(e1.ID), want)
	checkEqual(t, "roles of an emoji without", len(roles(e2.ID)), 0)
	list, err := s.GuildEmojis(ctx, g.ID)
	if err != nil || len(list) != 2 {
		t.Fatalf("GuildEmojis = %v, %v", list, err)
	}
	checkEqual(t, "GuildEmojis roles", list[0].Roles, want)
	checkEqual(t, "GuildEmojis roles of an emoji without", len(list[1].Roles), 0)

	err = s.Update(ctx, func(tx storage.Tx) error {
		return tx.SetEmojiRoles(ctx, storage.InGuild(g.ID), e2.ID, []snowflake.ID{foreign.ID})
	})
	wantErr(t, "a role of another guild", err, storage.ErrNotFound)
	err = s.Update(ctx, func(tx storage.Tx) error {
		return tx.SetEmojiRoles(ctx, storage.InGuild(other.ID), e1.ID, nil)
	})
	wantErr(t, "an emoji out of scope", err, storage.ErrNotFound)
	checkEqual(t, "roles after refused writes", roles(e1.ID), want)

	update(t, s, func(tx storage.Tx) error { return tx.DeleteRole(ctx, storage.InGuild(g.ID), r1.ID) })
	checkEqual(t, "roles after a role is deleted", roles(e1.ID), []snowflake.ID{r2.ID})
	update(t, s, func(tx storage.Tx) error { return tx.SetEmojiRoles(ctx, storage.InGuild(g.ID), e1.ID, nil) })
	checkEqual(t, "roles after clearing", len(roles(e1.ID)), 0)
	update(t, s, func(tx storage.Tx) error {
		return tx.SetEmojiRoles(ctx, storage.InGuild(g.ID), e1.ID, []snowflake.ID{r2.ID})
	})
	update(t, s, func(tx storage.Tx) error { return tx.DeleteEmoji(ctx, storage.InGuild(g.ID), e1.ID) })
	update(t, s, func(tx storage.Tx) error { return tx.DeleteRole(ctx, storage.InGuild(g.ID), r2.ID) })
}

func testAuditLog(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g := createGuild(t, s, "audit", false)
	other := createGuild(t, s, "other", false)
	us := createUsers(t, s, 2)
	a, b := us[0].ID, us[1].ID
	entry := func(user snowflake.ID, action int) storage.AuditEntry {
		return storage.AuditEntry{ID: ids.Next(), GuildID: g.ID, UserID: user, ActionType: action, TargetID: ids.Next()}
	}
	es := []storage.AuditEntry{entry(a, 1), entry(b, 10), entry(a, 10), entry(b, 1), entry(a, 22), entry(b, 10)}
	es[0].Changes = []byte(`[{"key":"name","old_value":"a", "new_value":"b"}]`)
	es[0].Reason = "renamed"
	es[2].Options = []byte(`{"count":"2"}`)
	es[3].TargetID = 0
	update(t, s, func(tx storage.Tx) error {
		for _, e := range es {
			if err := tx.AddAuditEntry(ctx, e); err != nil {
				return err
			}
		}
		e := entry(a, 1)
		e.GuildID = other.ID
		return tx.AddAuditEntry(ctx, e)
	})
	cases := []struct {
		name string
		q    storage.AuditQuery
		want []int // indexes into es, newest first
	}{
		{"all", storage.AuditQuery{}, []int{5, 4, 3, 2, 1, 0}},
		{"user", storage.AuditQuery{UserID: a}, []int{4, 2, 0}},
		{"action", storage.AuditQuery{ActionType: 10}, []int{5, 2, 1}},
		{"user and action", storage.AuditQuery{UserID: b, ActionType: 10}, []int{5, 1}},
		{"before", storage.AuditQuery{Before: es[4].ID}, []int{3, 2, 1, 0}},
		{"after", storage.AuditQuery{After: es[1].ID}, []int{5, 4, 3, 2}},
		{"between", storage.AuditQuery{After: es[1].ID, Before: es[5].ID}, []int{4, 3, 2}},
		{"limit", storage.AuditQuery{Limit: 2}, []int{5, 4}},
		{"before and limit", storage.AuditQuery{Before: es[3].ID, Limit: 2}, []int{2, 1}},
		{"user after", storage.AuditQuery{UserID: a, After: es[0].ID}, []int{4, 2}},
		{"unknown user", storage.AuditQuery{UserID: ids.Next()}, nil},
		{"unknown action", storage.AuditQuery{ActionType: 99}, nil},
	}
	for _, tc := range cases {
		got, err := s.AuditLog(ctx, g.ID, tc.q)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var want []storage.AuditEntry
		for _, i := range tc.want {
			want = append(want, es[i])
		}
		checkEqual(t, "AuditLog "+tc.name, got, want)
	}
	// JSON comes back byte for byte, and absent JSON as nil.
	all, err := s.AuditLog(ctx, g.ID, storage.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for i, got := range all {
		want := es[len(es)-1-i]
		if (got.Changes == nil) != (want.Changes == nil) || (got.Options == nil) != (want.Options == nil) {
			t.Fatalf("entry %d: Changes %q, Options %q; want %q, %q", i, got.Changes, got.Options, want.Changes, want.Options)
		}
	}

	// Limit 0 means 50.
	var many []storage.AuditEntry
	update(t, s, func(tx storage.Tx) error {
		for range 55 {
			e := entry(a, 1)
			e.GuildID = other.ID
			many = append(many, e)
			if err := tx.AddAuditEntry(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	got, err := s.AuditLog(ctx, other.ID, storage.AuditQuery{})
	if err != nil || len(got) != 50 || got[0].ID != many[54].ID {
		t.Fatalf("AuditLog with no limit = %d entries, %v; want the newest 50", len(got), err)
	}
}

func testDeleteGuild(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g := createGuild(t, s, "doomed", true)
	kept := createGuild(t, s, "kept", true)
	us := createUsers(t, s, 2)
	role := newRole(g.ID, "role", 1)
	c := newChannel(g.ID, "general", 0)
	c.Overwrites = []storage.Overwrite{{TargetID: role.ID, Type: storage.OverwriteRole, Allow: 1}}
	keptChannel := newChannel(kept.ID, "general", 0)
	emoji := storage.Emoji{ID: ids.Next(), GuildID: g.ID, UserID: us[0].ID, Name: "e", Hash: "h", CreatedAt: at(t0)}
	update(t, s, func(tx storage.Tx) error {
		steps := []error{
			tx.CreateRole(ctx, role),
			tx.CreateChannel(ctx, c),
			tx.CreateChannel(ctx, keptChannel),
			tx.AddMember(ctx, newMember(g.ID, us[0].ID, role.ID)),
			tx.AddMember(ctx, newMember(kept.ID, us[0].ID)),
			tx.CreateBan(ctx, storage.Ban{GuildID: g.ID, UserID: us[1].ID, CreatedAt: at(t0)}),
			tx.CreateInvite(ctx, storage.Invite{Code: "doomed", GuildID: g.ID, ChannelID: c.ID, CreatedAt: at(t0)}),
			tx.CreateInvite(ctx, storage.Invite{Code: "kept", GuildID: kept.ID, ChannelID: keptChannel.ID, CreatedAt: at(t0)}),
			tx.CreateEmoji(ctx, emoji),
			tx.AddAuditEntry(ctx, storage.AuditEntry{ID: ids.Next(), GuildID: g.ID, UserID: us[0].ID, ActionType: 1}),
		}
		_, err := tx.AppendEvent(ctx, storage.Event{LogID: g.ID, Type: "GUILD_CREATE", Payload: []byte(`{}`)})
		return errors.Join(append(steps, err)...)
	})
	update(t, s, func(tx storage.Tx) error { return tx.DeleteGuild(ctx, g.ID) })

	_, err := s.GuildByID(ctx, g.ID)
	wantErr(t, "GuildByID after DeleteGuild", err, storage.ErrNotFound)
	_, err = s.ChannelByID(ctx, c.ID)
	wantErr(t, "ChannelByID after DeleteGuild", err, storage.ErrNotFound)
	_, err = s.Member(ctx, g.ID, us[0].ID)
	wantErr(t, "Member after DeleteGuild", err, storage.ErrNotFound)
	_, err = s.Ban(ctx, g.ID, us[1].ID)
	wantErr(t, "Ban after DeleteGuild", err, storage.ErrNotFound)
	_, err = s.Invite(ctx, "doomed")
	wantErr(t, "Invite after DeleteGuild", err, storage.ErrNotFound)
	_, err = s.Emoji(ctx, emoji.ID)
	wantErr(t, "Emoji after DeleteGuild", err, storage.ErrNotFound)
	lists := []struct {
		name string
		n    func() (int, error)
	}{
		{"GuildChannels", func() (int, error) { l, err := s.GuildChannels(ctx, g.ID); return len(l), err }},
		{"GuildRoles", func() (int, error) { l, err := s.GuildRoles(ctx, g.ID); return len(l), err }},
		{"Members", func() (int, error) { l, err := s.Members(ctx, g.ID, 0, 100); return len(l), err }},
		{"MemberCount", func() (int, error) { return s.MemberCount(ctx, g.ID) }},
		{"Bans", func() (int, error) { l, err := s.Bans(ctx, g.ID, 0, 100); return len(l), err }},
		{"GuildInvites", func() (int, error) { l, err := s.GuildInvites(ctx, g.ID); return len(l), err }},
		{"ChannelInvites", func() (int, error) { l, err := s.ChannelInvites(ctx, c.ID); return len(l), err }},
		{"GuildEmojis", func() (int, error) { l, err := s.GuildEmojis(ctx, g.ID); return len(l), err }},
		{"AuditLog", func() (int, error) { l, err := s.AuditLog(ctx, g.ID, storage.AuditQuery{}); return len(l), err }},
		{"PublicGuilds", func() (int, error) { l, err := s.PublicGuilds(ctx, "doomed", 0, 10); return len(l), err }},
	}
	for _, l := range lists {
		if n, err := l.n(); err != nil || n != 0 {
			t.Errorf("%s after DeleteGuild = %d, %v; want none", l.name, n, err)
		}
	}
	if gs, err := s.UserGuilds(ctx, us[0].ID); err != nil || len(gs) != 1 || gs[0].ID != kept.ID {
		t.Fatalf("UserGuilds after DeleteGuild = %v, %v", guildIDs(gs), err)
	}
	if head, err := s.LogHead(ctx, g.ID); err != nil || head != 1 {
		t.Fatalf("LogHead after DeleteGuild = %d, %v; the event log is kept", head, err)
	}
	if _, err := s.Invite(ctx, "kept"); err != nil {
		t.Fatalf("another guild's invite: %v", err)
	}
	if n, _ := s.MemberCount(ctx, kept.ID); n != 1 {
		t.Fatalf("another guild's members: %d", n)
	}

	// Recreating the guild with the same IDs proves that nothing was merely
	// hidden: the member's roles and the channel's overwrites do not return.
	update(t, s, func(tx storage.Tx) error {
		c.Overwrites = nil
		return errors.Join(tx.CreateGuild(ctx, g), tx.CreateRole(ctx, role), tx.CreateChannel(ctx, c),
			tx.AddMember(ctx, newMember(g.ID, us[0].ID)))
	})
	if m, err := s.Member(ctx, g.ID, us[0].ID); err != nil || len(m.Roles) != 0 {
		t.Fatalf("recreated member = %+v, %v; want no roles", m, err)
	}
	if ch, err := s.ChannelByID(ctx, c.ID); err != nil || len(ch.Overwrites) != 0 {
		t.Fatalf("recreated channel = %+v, %v; want no overwrites", ch, err)
	}
	err = s.Update(ctx, func(tx storage.Tx) error { return tx.DeleteGuild(ctx, ids.Next()) })
	wantErr(t, "DeleteGuild(unknown)", err, storage.ErrNotFound)
}

func testGuildNotFound(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g := createGuild(t, s, "present", false)
	u := createUsers(t, s, 1)[0]
	c := newChannel(g.ID, "general", 0)
	update(t, s, func(tx storage.Tx) error { return tx.CreateChannel(ctx, c) })
	none := ids.Next()
	reads := []struct {
		name string
		fn   func(r storage.Reader) error
	}{
		{"GuildByID", func(r storage.Reader) error { _, err := r.GuildByID(ctx, none); return err }},
		{"ChannelByID", func(r storage.Reader) error { _, err := r.ChannelByID(ctx, none); return err }},
		{"Member(unknown user)", func(r storage.Reader) error { _, err := r.Member(ctx, g.ID, u.ID); return err }},
		{"Member(unknown guild)", func(r storage.Reader) error { _, err := r.Member(ctx, none, u.ID); return err }},
		{"Ban", func(r storage.Reader) error { _, err := r.Ban(ctx, g.ID, u.ID); return err }},
		{"Invite", func(r storage.Reader) error { _, err := r.Invite(ctx, "nope"); return err }},
		{"Emoji", func(r storage.Reader) error { _, err := r.Emoji(ctx, none); return err }},
	}
	for _, tc := range reads {
		wantErr(t, tc.name, tc.fn(s), storage.ErrNotFound)
		// And inside a transaction, where a miss must not spoil the rest.
		update(t, s, func(tx storage.Tx) error {
			wantErr(t, tc.name+" in tx", tc.fn(tx), storage.ErrNotFound)
			_, err := tx.GuildByID(ctx, g.ID)
			return err
		})
	}
	writes := []struct {
		name string
		fn   func(tx storage.Tx) error
	}{
		{"UpdateGuild", func(tx storage.Tx) error {
			return tx.UpdateGuild(ctx, storage.Guild{ID: none, Name: "x", OwnerID: u.ID})
		}},
		{"DeleteGuild", func(tx storage.Tx) error { return tx.DeleteGuild(ctx, none) }},
		{"UpdateChannel", func(tx storage.Tx) error {
			return tx.UpdateChannel(ctx, storage.InGuild(g.ID), newChannel(g.ID, "x", 0))
		}},
		{"DeleteChannel", func(tx storage.Tx) error { return tx.DeleteChannel(ctx, storage.InGuild(g.ID), none) }},
		{"DeleteOverwrite", func(tx storage.Tx) error { return tx.DeleteOverwrite(ctx, storage.ScopeOf(c), c.ID, none) }},
		{"UpdateRole", func(tx storage.Tx) error { return tx.UpdateRole(ctx, storage.InGuild(g.ID), newRole(g.ID, "x", 1)) }},
		{"DeleteRole", func(tx storage.Tx) error { return tx.DeleteRole(ctx, storage.InGuild(g.ID), none) }},
		{"UpdateMember", func(tx storage.Tx) error { return tx.UpdateMember(ctx, newMember(g.ID, u.ID)) }},
		{"RemoveMember", func(tx storage.Tx) error { return tx.RemoveMember(ctx, g.ID, u.ID) }},
		{"DeleteBan", func(tx storage.Tx) error { return tx.DeleteBan(ctx, g.ID, u.ID) }},
		{"UseInvite", func(tx storage.Tx) error { return tx.UseInvite(ctx, "nope", time.Now()) }},
		{"DeleteInvite", func(tx storage.Tx) error { return tx.DeleteInvite(ctx, storage.InGuild(g.ID), "nope") }},
		{"UpdateEmoji", func(tx storage.Tx) error {
			return tx.UpdateEmoji(ctx, storage.InGuild(g.ID), storage.Emoji{ID: none, Name: "x"})
		}},
		{"DeleteEmoji", func(tx storage.Tx) error { return tx.DeleteEmoji(ctx, storage.InGuild(g.ID), none) }},
	}
	for _, tc := range writes {
		wantErr(t, tc.name, s.Update(ctx, tc.fn), storage.ErrNotFound)
	}
	// UpdateMember of a non-member must not have given it roles either.
	if _, err := s.Member(ctx, g.ID, u.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Member after failed UpdateMember: %v", err)
	}
}

func testGuildConflicts(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g := createGuild(t, s, "present", false)
	u := createUsers(t, s, 1)[0]
	remoteGuild := storage.Guild{ID: ids.Next(), Name: "r", OwnerID: u.ID, CreatedAt: at(t0), Origin: "o.example", OriginID: "1"}
	remoteChannel := newChannel(g.ID, "r", 0)
	remoteChannel.Origin, remoteChannel.OriginID = "o.example", "1"
	update(t, s, func(tx storage.Tx) error {
		return errors.Join(tx.CreateGuild(ctx, remoteGuild), tx.CreateChannel(ctx, remoteChannel),
			tx.AddMember(ctx, newMember(g.ID, u.ID)),
			tx.CreateInvite(ctx, storage.Invite{Code: "code", GuildID: g.ID, ChannelID: remoteChannel.ID, CreatedAt: at(t0)}))
	})
	cases := []struct {
		name string
		fn   func(tx storage.Tx) error
	}{
		{"CreateGuild(same ID)", func(tx storage.Tx) error { return tx.CreateGuild(ctx, g) }},
		{"CreateGuild(same origin)", func(tx storage.Tx) error {
			twin := remoteGuild
			twin.ID = ids.Next()
			return tx.CreateGuild(ctx, twin)
		}},
		{"CreateChannel(same origin)", func(tx storage.Tx) error {
			twin := remoteChannel
			twin.ID = ids.Next()
			return tx.CreateChannel(ctx, twin)
		}},
		{"AddMember(again)", func(tx storage.Tx) error { return tx.AddMember(ctx, newMember(g.ID, u.ID)) }},
		{"CreateInvite(same code)", func(tx storage.Tx) error {
			return tx.CreateInvite(ctx, storage.Invite{Code: "code", GuildID: g.ID, ChannelID: remoteChannel.ID, CreatedAt: at(t0)})
		}},
		{"CreateRole(same ID)", func(tx storage.Tx) error { return tx.CreateRole(ctx, storage.Role{ID: g.ID, GuildID: g.ID}) }},
	}
	for _, tc := range cases {
		wantErr(t, tc.name, s.Update(ctx, tc.fn), storage.ErrConflict)
	}
	// A remote guild and a remote channel may share an origin pair: they are
	// different kinds of object.
	if got, err := s.ChannelByID(ctx, remoteChannel.ID); err != nil || got.Origin != "o.example" || got.OriginID != "1" {
		t.Fatalf("remote channel = %+v, %v", got, err)
	}
}

// Message tests. A message's CreatedAt is its ID's time, as the homeserver
// makes them, so that times and IDs agree.

// messageFixture creates a guild with a text channel, and n users.
func messageFixture(t *testing.T, s storage.Store, n int) (storage.Guild, storage.Channel, []storage.User) {
	t.Helper()
	g := createGuild(t, s, Name("messages"), false)
	c := newChannel(g.ID, "general", 0)
	update(t, s, func(tx storage.Tx) error { return tx.CreateChannel(context.Background(), c) })
	return g, c, createUsers(t, s, n)
}

func newMessage(c storage.Channel, author snowflake.ID, content string) storage.Message {
	id := ids.Next()
	return storage.Message{
		ID: id, ChannelID: c.ID, GuildID: c.GuildID, AuthorID: author, Content: content, CreatedAt: id.Time().UTC(),
	}
}

// attach adds an attachment to m, as the homeserver would describe it.
func attach(m *storage.Message, filename string) storage.Attachment {
	a := storage.Attachment{
		ID: ids.Next(), MessageID: m.ID, ChannelID: m.ChannelID, Filename: filename, ContentType: "image/png",
		Size: 1234, Hash: "hash-" + filename, Width: 640, Height: 480,
	}
	m.Attachments = append(m.Attachments, a)
	return a
}

func createMessages(t *testing.T, s storage.Store, ms ...storage.Message) {
	t.Helper()
	update(t, s, func(tx storage.Tx) error {
		for _, m := range ms {
			if err := tx.CreateMessage(context.Background(), scopeOfMessage(m), m); err != nil {
				return err
			}
		}
		return nil
	})
}

func messageIDs(ms []storage.Message) []snowflake.ID {
	out := make([]snowflake.ID, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

// pick returns the messages at the indexes, in that order.
func pick(ms []storage.Message, idx ...int) []storage.Message {
	out := make([]storage.Message, 0, len(idx))
	for _, i := range idx {
		out = append(out, ms[i])
	}
	return out
}

func testMessages(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g, c, us := messageFixture(t, s, 3)
	other := newChannel(g.ID, "other", 1)
	update(t, s, func(tx storage.Tx) error { return tx.CreateChannel(ctx, other) })
	first := newMessage(c, us[0].ID, "hello <@"+us[1].ID.String()+">")
	full := newMessage(c, us[1].ID, "a reply with everything")
	full.Type, full.Nonce, full.TTS, full.MentionEveryone = 19, "nonce-1", true, true
	full.Mentions = []snowflake.ID{us[2].ID, us[0].ID}
	full.MentionRoles = []snowflake.ID{g.ID}
	full.Embeds = []byte(`[{"title":"t", "description":"kept byte for byte"}]`)
	full.ReferenceID, full.ReferenceChannelID, full.Flags = first.ID, c.ID, 4
	a1, a2 := attach(&full, "one.png"), attach(&full, "two.png")
	a2.ContentType, a2.Description, a2.Width, a2.Height = "text/plain", "notes", 0, 0
	full.Attachments[1] = a2
	// Empty but not nil: the stores may return either for the mention
	// lists; embeds keep the difference.
	empty := newMessage(c, us[2].ID, "")
	empty.Mentions, empty.Embeds = []snowflake.ID{}, []byte(`[]`)
	remote := newMessage(c, us[2].ID, "from afar")
	remote.Origin, remote.OriginID = "other.example", "m1"
	remote.EditedAt = at(t0 + 77)
	kept := attach(&remote, "remote.png")
	createMessages(t, s, first, full, empty, remote)

	for _, want := range []storage.Message{first, full, empty, remote} {
		got, err := s.Message(ctx, c.ID, want.ID)
		if err != nil {
			t.Fatalf("Message(%q): %v", want.Content, err)
		}
		checkEqual(t, "Message("+want.Content+")", got, want)
		if (got.Embeds == nil) != (want.Embeds == nil) {
			t.Fatalf("Message(%q).Embeds = %q, want %q", want.Content, got.Embeds, want.Embeds)
		}
	}
	if got, _ := s.Message(ctx, c.ID, full.ID); string(got.Embeds) != string(full.Embeds) {
		t.Fatalf("Embeds = %s, want them byte for byte", got.Embeds)
	}
	for _, id := range []snowflake.ID{a1.ID, a2.ID} {
		got, err := s.Attachment(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		want := a1
		if id == a2.ID {
			want = a2
		}
		checkEqual(t, "Attachment", got, want)
	}
	_, err := s.Message(ctx, other.ID, full.ID)
	wantErr(t, "Message(in another channel)", err, storage.ErrNotFound)
	_, err = s.Message(ctx, c.ID, ids.Next())
	wantErr(t, "Message(unknown)", err, storage.ErrNotFound)
	_, err = s.Attachment(ctx, ids.Next())
	wantErr(t, "Attachment(unknown)", err, storage.ErrNotFound)

	// An edit rewrites the mutable fields and drops the attachments left
	// out; the rest stays as created.
	edited := full
	edited.Content, edited.Embeds, edited.Flags = "edited", nil, 0
	edited.Mentions, edited.MentionRoles, edited.MentionEveryone = []snowflake.ID{us[0].ID}, nil, false
	edited.Pinned, edited.PinnedAt, edited.EditedAt = true, at(t0+10), at(t0+11)
	edited.Attachments = []storage.Attachment{a2}
	update(t, s, func(tx storage.Tx) error {
		m := edited
		// Fields UpdateMessage does not write.
		m.Nonce, m.Type, m.TTS, m.ReferenceID = "ignored", 0, false, 0
		return tx.UpdateMessage(ctx, scopeOfMessage(m), m)
	})
	got, err := s.Message(ctx, c.ID, full.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "after UpdateMessage", got, edited)
	if got.Embeds != nil {
		t.Fatalf("Embeds after clearing = %q, want nil", got.Embeds)
	}
	_, err = s.Attachment(ctx, a1.ID)
	wantErr(t, "Attachment removed by UpdateMessage", err, storage.ErrNotFound)
	edited.Attachments = nil
	update(t, s, func(tx storage.Tx) error { return tx.UpdateMessage(ctx, scopeOfMessage(edited), edited) })
	if got, err := s.Message(ctx, c.ID, full.ID); err != nil || len(got.Attachments) != 0 {
		t.Fatalf("after removing every attachment: %+v, %v", got.Attachments, err)
	}
	if got, _ := s.Message(ctx, c.ID, first.ID); !equal(got, first) {
		t.Fatalf("UpdateMessage touched another message: %+v", got)
	}

	for _, tc := range []struct {
		name string
		fn   func(tx storage.Tx) error
		want error
	}{
		{"UpdateMessage(unknown)", func(tx storage.Tx) error {
			return tx.UpdateMessage(ctx, storage.ScopeOf(c), newMessage(c, us[0].ID, "x"))
		}, storage.ErrNotFound},
		{"UpdateMessage(other channel)", func(tx storage.Tx) error {
			m := first
			m.ChannelID = other.ID
			return tx.UpdateMessage(ctx, scopeOfMessage(m), m)
		}, storage.ErrNotFound},
		{"CreateMessage(same ID)", func(tx storage.Tx) error { return tx.CreateMessage(ctx, scopeOfMessage(first), first) }, storage.ErrConflict},
		{"CreateMessage(same origin)", func(tx storage.Tx) error {
			twin := newMessage(c, us[0].ID, "twin")
			twin.Origin, twin.OriginID = remote.Origin, remote.OriginID
			return tx.CreateMessage(ctx, scopeOfMessage(twin), twin)
		}, storage.ErrConflict},
		{"CreateMessage(same attachment ID)", func(tx storage.Tx) error {
			m := newMessage(c, us[0].ID, "twin")
			m.Attachments = []storage.Attachment{kept}
			return tx.CreateMessage(ctx, scopeOfMessage(m), m)
		}, storage.ErrConflict},
	} {
		wantErr(t, tc.name, s.Update(ctx, tc.fn), tc.want)
	}
	if got, _ := s.Message(ctx, c.ID, first.ID); got.Content != first.Content {
		t.Fatalf("UpdateMessage through another channel changed the message: %+v", got)
	}
}

func testMessageHistory(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g, c, us := messageFixture(t, s, 1)
	other := newChannel(g.ID, "other", 1)
	update(t, s, func(tx storage.Tx) error { return tx.CreateChannel(ctx, other) })
	// Thirty messages, each followed by one in another channel, so that
	// the IDs of a page's neighbours are never adjacent and the other
	// channel's messages sit between them.
	var ms, noise []storage.Message
	for i := range 30 {
		m := newMessage(c, us[0].ID, "message "+itoa(i))
		if i == 13 || i == 14 {
			attach(&m, "file"+itoa(i))
		}
		if i == 14 {
			attach(&m, "second")
		}
		ms = append(ms, m)
		noise = append(noise, newMessage(other, us[0].ID, "noise"))
		createMessages(t, s, m, noise[i])
	}
	// Between messages 14 and 15, in this channel no message's ID.
	between := ms[15].ID - 1
	span := func(from, to int) []int { // from down to to, newest first
		var out []int
		for i := from; i >= to; i-- {
			out = append(out, i)
		}
		return out
	}
	cases := []struct {
		name string
		q    storage.MessageQuery
		want []int
	}{
		{"newest", storage.MessageQuery{Limit: 5}, span(29, 25)},
		{"all", storage.MessageQuery{Limit: 100}, span(29, 0)},
		{"one", storage.MessageQuery{Limit: 1}, []int{29}},
		{"before", storage.MessageQuery{Before: ms[10].ID, Limit: 5}, span(9, 5)},
		{"before near the start", storage.MessageQuery{Before: ms[3].ID, Limit: 5}, span(2, 0)},
		{"before the first", storage.MessageQuery{Before: ms[0].ID, Limit: 5}, nil},
		{"before a gap", storage.MessageQuery{Before: between, Limit: 3}, span(14, 12)},
		{"after", storage.MessageQuery{After: ms[10].ID, Limit: 5}, span(15, 11)},
		{"after near the end", storage.MessageQuery{After: ms[27].ID, Limit: 5}, span(29, 28)},
		{"after the last", storage.MessageQuery{After: ms[29].ID, Limit: 5}, nil},
		{"after the beginning", storage.MessageQuery{After: 1, Limit: 3}, span(2, 0)},
		{"after a gap", storage.MessageQuery{After: between, Limit: 3}, span(17, 15)},
		{"around", storage.MessageQuery{Around: ms[15].ID, Limit: 5}, span(17, 13)},
		{"around, even limit", storage.MessageQuery{Around: ms[15].ID, Limit: 4}, span(17, 14)},
		{"around, limit 1", storage.MessageQuery{Around: ms[15].ID, Limit: 1}, []int{15}},
		{"around, limit 2", storage.MessageQuery{Around: ms[15].ID, Limit: 2}, []int{16, 15}},
		{"around the first", storage.MessageQuery{Around: ms[0].ID, Limit: 5}, span(2, 0)},
		{"around the last", storage.MessageQuery{Around: ms[29].ID, Limit: 5}, span(29, 27)},
		{"around a gap", storage.MessageQuery{Around: between, Limit: 4}, span(16, 13)},
		{"around, more than there are", storage.MessageQuery{Around: ms[15].ID, Limit: 100}, span(29, 0)},
	}
	for _, tc := range cases {
		got, err := s.Messages(ctx, c.ID, tc.q)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		checkEqual(t, "Messages "+tc.name, got, pick(ms, tc.want...))
	}
	// Paging back from the newest with Before, and forward from the
	// beginning with After, each visit every message once.
	var back, forward []snowflake.ID
	q := storage.MessageQuery{Limit: 7}
	for range 10 {
		page, err := s.Messages(ctx, c.ID, q)
		if err != nil || len(page) == 0 {
			break
		}
		back = append(back, messageIDs(page)...)
		q.Before = page[len(page)-1].ID
	}
	checkEqual(t, "paging back", back, messageIDs(pick(ms, span(29, 0)...)))
	q = storage.MessageQuery{After: 1, Limit: 7}
	for range 10 {
		page, err := s.Messages(ctx, c.ID, q)
		if err != nil || len(page) == 0 {
			break
		}
		for i := len(page) - 1; i >= 0; i-- {
			forward = append(forward, page[i].ID)
		}
		q.After = page[0].ID
	}
	checkEqual(t, "paging forward", forward, messageIDs(ms))
	if got, err := s.Messages(ctx, ids.Next(), storage.MessageQuery{Limit: 50}); err != nil || len(got) != 0 {
		t.Fatalf("Messages(unknown channel) = %d, %v", len(got), err)
	}
	if got, _ := s.Messages(ctx, other.ID, storage.MessageQuery{Limit: 100}); len(got) != 30 || got[0].ID != noise[29].ID {
		t.Fatalf("other channel's history = %d messages", len(got))
	}
}

func testMessageByNonce(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g, c, us := messageFixture(t, s, 3)
	a, b := us[0].ID, us[1].ID
	other := newChannel(g.ID, "other", 1)
	update(t, s, func(tx storage.Tx) error { return tx.CreateChannel(ctx, other) })
	withNonce := func(c storage.Channel, author snowflake.ID, nonce string, createdAt int64) storage.Message {
		m := newMessage(c, author, nonce)
		m.Nonce, m.CreatedAt = nonce, at(createdAt)
		return m
	}
	old := withNonce(c, a, "n1", t0+1000)
	again := withNonce(c, a, "n1", t0+5000)
	byB := withNonce(c, b, "n1", t0+5000)
	elsewhere := withNonce(other, a, "n1", t0+9000)
	noNonce := withNonce(c, a, "", t0+9000)
	last := withNonce(c, b, "n2", t0+9000)
	createMessages(t, s, old, again, byB, elsewhere, noNonce, last)

	cases := []struct {
		name    string
		channel storage.Channel
		author  snowflake.ID
		nonce   string
		since   int64
		want    *storage.Message
	}{
		{"newest of two", c, a, "n1", t0, &again},
		{"since excludes the older", c, a, "n1", t0 + 1001, &again},
		{"since is inclusive", c, a, "n1", t0 + 5000, &again},
		{"too old", c, a, "n1", t0 + 5001, nil},
		{"other author", c, b, "n1", t0, &byB},
		{"other channel", other, a, "n1", t0, &elsewhere},
		{"unknown nonce", c, a, "n3", t0, nil},
		{"nonce of someone else", c, a, "n2", t0, nil},
		{"empty nonce", c, a, "", t0, nil},
	}
	for _, tc := range cases {
		got, err := s.MessageByNonce(ctx, tc.channel.ID, tc.author, tc.nonce, at(tc.since))
		if tc.want == nil {
			wantErr(t, "MessageByNonce "+tc.name, err, storage.ErrNotFound)
			continue
		}
		if err != nil {
			t.Fatalf("MessageByNonce %s: %v", tc.name, err)
		}
		checkEqual(t, "MessageByNonce "+tc.name, got, *tc.want)
	}

	got, err := s.LastMessageBy(ctx, c.ID, a)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "LastMessageBy(a)", got, noNonce)
	if got, err := s.LastMessageBy(ctx, c.ID, b); err != nil || got.ID != last.ID {
		t.Fatalf("LastMessageBy(b) = %v, %v; want %v", got.ID, err, last.ID)
	}
	if got, err := s.LastMessageBy(ctx, other.ID, a); err != nil || got.ID != elsewhere.ID {
		t.Fatalf("LastMessageBy(other channel) = %v, %v", got.ID, err)
	}
	_, err = s.LastMessageBy(ctx, c.ID, us[2].ID)
	wantErr(t, "LastMessageBy(silent user)", err, storage.ErrNotFound)
}

func testLastMessageID(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g, c, us := messageFixture(t, s, 1)
	lastID := func() snowflake.ID {
		t.Helper()
		got, err := s.ChannelByID(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		list, err := s.GuildChannels(ctx, g.ID)
		if err != nil || len(list) != 1 || list[0].LastMessageID != got.LastMessageID {
			t.Fatalf("GuildChannels = %+v, %v; want LastMessageID %v", list, err, got.LastMessageID)
		}
		return got.LastMessageID
	}
	if id := lastID(); id != 0 {
		t.Fatalf("LastMessageID of a new channel = %v, want 0", id)
	}
	early := ids.Next() // an ID older than the messages below
	m1, m2 := newMessage(c, us[0].ID, "one"), newMessage(c, us[0].ID, "two")
	createMessages(t, s, m1)
	if id := lastID(); id != m1.ID {
		t.Fatalf("LastMessageID = %v, want %v", id, m1.ID)
	}
	createMessages(t, s, m2)
	if id := lastID(); id != m2.ID {
		t.Fatalf("LastMessageID = %v, want %v", id, m2.ID)
	}
	// UpdateChannel with a copy read before the messages leaves it.
	renamed := c
	renamed.Name = "renamed"
	update(t, s, func(tx storage.Tx) error { return tx.UpdateChannel(ctx, storage.ScopeOf(renamed), renamed) })
	if id := lastID(); id != m2.ID {
		t.Fatalf("LastMessageID after UpdateChannel = %v, want %v", id, m2.ID)
	}
	// A message older than the last (mirrored late) does not become it.
	late := newMessage(c, us[0].ID, "late")
	late.ID = early
	createMessages(t, s, late)
	if id := lastID(); id != m2.ID {
		t.Fatalf("LastMessageID after an older message = %v, want %v", id, m2.ID)
	}
	got, err := s.ChannelByID(ctx, c.ID)
	if err != nil || got.Name != "renamed" {
		t.Fatalf("ChannelByID = %+v, %v", got, err)
	}
}

func testPinnedMessages(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g, c, us := messageFixture(t, s, 1)
	other := newChannel(g.ID, "other", 1)
	update(t, s, func(tx storage.Tx) error { return tx.CreateChannel(ctx, other) })
	var ms []storage.Message
	for i := range 5 {
		ms = append(ms, newMessage(c, us[0].ID, "message "+itoa(i)))
	}
	attach(&ms[3], "pinned.png")
	elsewhere := newMessage(other, us[0].ID, "pinned elsewhere")
	elsewhere.Pinned, elsewhere.PinnedAt = true, at(t0+99)
	createMessages(t, s, append(ms, elsewhere)...)
	pin := func(i int, pinnedAt int64) {
		ms[i].Pinned, ms[i].PinnedAt = pinnedAt != 0, time.Time{}
		if pinnedAt != 0 {
			ms[i].PinnedAt = at(pinnedAt)
		}
		update(t, s, func(tx storage.Tx) error { return tx.UpdateMessage(ctx, scopeOfMessage(ms[i]), ms[i]) })
	}
	check := func(what string, want ...int) {
		t.Helper()
		got, err := s.PinnedMessages(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, what, got, pick(ms, want...))
	}
	check("no pins")
	pin(1, t0+10)
	pin(3, t0+30)
	pin(2, t0+20)
	pin(0, t0+20) // same moment as 2: the newer message comes first
	check("pins", 3, 2, 0, 1)
	pin(3, 0)
	check("after unpinning", 2, 0, 1)
	pin(1, t0+40)
	check("after pinning again", 1, 2, 0)
	if got, err := s.PinnedMessages(ctx, other.ID); err != nil || len(got) != 1 || got[0].ID != elsewhere.ID {
		t.Fatalf("other channel's pins = %v, %v", messageIDs(got), err)
	}
}

func testReactions(t *testing.T, s storage.Store) {
	ctx := context.Background()
	_, c, us := messageFixture(t, s, 4)
	u0, u1, u2, u3 := us[0].ID, us[1].ID, us[2].ID, us[3].ID
	m1, m2, m3 := newMessage(c, u0, "one"), newMessage(c, u0, "two"), newMessage(c, u0, "none")
	createMessages(t, s, m1, m2, m3)
	react := func(m storage.Message, user snowflake.ID, emoji string, when int64) storage.Reaction {
		return storage.Reaction{MessageID: m.ID, ChannelID: m.ChannelID, UserID: user, Emoji: emoji, CreatedAt: at(when)}
	}
	add := func(rs ...storage.Reaction) {
		t.Helper()
		update(t, s, func(tx storage.Tx) error {
			for _, r := range rs {
				if err := tx.AddReaction(ctx, storage.ScopeOf(c), r); err != nil {
					return err
				}
			}
			return nil
		})
	}
	add(
		react(m1, u0, "🔥", t0+5),
		react(m1, u1, "👍", t0+1),
		react(m1, u0, "👍", t0+9),
		react(m1, u3, "👍", t0+12),
		react(m1, u2, "blob:123", t0+3),
		// First used in the same millisecond: ordered by the emoji.
		react(m1, u2, "😁", t0+7),
		react(m1, u1, "😀", t0+7),
		react(m2, u2, "👍", t0),
	)
	// check compares the summary of each message in turn; the order of the
	// messages among themselves is not part of the contract.
	check := func(what string, messageIDs []snowflake.ID, viewer snowflake.ID, want ...storage.ReactionCount) {
		t.Helper()
		got, err := s.Reactions(ctx, messageIDs, viewer)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		for _, id := range append(messageIDs, ids.Next()) {
			var g, w []storage.ReactionCount
			for _, x := range got {
				if x.MessageID == id {
					g = append(g, x)
				}
			}
			for _, x := range want {
				if x.MessageID == id {
					w = append(w, x)
				}
			}
			checkEqual(t, what+" of message "+id.String(), g, w)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d summaries, want %d", what, len(got), len(want))
		}
	}
	rc := func(m storage.Message, emoji string, count int, me bool) storage.ReactionCount {
		return storage.ReactionCount{MessageID: m.ID, Emoji: emoji, Count: count, Me: me}
	}
	check("as u0", []snowflake.ID{m2.ID, m1.ID, m3.ID}, u0,
		rc(m1, "👍", 3, true), rc(m1, "blob:123", 1, false), rc(m1, "🔥", 1, true),
		rc(m1, "😀", 1, false), rc(m1, "😁", 1, false), rc(m2, "👍", 1, false))
	check("as u2", []snowflake.ID{m1.ID, m2.ID}, u2,
		rc(m1, "👍", 3, false), rc(m1, "blob:123", 1, true), rc(m1, "🔥", 1, false),
		rc(m1, "😀", 1, false), rc(m1, "😁", 1, true), rc(m2, "👍", 1, true))
	check("as nobody", []snowflake.ID{m2.ID}, 0, rc(m2, "👍", 1, false))
	check("of no message", nil, u0)
	check("of a message without", []snowflake.ID{m3.ID}, u0)

	err := s.Update(ctx, func(tx storage.Tx) error {
		return tx.AddReaction(ctx, storage.ScopeOf(c), react(m1, u0, "👍", t0+50))
	})
	wantErr(t, "AddReaction(again)", err, storage.ErrConflict)

	users := func(m storage.Message, emoji string, after snowflake.ID, limit int, want ...snowflake.ID) {
		t.Helper()
		got, err := s.ReactionUsers(ctx, m.ID, emoji, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, "ReactionUsers("+emoji+")", got, want)
	}
	users(m1, "👍", 0, 10, u0, u1, u3)
	users(m1, "👍", 0, 2, u0, u1)
	users(m1, "👍", u0, 10, u1, u3)
	users(m1, "👍", u1, 1, u3)
	users(m1, "👍", u3, 10)
	users(m1, "🔥", 0, 10, u0)
	users(m1, "❤", 0, 10)
	users(m3, "👍", 0, 10)

	update(t, s, func(tx storage.Tx) error { return tx.RemoveReaction(ctx, storage.ScopeOf(c), m1.ID, u1, "👍") })
	err = s.Update(ctx, func(tx storage.Tx) error { return tx.RemoveReaction(ctx, storage.ScopeOf(c), m1.ID, u1, "👍") })
	wantErr(t, "RemoveReaction(again)", err, storage.ErrNotFound)
	users(m1, "👍", 0, 10, u0, u3)
	// 👍 was first used by u1 at t0+1; its first use is now u0's, at t0+9.
	check("after RemoveReaction", []snowflake.ID{m1.ID}, u0,
		rc(m1, "blob:123", 1, false), rc(m1, "🔥", 1, true), rc(m1, "😀", 1, false),
		rc(m1, "😁", 1, false), rc(m1, "👍", 2, true))

	removeAll := func(m storage.Message, emoji string, want int) {
		t.Helper()
		var n int
		update(t, s, func(tx storage.Tx) error {
			var err error
			n, err = tx.RemoveReactions(ctx, scopeOfMessage(m), m.ID, emoji)
			return err
		})
		if n != want {
			t.Fatalf("RemoveReactions(%q) = %d, want %d", emoji, n, want)
		}
	}
	removeAll(m1, "👍", 2)
	removeAll(m1, "👍", 0)
	check("after RemoveReactions(👍)", []snowflake.ID{m1.ID, m2.ID}, u0,
		rc(m1, "blob:123", 1, false), rc(m1, "🔥", 1, true), rc(m1, "😀", 1, false),
		rc(m1, "😁", 1, false), rc(m2, "👍", 1, false))
	removeAll(m1, "", 4)
	check("after RemoveReactions(all)", []snowflake.ID{m1.ID, m2.ID}, u0, rc(m2, "👍", 1, false))
	// Reacting again starts afresh.
	add(react(m1, u2, "👍", t0+100))
	users(m1, "👍", 0, 10, u2)
}

func testDeleteMessages(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g, c, us := messageFixture(t, s, 2)
	other := newChannel(g.ID, "other", 1)
	update(t, s, func(tx storage.Tx) error { return tx.CreateChannel(ctx, other) })
	var ms []storage.Message
	for i := range 4 {
		m := newMessage(c, us[0].ID, "doomed "+itoa(i))
		attach(&m, "f"+itoa(i))
		ms = append(ms, m)
	}
	update(t, s, func(tx storage.Tx) error {
		for _, m := range ms {
			steps := []error{
				tx.CreateMessage(ctx, scopeOfMessage(m), m),
				tx.AddReaction(ctx, storage.ScopeOf(c), storage.Reaction{MessageID: m.ID, ChannelID: c.ID, UserID: us[1].ID, Emoji: "👍", CreatedAt: at(t0)}),
				tx.AddRevision(ctx, storage.InGuild(g.ID), storage.Revision{ID: ids.Next(), MessageID: m.ID, ChannelID: c.ID, GuildID: g.ID,
					AuthorID: us[0].ID, EditorID: us[0].ID, Content: "before", At: at(t0)}),
			}
			if err := errors.Join(steps...); err != nil {
				return err
			}
		}
		return nil
	})
	deleteMessages := func(channelID snowflake.ID, ids ...snowflake.ID) int {
		t.Helper()
		var n int
		update(t, s, func(tx storage.Tx) error {
			var err error
			n, err = tx.DeleteMessages(ctx, storage.InGuild(g.ID), channelID, ids)
			return err
		})
		return n
	}
	if n := deleteMessages(c.ID, ms[0].ID, ms[1].ID, ids.Next()); n != 2 {
		t.Fatalf("DeleteMessages = %d, want 2 (the unknown ID does not count)", n)
	}
	if n := deleteMessages(c.ID, ms[0].ID); n != 0 {
		t.Fatalf("DeleteMessages(again) = %d, want 0", n)
	}
	if n := deleteMessages(other.ID, ms[2].ID); n != 0 {
		t.Fatalf("DeleteMessages(through another channel) = %d, want 0", n)
	}
	if n := deleteMessages(c.ID); n != 0 {
		t.Fatalf("DeleteMessages(no IDs) = %d, want 0", n)
	}
	for _, m := range ms[:2] {
		_, err := s.Message(ctx, c.ID, m.ID)
		wantErr(t, "Message(deleted)", err, storage.ErrNotFound)
		_, err = s.Attachment(ctx, m.Attachments[0].ID)
		wantErr(t, "Attachment of a deleted message", err, storage.ErrNotFound)
		if rs, err := s.Reactions(ctx, []snowflake.ID{m.ID}, 0); err != nil || len(rs) != 0 {
			t.Fatalf("Reactions of a deleted message = %+v, %v", rs, err)
		}
		if rs, err := s.ReactionUsers(ctx, m.ID, "👍", 0, 10); err != nil || len(rs) != 0 {
			t.Fatalf("ReactionUsers of a deleted message = %v, %v", rs, err)
		}
		if revs, err := s.Revisions(ctx, m.ID); err != nil || len(revs) != 1 || revs[0].Content != "before" {
			t.Fatalf("Revisions of a deleted message = %+v, %v; they are kept", revs, err)
		}
	}
	for _, m := range ms[2:] {
		got, err := s.Message(ctx, c.ID, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, "surviving message", got, m)
		if rs, _ := s.Reactions(ctx, []snowflake.ID{m.ID}, 0); len(rs) != 1 {
			t.Fatalf("surviving message's reactions = %+v", rs)
		}
	}
	history, err := s.Messages(ctx, c.ID, storage.MessageQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "history after DeleteMessages", messageIDs(history), []snowflake.ID{ms[3].ID, ms[2].ID})

	// Creating a message again with the same ID proves that its attachments
	// and reactions went rather than being hidden.
	again := ms[0]
	again.Attachments = nil
	createMessages(t, s, again)
	if got, err := s.Message(ctx, c.ID, again.ID); err != nil || len(got.Attachments) != 0 {
		t.Fatalf("re-created message = %+v, %v; want no attachments", got, err)
	}
	if rs, _ := s.Reactions(ctx, []snowflake.ID{again.ID}, 0); len(rs) != 0 {
		t.Fatalf("re-created message's reactions = %+v", rs)
	}

	// Deleting the channel, then the guild, takes the rest; revisions stay.
	update(t, s, func(tx storage.Tx) error { return tx.DeleteChannel(ctx, storage.ScopeOf(c), c.ID) })
	_, err = s.Message(ctx, c.ID, ms[2].ID)
	wantErr(t, "Message of a deleted channel", err, storage.ErrNotFound)
	_, err = s.Attachment(ctx, ms[2].Attachments[0].ID)
	wantErr(t, "Attachment of a deleted channel", err, storage.ErrNotFound)
	keep := newMessage(other, us[0].ID, "in the guild")
	attach(&keep, "kept")
	createMessages(t, s, keep)
	update(t, s, func(tx storage.Tx) error { return tx.DeleteGuild(ctx, g.ID) })
	_, err = s.Message(ctx, other.ID, keep.ID)
	wantErr(t, "Message of a deleted guild", err, storage.ErrNotFound)
	_, err = s.Attachment(ctx, keep.Attachments[0].ID)
	wantErr(t, "Attachment of a deleted guild", err, storage.ErrNotFound)
	if revs, err := s.Revisions(ctx, ms[3].ID); err != nil || len(revs) != 1 {
		t.Fatalf("Revisions after DeleteGuild = %+v, %v; they are kept", revs, err)
	}
}

func testRevisions(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g, c, us := messageFixture(t, s, 2)
	m := newMessage(c, us[0].ID, "v3")
	dm := newDM(storage.ChannelGroupDM, us[0].ID, us[1].ID)
	createChannels(t, s, dm)
	dmMsg := newMessage(dm, us[0].ID, "in a DM")
	createMessages(t, s, m, dmMsg)
	revs := []storage.Revision{
		{ID: ids.Next(), MessageID: m.ID, ChannelID: c.ID, GuildID: g.ID, AuthorID: us[0].ID, EditorID: us[0].ID,
			Content: "v1", Embeds: []byte(`[{"title":"x"}]`), Attachments: []byte(`[{"id":"1","filename":"a.png"}]`), At: at(t0 + 1)},
		{ID: ids.Next(), MessageID: m.ID, ChannelID: c.ID, GuildID: g.ID, AuthorID: us[0].ID, EditorID: us[0].ID,
			Content: "v2", At: at(t0 + 2)},
		{ID: ids.Next(), MessageID: m.ID, ChannelID: c.ID, GuildID: g.ID, AuthorID: us[0].ID, EditorID: us[1].ID,
			Deleted: true, Content: "v3", Embeds: []byte(`[]`), At: at(t0 + 3)},
	}
	update(t, s, func(tx storage.Tx) error {
		// Written out of order: they list by ID.
		for _, i := range []int{2, 0, 1} {
			if err := tx.AddRevision(ctx, storage.InGuild(g.ID), revs[i]); err != nil {
				return err
			}
		}
		// Another message's revisions, in DM (GuildID 0).
		return tx.AddRevision(ctx, storage.InDM(dm.ID), storage.Revision{ID: ids.Next(), MessageID: dmMsg.ID,
			ChannelID: dm.ID, AuthorID: us[0].ID, EditorID: us[0].ID, At: at(t0)})
	})
	got, err := s.Revisions(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "Revisions", got, revs)
	for i := range got {
		if (got[i].Embeds == nil) != (revs[i].Embeds == nil) || (got[i].Attachments == nil) != (revs[i].Attachments == nil) {
			t.Fatalf("revision %d: Embeds %q, Attachments %q; want %q, %q", i, got[i].Embeds, got[i].Attachments,
				revs[i].Embeds, revs[i].Attachments)
		}
	}
	if got, err := s.Revisions(ctx, ids.Next()); err != nil || len(got) != 0 {
		t.Fatalf("Revisions(unknown) = %+v, %v", got, err)
	}
	err = s.Update(ctx, func(tx storage.Tx) error { return tx.AddRevision(ctx, storage.InGuild(g.ID), revs[0]) })
	wantErr(t, "AddRevision(same ID)", err, storage.ErrConflict)
}

func testSearchMessages(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g, c1, us := messageFixture(t, s, 2)
	a, b := us[0].ID, us[1].ID
	c2, c3 := newChannel(g.ID, "two", 1), newChannel(g.ID, "unlisted", 2)
	otherGuild := createGuild(t, s, "other", false)
	foreign := newChannel(otherGuild.ID, "foreign", 0)
	update(t, s, func(tx storage.Tx) error {
		return errors.Join(tx.CreateChannel(ctx, c2), tx.CreateChannel(ctx, c3), tx.CreateChannel(ctx, foreign))
	})
	type entry struct {
		name    string
		channel storage.Channel
		author  snowflake.ID
		content string
	}
	entries := []entry{
		{"hello", c1, a, "Hello world"},
		{"there", c1, b, "hello there, WORLD"},
		{"big", c2, a, "the world is big"},
		{"secret", c3, a, "hello world secret"},
		{"https", c1, b, "check https://example.com now"},
		{"http", c2, a, "plain HTTP://old.example link"},
		{"file", c2, b, "file here"},
		{"syntax", c1, a, `quotes "hello" and * stars OR NEAR(x) -minus a:b`},
		{"joined", c1, a, "helloworld and hellos"},
		{"edited", c1, a, "to be edited oldword"},
		{"deleted", c1, b, "to be deleted zebra"},
		{"cafe", c2, b, "Café Ünïcode"},
		{"foreign", foreign, a, "hello world abroad"},
	}
	ms := map[string]storage.Message{}
	for _, e := range entries {
		m := newMessage(e.channel, e.author, e.content)
		if e.name == "file" {
			attach(&m, "report.pdf")
		}
		ms[e.name] = m
		createMessages(t, s, m)
	}
	edited := ms["edited"]
	edited.Content, edited.EditedAt = "now newword", at(t0+1)
	ms["edited"] = edited
	update(t, s, func(tx storage.Tx) error {
		if err := tx.UpdateMessage(ctx, scopeOfMessage(edited), edited); err != nil {
			return err
		}
		_, err := tx.DeleteMessages(ctx, storage.ScopeOf(c1), c1.ID, []snowflake.ID{ms["deleted"].ID})
		return err
	})

	listed := []snowflake.ID{c1.ID, c2.ID}
	everything := []string{"cafe", "edited", "joined", "syntax", "file", "http", "https", "big", "there", "hello"}
	cases := []struct {
		name string
		q    storage.SearchQuery
		want []string // newest first
	}{
		{"word, any case", storage.SearchQuery{Text: "hello"}, []string{"syntax", "there", "hello"}},
		{"upper case", storage.SearchQuery{Text: "HELLO"}, []string{"syntax", "there", "hello"}},
		{"every word", storage.SearchQuery{Text: "HELLO World"}, []string{"there", "hello"}},
		{"any order", storage.SearchQuery{Text: "world hello"}, []string{"there", "hello"}},
		{"one word", storage.SearchQuery{Text: "world"}, []string{"big", "there", "hello"}},
		{"word not present", storage.SearchQuery{Text: "hello nothing"}, nil},
		{"non-ASCII case", storage.SearchQuery{Text: "CAFÉ ünïcode"}, []string{"cafe"}},
		{"diacritics count", storage.SearchQuery{Text: "cafe"}, nil},
		{"no text", storage.SearchQuery{}, everything},
		{"blank text", storage.SearchQuery{Text: "  \t "}, everything},
		{"author", storage.SearchQuery{AuthorID: b}, []string{"cafe", "file", "https", "there"}},
		{"author and word", storage.SearchQuery{AuthorID: a, Text: "world"}, []string{"big", "hello"}},
		{"has file", storage.SearchQuery{HasFile: true}, []string{"file"}},
		{"has link", storage.SearchQuery{HasLink: true}, []string{"http", "https"}},
		{"has link and author", storage.SearchQuery{HasLink: true, AuthorID: b}, []string{"https"}},
		{"before", storage.SearchQuery{Text: "world", Before: ms["big"].ID}, []string{"there", "hello"}},
		{"after", storage.SearchQuery{Text: "world", After: ms["hello"].ID}, []string{"big", "there"}},
		{"between", storage.SearchQuery{Before: ms["https"].ID, After: ms["hello"].ID}, []string{"big", "there"}},
		{"one channel", storage.SearchQuery{Text: "world", ChannelIDs: []snowflake.ID{c2.ID}}, []string{"big"}},
		{"the unlisted channel", storage.SearchQuery{Text: "hello", ChannelIDs: []snowflake.ID{c3.ID}}, []string{"secret"}},
		{"no channels", storage.SearchQuery{Text: "hello", ChannelIDs: []snowflake.ID{}}, nil},
		{"another guild's channel", storage.SearchQuery{Text: "hello", ChannelIDs: []snowflake.ID{foreign.ID}}, nil},
		{"whole words only", storage.SearchQuery{Text: "hellos"}, []string{"joined"}},
		{"edited, new words", storage.SearchQuery{Text: "newword"}, []string{"edited"}},
		{"edited, old words", storage.SearchQuery{Text: "oldword"}, nil},
		{"deleted", storage.SearchQuery{Text: "zebra"}, nil},
		// FTS syntax is matched as words, or matches nothing, and never
		// errs.
		{"a quote", storage.SearchQuery{Text: `"`}, nil},
		{"quotes", storage.SearchQuery{Text: `""""`}, nil},
		{"a quoted phrase", storage.SearchQuery{Text: `"hello world"`}, []string{"there", "hello"}},
		{"unbalanced quote", storage.SearchQuery{Text: `"hello`}, []string{"syntax", "there", "hello"}},
		{"star", storage.SearchQuery{Text: "*"}, nil},
		{"prefix star", storage.SearchQuery{Text: "hello*"}, []string{"syntax", "there", "hello"}},
		{"OR is a word", storage.SearchQuery{Text: "OR"}, []string{"syntax"}},
		{"OR does not alternate", storage.SearchQuery{Text: "hello OR zebra"}, nil},
		{"AND", storage.SearchQuery{Text: "hello AND world"}, nil},
		{"NOT", storage.SearchQuery{Text: "world NOT hello"}, nil},
		{"NEAR", storage.SearchQuery{Text: "NEAR(hello world)"}, nil},
		{"NEAR(", storage.SearchQuery{Text: "NEAR("}, []string{"syntax"}},
		{"minus", storage.SearchQuery{Text: "-hello"}, []string{"syntax", "there", "hello"}},
		{"colon", storage.SearchQuery{Text: "a:b"}, []string{"syntax"}},
		{"column filter", storage.SearchQuery{Text: "content:hello"}, nil},
		{"caret and braces", storage.SearchQuery{Text: "^hello {world}"}, []string{"there", "hello"}},
		{"parentheses", storage.SearchQuery{Text: "(((("}, nil},
		{"punctuation only", storage.SearchQuery{Text: `- : * " ( ) + ^`}, nil},
	}
	for _, tc := range cases {
		q := tc.q
		if q.ChannelIDs == nil {
			q.ChannelIDs = listed
		}
		got, total, err := s.SearchMessages(ctx, g.ID, q)
		if err != nil {
			t.Fatalf("SearchMessages %s: %v", tc.name, err)
		}
		var want []storage.Message
		for _, n := range tc.want {
			want = append(want, ms[n])
		}
		if !equal(messageIDs(got), messageIDs(want)) || total != len(want) {
			var names []string
			for _, m := range got {
				names = append(names, m.Content)
			}
			t.Errorf("SearchMessages %s = %q (total %d), want %v", tc.name, names, total, tc.want)
		}
	}
	// Results are whole messages, attachments included.
	got, _, err := s.SearchMessages(ctx, g.ID, storage.SearchQuery{HasFile: true, ChannelIDs: listed})
	if err != nil || len(got) != 1 {
		t.Fatalf("SearchMessages(has file) = %+v, %v", got, err)
	}
	checkEqual(t, "found message", got[0], ms["file"])
}

func testSearchPages(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g, c, us := messageFixture(t, s, 1)
	var ms []storage.Message
	for i := range 30 {
		m := newMessage(c, us[0].ID, "spam number "+itoa(i))
		if i%3 == 0 {
			m.Content += " fizz"
		}
		ms = append(ms, m)
	}
	createMessages(t, s, ms...)
	newest := func(idx ...int) []snowflake.ID { return messageIDs(pick(ms, idx...)) }
	fizz := []int{27, 24, 21, 18, 15, 12, 9, 6, 3, 0}
	cases := []struct {
		name  string
		q     storage.SearchQuery
		want  []snowflake.ID
		total int
	}{
		{"limit 0 means 25", storage.SearchQuery{}, newest(29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14,
			13, 12, 11, 10, 9, 8, 7, 6, 5), 30},
		{"limit", storage.SearchQuery{Limit: 2}, newest(29, 28), 30},
		{"offset", storage.SearchQuery{Limit: 2, Offset: 2}, newest(27, 26), 30},
		{"last page", storage.SearchQuery{Limit: 25, Offset: 25}, newest(4, 3, 2, 1, 0), 30},
		{"past the end", storage.SearchQuery{Limit: 25, Offset: 40}, nil, 30},
		{"words, limit", storage.SearchQuery{Text: "fizz spam", Limit: 3}, newest(fizz[:3]...), 10},
		{"words, offset", storage.SearchQuery{Text: "fizz", Limit: 3, Offset: 8}, newest(fizz[8:]...), 10},
		{"words, past the end", storage.SearchQuery{Text: "fizz", Offset: 10}, nil, 10},
		{"nothing, offset", storage.SearchQuery{Text: "buzz", Offset: 10}, nil, 0},
	}
	for _, tc := range cases {
		q := tc.q
		q.ChannelIDs = []snowflake.ID{c.ID}
		got, total, err := s.SearchMessages(ctx, g.ID, q)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !equal(messageIDs(got), tc.want) || total != tc.total {
			t.Errorf("SearchMessages %s = %d results (total %d), want %d (total %d)", tc.name, len(got), total, len(tc.want), tc.total)
		}
	}
	// Pages of seven visit every match once.
	var seen []snowflake.ID
	for offset := 0; offset < 40; offset += 7 {
		page, total, err := s.SearchMessages(ctx, g.ID, storage.SearchQuery{Text: "spam", ChannelIDs: []snowflake.ID{c.ID},
			Limit: 7, Offset: offset})
		if err != nil || total != 30 {
			t.Fatalf("page at %d: total %d, %v", offset, total, err)
		}
		seen = append(seen, messageIDs(page)...)
	}
	all := make([]int, 30)
	for i := range all {
		all[i] = 29 - i
	}
	checkEqual(t, "paged search", seen, newest(all...))
}

// sortedRecipients sorts a channel's recipients: their order is not part of
// the contract.
func sortedRecipients(c storage.Channel) storage.Channel {
	c.Recipients = slices.Clone(c.Recipients)
	slices.Sort(c.Recipients)
	return c
}

func channelIDs(cs []storage.Channel) []snowflake.ID {
	out := make([]snowflake.ID, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func newDM(typ int, recipients ...snowflake.ID) storage.Channel {
	return storage.Channel{ID: ids.Next(), Type: typ, Recipients: recipients, CreatedAt: at(t0)}
}

func testDMChannels(t *testing.T, s storage.Store) {
	ctx := context.Background()
	us := createUsers(t, s, 5)
	u0, u1, u2, u3, u4 := us[0].ID, us[1].ID, us[2].ID, us[3].ID, us[4].ID
	dm := newDM(storage.ChannelDM, u1, u0)
	group := newDM(storage.ChannelGroupDM, u0, u1, u2)
	group.Name, group.Icon, group.OwnerID = "friends", "iconhash", u0
	// A group DM of the same two users is another channel, not their DM.
	pairGroup := newDM(storage.ChannelGroupDM, u0, u1)
	pairGroup.OwnerID = u1
	update(t, s, func(tx storage.Tx) error {
		return errors.Join(tx.CreateChannel(ctx, dm), tx.CreateChannel(ctx, group), tx.CreateChannel(ctx, pairGroup))
	})
	for _, want := range []storage.Channel{dm, group, pairGroup} {
		got, err := s.ChannelByID(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, "ChannelByID(DM)", sortedRecipients(got), sortedRecipients(want))
	}
	for _, pair := range [][2]snowflake.ID{{u0, u1}, {u1, u0}} {
		got, err := s.DMChannel(ctx, pair[0], pair[1])
		if err != nil {
			t.Fatalf("DMChannel(%v, %v): %v", pair[0], pair[1], err)
		}
		checkEqual(t, "DMChannel", sortedRecipients(got), sortedRecipients(dm))
	}
	_, err := s.DMChannel(ctx, u0, u2)
	wantErr(t, "DMChannel(no DM)", err, storage.ErrNotFound)
	for _, pair := range [][]snowflake.ID{{u0, u1}, {u1, u0}} {
		err := s.Update(ctx, func(tx storage.Tx) error { return tx.CreateChannel(ctx, newDM(storage.ChannelDM, pair...)) })
		wantErr(t, "second DM for a pair", err, storage.ErrConflict)
	}

	dmList := func(user snowflake.ID, want ...storage.Channel) {
		t.Helper()
		got, err := s.UserDMChannels(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		if !equal(channelIDs(got), channelIDs(want)) {
			t.Fatalf("UserDMChannels = %v, want %v", channelIDs(got), channelIDs(want))
		}
		for i := range want {
			checkEqual(t, "UserDMChannels", sortedRecipients(got[i]), sortedRecipients(want[i]))
		}
	}
	// The most recently active first: by last message, else by creation.
	dmList(u0, pairGroup, group, dm)
	dmList(u2, group)
	dmList(u3)
	m := newMessage(dm, u0, "hi")
	createMessages(t, s, m)
	dm.LastMessageID = m.ID
	dmList(u0, dm, pairGroup, group)
	dmList(u1, dm, pairGroup, group)
	later := newDM(storage.ChannelDM, u0, u4)
	update(t, s, func(tx storage.Tx) error { return tx.CreateChannel(ctx, later) })
	dmList(u0, later, dm, pairGroup, group)

	// A group DM's name, icon and owner change with UpdateChannel; its
	// recipients with SetRecipients only.
	group.Name, group.Icon, group.OwnerID = "pals", "", u1
	update(t, s, func(tx storage.Tx) error {
		c := group
		c.Recipients = []snowflake.ID{u4}
		return tx.UpdateChannel(ctx, storage.ScopeOf(c), c)
	})
	got, err := s.ChannelByID(ctx, group.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "after UpdateChannel", sortedRecipients(got), sortedRecipients(group))
	group.Recipients = []snowflake.ID{u3, u0}
	update(t, s, func(tx storage.Tx) error {
		return tx.SetRecipients(ctx, storage.ScopeOf(group), group.ID, group.Recipients)
	})
	if got, err := s.ChannelByID(ctx, group.ID); err != nil || !equal(sortedRecipients(got), sortedRecipients(group)) {
		t.Fatalf("after SetRecipients = %+v, %v", got, err)
	}
	dmList(u2)
	dmList(u3, group)
	ghost := ids.Next()
	err = s.Update(ctx, func(tx storage.Tx) error {
		return tx.SetRecipients(ctx, storage.InDM(ghost), ghost, []snowflake.ID{u0})
	})
	wantErr(t, "SetRecipients(unknown)", err, storage.ErrNotFound)

	// A 1:1 DM that changes hands is found by its new pair; a pair that
	// has a DM already cannot be given another.
	update(t, s, func(tx storage.Tx) error {
		return tx.SetRecipients(ctx, storage.ScopeOf(dm), dm.ID, []snowflake.ID{u2, u0})
	})
	_, err = s.DMChannel(ctx, u0, u1)
	wantErr(t, "DMChannel(old pair)", err, storage.ErrNotFound)
	if got, err := s.DMChannel(ctx, u2, u0); err != nil || got.ID != dm.ID {
		t.Fatalf("DMChannel(new pair) = %v, %v", got.ID, err)
	}
	err = s.Update(ctx, func(tx storage.Tx) error {
		return tx.SetRecipients(ctx, storage.ScopeOf(later), later.ID, []snowflake.ID{u0, u2})
	})
	wantErr(t, "SetRecipients(to a pair with a DM)", err, storage.ErrConflict)

	// Deleting a DM channel takes its recipients and frees its pair.
	update(t, s, func(tx storage.Tx) error { return tx.DeleteChannel(ctx, storage.ScopeOf(dm), dm.ID) })
	_, err = s.ChannelByID(ctx, dm.ID)
	wantErr(t, "ChannelByID(deleted DM)", err, storage.ErrNotFound)
	_, err = s.DMChannel(ctx, u0, u2)
	wantErr(t, "DMChannel(deleted)", err, storage.ErrNotFound)
	dmList(u2)
	update(t, s, func(tx storage.Tx) error { return tx.CreateChannel(ctx, newDM(storage.ChannelDM, u2, u0)) })

	// Guild channels have no recipients and are nobody's DMs.
	g := createGuild(t, s, "guild", false)
	c := newChannel(g.ID, "general", 0)
	update(t, s, func(tx storage.Tx) error { return tx.CreateChannel(ctx, c) })
	if got, err := s.ChannelByID(ctx, c.ID); err != nil || len(got.Recipients) != 0 || got.GuildID != g.ID {
		t.Fatalf("guild channel = %+v, %v", got, err)
	}
	if list, err := s.GuildChannels(ctx, g.ID); err != nil || len(list) != 1 {
		t.Fatalf("GuildChannels = %v, %v; DM channels are in no guild", channelIDs(list), err)
	}
}

func testDMMessages(t *testing.T, s storage.Store) {
	ctx := context.Background()
	us := createUsers(t, s, 2)
	dm := newDM(storage.ChannelDM, us[0].ID, us[1].ID)
	update(t, s, func(tx storage.Tx) error { return tx.CreateChannel(ctx, dm) })
	var ms []storage.Message
	for i := range 10 {
		m := newMessage(dm, us[i%2].ID, "dm "+itoa(i))
		if i == 4 {
			attach(&m, "photo.jpg")
		}
		ms = append(ms, m)
	}
	createMessages(t, s, ms...)
	got, err := s.Message(ctx, dm.ID, ms[4].ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.GuildID != 0 {
		t.Fatalf("DM message GuildID = %v, want 0", got.GuildID)
	}
	checkEqual(t, "DM message", got, ms[4])
	cases := []struct {
		name string
		q    storage.MessageQuery
		want []int
	}{
		{"newest", storage.MessageQuery{Limit: 3}, []int{9, 8, 7}},
		{"before", storage.MessageQuery{Before: ms[5].ID, Limit: 3}, []int{4, 3, 2}},
		{"after", storage.MessageQuery{After: ms[5].ID, Limit: 3}, []int{8, 7, 6}},
		{"around", storage.MessageQuery{Around: ms[5].ID, Limit: 3}, []int{6, 5, 4}},
	}
	for _, tc := range cases {
		got, err := s.Messages(ctx, dm.ID, tc.q)
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, "DM Messages "+tc.name, got, pick(ms, tc.want...))
	}
	c, err := s.ChannelByID(ctx, dm.ID)
	if err != nil || c.LastMessageID != ms[9].ID {
		t.Fatalf("DM channel LastMessageID = %v, %v; want %v", c.LastMessageID, err, ms[9].ID)
	}
	if n, err := storageDelete(s, storage.InDM(dm.ID), dm.ID, ms[9].ID); err != nil || n != 1 {
		t.Fatalf("DeleteMessages in a DM = %d, %v", n, err)
	}
	if got, _ := s.Messages(ctx, dm.ID, storage.MessageQuery{Limit: 1}); len(got) != 1 || got[0].ID != ms[8].ID {
		t.Fatalf("DM history after deleting the newest = %v", messageIDs(got))
	}
}

// storageDelete deletes messages in a transaction of its own.
func storageDelete(s storage.Store, scope storage.Scope, channelID snowflake.ID, ids ...snowflake.ID) (int, error) {
	var n int
	err := s.Update(context.Background(), func(tx storage.Tx) error {
		var err error
		n, err = tx.DeleteMessages(context.Background(), scope, channelID, ids)
		return err
	})
	return n, err
}

// testAppendEventsBatch: a batch spanning two logs gets consecutive numbers
// per log, continuing after single appends, and the whole batch rolls back
// with its transaction.
func testAppendEventsBatch(t *testing.T, s storage.Store) {
	ctx := context.Background()
	a, b := ids.Next(), ids.Next()
	appendN(t, s, a, 2)
	batch := []storage.Event{
		{LogID: a, Type: "A3", Payload: []byte(`{}`)}, {LogID: a, Type: "A4", Payload: []byte(`{}`)},
		{LogID: b, Type: "B1", Payload: []byte(`{}`)}, {LogID: a, Type: "A5", Payload: []byte(`{}`)},
	}
	var out []storage.Event
	update(t, s, func(tx storage.Tx) error {
		var err error
		out, err = tx.AppendEvents(ctx, batch)
		return err
	})
	want := map[string]int64{"A3": 3, "A4": 4, "B1": 1, "A5": 5}
	if len(out) != 4 {
		t.Fatalf("AppendEvents returned %d events", len(out))
	}
	for _, e := range out {
		if e.Seq != want[e.Type] {
			t.Fatalf("%s got seq %d, want %d", e.Type, e.Seq, want[e.Type])
		}
	}
	evs, _ := s.Events(ctx, a, 0, 10)
	if len(evs) != 5 || evs[4].Type != "A5" || evs[2].Type != "A3" {
		t.Fatalf("log a = %+v", evs)
	}
	err := s.Update(ctx, func(tx storage.Tx) error {
		if _, err := tx.AppendEvents(ctx, batch[:2]); err != nil {
			return err
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatal(err)
	}
	if head, _ := s.LogHead(ctx, a); head != 5 {
		t.Fatalf("head after rolled-back batch = %d, want 5", head)
	}
}

// testCreateMessagesBatch: several messages over two channels, with
// attachments, in one call: all stored, attachments on the right messages,
// each channel's last message the newest of its own.
func testCreateMessagesBatch(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g, c1, users := messageFixture(t, s, 1)
	c2 := newChannel(g.ID, "second", 1)
	update(t, s, func(tx storage.Tx) error { return tx.CreateChannel(ctx, c2) })
	m1, m2, m3 := newMessage(c1, users[0].ID, "one"), newMessage(c2, users[0].ID, "two"), newMessage(c1, users[0].ID, "three")
	attach(&m1, "a.png")
	attach(&m3, "b.png")
	attach(&m3, "c.png")
	update(t, s, func(tx storage.Tx) error {
		return tx.CreateMessages(ctx, storage.InGuild(g.ID), []storage.Message{m1, m2, m3})
	})
	page, err := s.Messages(ctx, c1.ID, storage.MessageQuery{Limit: 10})
	if err != nil || len(page) != 2 || page[0].ID != m3.ID || len(page[0].Attachments) != 2 || len(page[1].Attachments) != 1 {
		t.Fatalf("channel 1 = %+v, %v", page, err)
	}
	if got, _ := s.ChannelByID(ctx, c1.ID); got.LastMessageID != m3.ID {
		t.Fatalf("channel 1 last message %d, want %d", got.LastMessageID, m3.ID)
	}
	if got, _ := s.ChannelByID(ctx, c2.ID); got.LastMessageID != m2.ID {
		t.Fatalf("channel 2 last message %d, want %d", got.LastMessageID, m2.ID)
	}
	update(t, s, func(tx storage.Tx) error { return tx.CreateMessages(ctx, storage.InGuild(g.ID), nil) })
}

// Thread tests. A thread is a channel of a thread type whose ParentID is the
// channel it lives in and whose OwnerID is who started it.

// threadFixture creates a guild with a text channel to start threads in, and
// n users.
func threadFixture(t *testing.T, s storage.Store, n int) (storage.Guild, storage.Channel, []storage.User) {
	t.Helper()
	g := createGuild(t, s, Name("threads"), false)
	parent := newChannel(g.ID, "general", 0)
	update(t, s, func(tx storage.Tx) error { return tx.CreateChannel(context.Background(), parent) })
	return g, parent, createUsers(t, s, n)
}

// ObjectCounts counts one guild's channels, threads (archived ones
// too), roles and custom emoji (animated ones too), and nothing of another
// guild: a replica's bound on them reads it (spec/federation.md §14,
// "Bounded peer state").
func testObjectCounts(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g, parent, us := threadFixture(t, s, 1)
	other, otherParent, _ := threadFixture(t, s, 1)
	open := newThread(parent, 11, us[0].ID, "open")
	archived := newThread(parent, 12, us[0].ID, "archived")
	archived.Thread.Archived = true
	createChannels(t, s, newChannel(g.ID, "second", 1), open, archived, newThread(otherParent, 11, us[0].ID, "elsewhere"))
	update(t, s, func(tx storage.Tx) error { return tx.CreateRole(ctx, newRole(g.ID, "mods", 1)) })
	update(t, s, func(tx storage.Tx) error {
		for _, e := range []storage.Emoji{
			{ID: ids.Next(), GuildID: g.ID, UserID: us[0].ID, Name: "blob", Hash: "h1", Available: true, CreatedAt: time.Now()},
			{ID: ids.Next(), GuildID: g.ID, UserID: us[0].ID, Name: "party", Animated: true, Hash: "h2", Available: true, CreatedAt: time.Now()},
			{ID: ids.Next(), GuildID: other.ID, UserID: us[0].ID, Name: "x", Hash: "h3", Available: true, CreatedAt: time.Now()},
		} {
			if err := tx.CreateEmoji(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	want := storage.ObjectCounts{Channels: 2, Threads: 2, Roles: 2, Emojis: 2}
	if got, err := s.ObjectCounts(ctx, g.ID); err != nil || got != want {
		t.Fatalf("ObjectCounts = %+v, %v; want %+v", got, err, want)
	}
	want = storage.ObjectCounts{Channels: 1, Threads: 1, Roles: 1, Emojis: 1}
	if got, err := s.ObjectCounts(ctx, other.ID); err != nil || got != want {
		t.Fatalf("ObjectCounts of the other guild = %+v, %v; want %+v", got, err, want)
	}
	if got, err := s.ObjectCounts(ctx, ids.Next()); err != nil || got != (storage.ObjectCounts{}) {
		t.Fatalf("ObjectCounts of no guild = %+v, %v; want zeros", got, err)
	}
}

// newThread describes a thread of parent, as the homeserver would start it:
// unarchived, archiving after a day, its archive time its creation.
func newThread(parent storage.Channel, typ int, owner snowflake.ID, name string) storage.Channel {
	return storage.Channel{
		ID: ids.Next(), GuildID: parent.GuildID, Type: typ, Name: name, ParentID: parent.ID, OwnerID: owner,
		CreatedAt: at(t0 + 1),
		Thread:    &storage.ThreadMeta{AutoArchive: 1440, ArchivedAt: at(t0 + 1)},
	}
}

func createChannels(t *testing.T, s storage.Store, cs ...storage.Channel) {
	t.Helper()
	update(t, s, func(tx storage.Tx) error {
		for _, c := range cs {
			if err := tx.CreateChannel(context.Background(), c); err != nil {
				return err
			}
		}
		return nil
	})
}

// checkChannels compares channel lists, overwrites in any order.
func checkChannels(t *testing.T, what string, got []storage.Channel, err error, want ...storage.Channel) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !equal(channelIDs(got), channelIDs(want)) {
		t.Fatalf("%s = %v, want %v", what, channelIDs(got), channelIDs(want))
	}
	for i := range want {
		checkEqual(t, what+"["+itoa(i)+"]", sortedOverwrites(got[i]), sortedOverwrites(want[i]))
	}
}

// testThreads: threads of each type round-trip through ChannelByID with
// their ThreadMeta, other channels read without one, GuildChannels leaves
// threads out and ActiveThreads lists a guild's unarchived ones.
func testThreads(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g, text, us := threadFixture(t, s, 2)
	other, otherText, _ := threadFixture(t, s, 0)
	category := newChannel(g.ID, "Text", 0)
	category.Type = 4
	news := newChannel(g.ID, "news", 2)
	news.Type, news.ParentID = 5, category.ID
	createChannels(t, s, category, news)

	public := newThread(text, storage.ChannelPublicThread, us[0].ID, "public")
	public.RateLimitPerUser = 30
	private := newThread(text, storage.ChannelPrivateThread, us[1].ID, "private")
	private.Thread = &storage.ThreadMeta{Locked: true, Invitable: true, AutoArchive: 60, ArchivedAt: at(t0 + 2)}
	// Overwrites are stored for threads as for any channel.
	private.Overwrites = []storage.Overwrite{{TargetID: us[0].ID, Type: storage.OverwriteMember, Allow: 0x400}}
	announcement := newThread(news, storage.ChannelAnnouncementThread, us[0].ID, "announcement")
	announcement.Thread.AutoArchive = 10080
	// Created archived, as a thread mirrored from another server may be.
	archived := newThread(text, storage.ChannelPublicThread, us[0].ID, "archived")
	archived.Thread = &storage.ThreadMeta{Archived: true, Locked: true, AutoArchive: 4320, ArchivedAt: at(t0 + 3)}
	// Without ThreadMeta a thread gets the zero one.
	bare := newThread(text, storage.ChannelPublicThread, us[1].ID, "bare")
	bare.Thread = nil
	elsewhere := newThread(otherText, storage.ChannelPublicThread, us[0].ID, "elsewhere")
	createChannels(t, s, public, private, announcement, archived, bare, elsewhere)
	bare.Thread = &storage.ThreadMeta{}

	cases := []struct {
		name string
		want storage.Channel
	}{
		{"public thread", public},
		{"private thread", private},
		{"announcement thread", announcement},
		{"archived thread", archived},
		{"thread created without meta", bare},
		{"other guild's thread", elsewhere},
		// Channels of other types have no ThreadMeta.
		{"text channel", text},
		{"category", category},
		{"announcement channel", news},
	}
	for _, tc := range cases {
		got, err := s.ChannelByID(ctx, tc.want.ID)
		if err != nil {
			t.Fatalf("ChannelByID(%s): %v", tc.name, err)
		}
		checkEqual(t, "ChannelByID("+tc.name+")", sortedOverwrites(got), sortedOverwrites(tc.want))
		if (got.Thread != nil) != storage.IsThread(got.Type) {
			t.Fatalf("ChannelByID(%s).Thread = %+v for type %d", tc.name, got.Thread, got.Type)
		}
	}
	// Reads inside a transaction see a thread as reads outside do.
	update(t, s, func(tx storage.Tx) error {
		got, err := tx.ChannelByID(ctx, private.ID)
		if err != nil {
			return err
		}
		checkEqual(t, "ChannelByID in tx", sortedOverwrites(got), sortedOverwrites(private))
		return nil
	})

	list, err := s.GuildChannels(ctx, g.ID)
	checkChannels(t, "GuildChannels", list, err, text, category, news)
	list, err = s.GuildChannels(ctx, other.ID)
	checkChannels(t, "GuildChannels(other)", list, err, otherText)

	list, err = s.ActiveThreads(ctx, g.ID)
	checkChannels(t, "ActiveThreads", list, err, public, private, announcement, bare)
	list, err = s.ActiveThreads(ctx, other.ID)
	checkChannels(t, "ActiveThreads(other)", list, err, elsewhere)
	list, err = s.ActiveThreads(ctx, ids.Next())
	checkChannels(t, "ActiveThreads(unknown)", list, err)

	// Threads are nobody's DMs.
	if dms, err := s.UserDMChannels(ctx, us[0].ID); err != nil || len(dms) != 0 {
		t.Fatalf("UserDMChannels = %v, %v", channelIDs(dms), err)
	}
}

// testUpdateThread: UpdateChannel writes the ThreadMeta when it is given
// and leaves it when it is not.
func testUpdateThread(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g, text, us := threadFixture(t, s, 2)
	th := newThread(text, storage.ChannelPublicThread, us[0].ID, "thread")
	th.Thread.Invitable = true
	createChannels(t, s, th)
	check := func(what string, want storage.Channel) {
		t.Helper()
		got, err := s.ChannelByID(ctx, want.ID)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		checkEqual(t, what, got, want)
	}

	steps := []struct {
		name   string
		change func(c *storage.Channel)
	}{
		{"archive", func(c *storage.Channel) { c.Thread.Archived, c.Thread.ArchivedAt = true, at(t0+100) }},
		{"lock", func(c *storage.Channel) { c.Thread.Locked = true }},
		{"unarchive", func(c *storage.Channel) { c.Thread.Archived, c.Thread.ArchivedAt = false, at(t0+200) }},
		{"auto archive and invitable", func(c *storage.Channel) { c.Thread.AutoArchive, c.Thread.Invitable = 60, false }},
		{"rename and slowmode", func(c *storage.Channel) { c.Name, c.RateLimitPerUser = "renamed", 5 }},
		{"unlock, no archive time", func(c *storage.Channel) { c.Thread.Locked, c.Thread.ArchivedAt = false, time.Time{} }},
	}
	for _, step := range steps {
		meta := *th.Thread
		th.Thread = &meta
		step.change(&th)
		update(t, s, func(tx storage.Tx) error { return tx.UpdateChannel(ctx, storage.ScopeOf(th), th) })
		check("after "+step.name, th)
	}

	// An update without ThreadMeta leaves the thread columns as they are.
	th.Thread = &storage.ThreadMeta{Archived: true, Locked: true, AutoArchive: 4320, ArchivedAt: at(t0 + 300)}
	update(t, s, func(tx storage.Tx) error { return tx.UpdateChannel(ctx, storage.ScopeOf(th), th) })
	blind := th
	blind.Name, blind.Thread = "blind", nil
	update(t, s, func(tx storage.Tx) error { return tx.UpdateChannel(ctx, storage.ScopeOf(blind), blind) })
	th.Name = "blind"
	check("after an update without ThreadMeta", th)
	if list, err := s.ActiveThreads(ctx, g.ID); err != nil || len(list) != 0 {
		t.Fatalf("ActiveThreads of an archived thread = %v, %v", channelIDs(list), err)
	}
}

// testArchivedThreads: a parent's archived threads, most recently archived
// first (ID breaking ties), filtered by type, bounded by archive time and
// limited.
func testArchivedThreads(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g, text, us := threadFixture(t, s, 1)
	otherParent := newChannel(g.ID, "other", 1)
	createChannels(t, s, otherParent)
	const pub, priv = storage.ChannelPublicThread, storage.ChannelPrivateThread
	// Thread i is archived at archivedAt[i]; 0 stays active.
	specs := []struct {
		typ        int
		archivedAt int64
	}{
		{pub, t0 + 50},
		{priv, t0 + 40},
		{pub, t0 + 60},
		{priv, t0 + 60}, // the same millisecond as 2: the larger ID first
		{pub, 0},
		{pub, t0 + 10},
		{priv, t0 + 70},
	}
	threads := make([]storage.Channel, len(specs))
	for i, sp := range specs {
		threads[i] = newThread(text, sp.typ, us[0].ID, "thread "+itoa(i))
	}
	elsewhere := newThread(otherParent, pub, us[0].ID, "elsewhere")
	createChannels(t, s, append(threads, elsewhere)...)
	archive := func(c *storage.Channel, when int64) {
		t.Helper()
		meta := *c.Thread
		meta.Archived, meta.ArchivedAt = true, at(when)
		c.Thread = &meta
		update(t, s, func(tx storage.Tx) error { return tx.UpdateChannel(ctx, storage.ScopeOf(*c), *c) })
	}
	for i, sp := range specs {
		if sp.archivedAt != 0 {
			archive(&threads[i], sp.archivedAt)
		}
	}
	archive(&elsewhere, t0+55)
	// Unarchived again: its archive time is recent, but it is active.
	archive(&threads[4], t0+80)
	threads[4].Thread = &storage.ThreadMeta{AutoArchive: 1440, ArchivedAt: at(t0 + 90)}
	update(t, s, func(tx storage.Tx) error { return tx.UpdateChannel(ctx, storage.ScopeOf(threads[4]), threads[4]) })

	list, err := s.ActiveThreads(ctx, g.ID)
	checkChannels(t, "ActiveThreads", list, err, threads[4])

	both := []int{pub, priv}
	cases := []struct {
		name   string
		parent snowflake.ID
		types  []int
		before int64
		limit  int
		want   []int // indexes of threads; -1 is elsewhere
	}{
		{"all", text.ID, both, 0, 0, []int{6, 3, 2, 0, 1, 5}},
		{"types in any order", text.ID, []int{priv, pub}, 0, 100, []int{6, 3, 2, 0, 1, 5}},
		{"public", text.ID, []int{pub}, 0, 0, []int{2, 0, 5}},
		{"private", text.ID, []int{priv}, 0, 0, []int{6, 3, 1}},
		{"announcement", text.ID, []int{storage.ChannelAnnouncementThread}, 0, 0, nil},
		{"no types", text.ID, nil, 0, 0, nil},
		{"limit", text.ID, both, 0, 2, []int{6, 3}},
		{"limit splits a tie", text.ID, both, 0, 3, []int{6, 3, 2}},
		{"before is exclusive", text.ID, both, t0 + 60, 0, []int{0, 1, 5}},
		{"before, limit", text.ID, both, t0 + 61, 2, []int{3, 2}},
		{"before, public", text.ID, []int{pub}, t0 + 50, 0, []int{5}},
		{"before all", text.ID, both, t0 + 10, 0, nil},
		{"other parent", otherParent.ID, both, 0, 0, []int{-1}},
		{"unknown parent", ids.Next(), both, 0, 0, nil},
	}
	for _, tc := range cases {
		var before time.Time
		if tc.before != 0 {
			before = at(tc.before)
		}
		got, err := s.ArchivedThreads(ctx, tc.parent, tc.types, before, tc.limit)
		var want []storage.Channel
		for _, i := range tc.want {
			if i < 0 {
				want = append(want, elsewhere)
			} else {
				want = append(want, threads[i])
			}
		}
		checkChannels(t, "ArchivedThreads("+tc.name+")", got, err, want...)
	}

	// Pages follow on from the last archive time; the limit defaults to 50.
	var many []storage.Channel
	for i := range 55 {
		c := newThread(otherParent, priv, us[0].ID, "many "+itoa(i))
		c.Thread = &storage.ThreadMeta{Archived: true, ArchivedAt: at(t0 + 1000 + int64(i))}
		many = append(many, c)
	}
	createChannels(t, s, many...)
	got, err := s.ArchivedThreads(ctx, otherParent.ID, []int{priv}, time.Time{}, 0)
	if err != nil || len(got) != 50 || got[0].ID != many[54].ID || got[49].ID != many[5].ID {
		t.Fatalf("ArchivedThreads(limit 0) = %d threads, %v; want the newest 50", len(got), err)
	}
	got, err = s.ArchivedThreads(ctx, otherParent.ID, []int{priv}, got[49].Thread.ArchivedAt, -1)
	checkChannels(t, "ArchivedThreads(next page)", got, err, many[4], many[3], many[2], many[1], many[0])
}

// testThreadMembers: members are listed by user ID; a repeated join is
// ErrConflict and leaves the transaction usable, on PostgreSQL too, where a
// failed statement would abort it.
func testThreadMembers(t *testing.T, s storage.Store) {
	ctx := context.Background()
	_, text, us := threadFixture(t, s, 4)
	u0, u1, u2, u3 := us[0].ID, us[1].ID, us[2].ID, us[3].ID
	th := newThread(text, storage.ChannelPrivateThread, u0, "private")
	second := newThread(text, storage.ChannelPublicThread, u1, "public")
	createChannels(t, s, th, second)
	member := func(thread, user snowflake.ID, joined int64, flags int) storage.ThreadMember {
		return storage.ThreadMember{ThreadID: thread, UserID: user, JoinedAt: at(joined), Flags: flags}
	}
	m0, m1, m2 := member(th.ID, u0, t0+1, 0), member(th.ID, u1, t0+2, 1), member(th.ID, u2, t0+3, 8)
	update(t, s, func(tx storage.Tx) error {
		return errors.Join(tx.AddThreadMember(ctx, storage.ScopeOf(text), m2), tx.AddThreadMember(ctx, storage.ScopeOf(text), m0), tx.AddThreadMember(ctx, storage.ScopeOf(text), m1),
			tx.AddThreadMember(ctx, storage.ScopeOf(text), member(second.ID, u0, t0+4, 2)))
	})
	list := func(thread snowflake.ID, want ...storage.ThreadMember) {
		t.Helper()
		got, err := s.ThreadMembers(ctx, thread)
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, "ThreadMembers", got, want)
	}
	list(th.ID, m0, m1, m2)
	list(second.ID, member(second.ID, u0, t0+4, 2))
	list(ids.Next())
	for _, want := range []storage.ThreadMember{m0, m1, m2} {
		got, err := s.ThreadMember(ctx, th.ID, want.UserID)
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, "ThreadMember", got, want)
	}

	notFound := []struct {
		name string
		fn   func(tx storage.Tx) error
	}{
		{"ThreadMember(not a member)", func(tx storage.Tx) error { _, err := tx.ThreadMember(ctx, th.ID, u3); return err }},
		{"ThreadMember(unknown thread)", func(tx storage.Tx) error { _, err := tx.ThreadMember(ctx, ids.Next(), u0); return err }},
		{"RemoveThreadMember(not a member)", func(tx storage.Tx) error { return tx.RemoveThreadMember(ctx, storage.ScopeOf(text), th.ID, u3) }},
		{"RemoveThreadMember(unknown thread)", func(tx storage.Tx) error { return tx.RemoveThreadMember(ctx, storage.ScopeOf(text), ids.Next(), u0) }},
	}
	for _, tc := range notFound {
		wantErr(t, tc.name, s.Update(ctx, tc.fn), storage.ErrNotFound)
	}

	// A repeated join is ErrConflict, keeps the first join as it was, and
	// the transaction goes on to commit its other writes.
	m3 := member(th.ID, u3, t0+9, 0)
	msg := newMessage(th, u3, "joined")
	update(t, s, func(tx storage.Tx) error {
		wantErr(t, "AddThreadMember(again)", tx.AddThreadMember(ctx, storage.ScopeOf(text), member(th.ID, u1, t0+50, 4)), storage.ErrConflict)
		if err := tx.AddThreadMember(ctx, storage.ScopeOf(text), m3); err != nil {
			return err
		}
		return tx.CreateMessage(ctx, scopeOfMessage(msg), msg)
	})
	list(th.ID, m0, m1, m2, m3)
	if _, err := s.Message(ctx, th.ID, msg.ID); err != nil {
		t.Fatalf("message written after the conflict: %v", err)
	}
	err := s.Update(ctx, func(tx storage.Tx) error { return tx.AddThreadMember(ctx, storage.ScopeOf(text), m0) })
	wantErr(t, "AddThreadMember(again, alone)", err, storage.ErrConflict)

	update(t, s, func(tx storage.Tx) error { return tx.RemoveThreadMember(ctx, storage.ScopeOf(text), th.ID, u1) })
	list(th.ID, m0, m2, m3)
	_, err = s.ThreadMember(ctx, th.ID, u1)
	wantErr(t, "ThreadMember(removed)", err, storage.ErrNotFound)
	err = s.Update(ctx, func(tx storage.Tx) error { return tx.RemoveThreadMember(ctx, storage.ScopeOf(text), th.ID, u1) })
	wantErr(t, "RemoveThreadMember(again)", err, storage.ErrNotFound)
	// Removing from one thread leaves the user's other memberships.
	list(second.ID, member(second.ID, u0, t0+4, 2))
	// And a removed member may join again.
	update(t, s, func(tx storage.Tx) error {
		return tx.AddThreadMember(ctx, storage.ScopeOf(text), member(th.ID, u1, t0+60, 0))
	})
	list(th.ID, m0, member(th.ID, u1, t0+60, 0), m2, m3)
}

// testThreadMessages: messages are sent to a thread as to any channel, and
// ThreadMessageCount counts them.
func testThreadMessages(t *testing.T, s storage.Store) {
	ctx := context.Background()
	_, text, us := threadFixture(t, s, 2)
	th := newThread(text, storage.ChannelPublicThread, us[0].ID, "thread")
	empty := newThread(text, storage.ChannelPublicThread, us[0].ID, "empty")
	createChannels(t, s, th, empty)
	var msgs []storage.Message
	for i := range 5 {
		m := newMessage(th, us[i%2].ID, "in thread "+itoa(i))
		if i == 2 {
			attach(&m, "thread.png")
		}
		msgs = append(msgs, m)
	}
	createMessages(t, s, msgs...)
	createMessages(t, s, newMessage(text, us[0].ID, "in parent"))
	count := func(what string, thread snowflake.ID, want int) {
		t.Helper()
		if n, err := s.ThreadMessageCount(ctx, thread); err != nil || n != want {
			t.Fatalf("ThreadMessageCount(%s) = %d, %v; want %d", what, n, err, want)
		}
	}
	count("thread", th.ID, 5)
	count("empty thread", empty.ID, 0)
	count("unknown", ids.Next(), 0)

	got, err := s.Messages(ctx, th.ID, storage.MessageQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "thread history", got, pick(msgs, 4, 3, 2, 1, 0))
	if c, err := s.ChannelByID(ctx, th.ID); err != nil || c.LastMessageID != msgs[4].ID || c.Thread == nil {
		t.Fatalf("thread after messages = %+v, %v; want LastMessageID %v", c, err, msgs[4].ID)
	}
	// A thread created and written in the same transaction.
	update(t, s, func(tx storage.Tx) error {
		if n, err := tx.ThreadMessageCount(ctx, th.ID); err != nil || n != 5 {
			t.Errorf("ThreadMessageCount in tx = %d, %v", n, err)
		}
		if err := tx.CreateMessage(ctx, storage.ScopeOf(empty), newMessage(empty, us[1].ID, "first")); err != nil {
			return err
		}
		n, err := tx.ThreadMessageCount(ctx, empty.ID)
		if err == nil && n != 1 {
			t.Errorf("ThreadMessageCount in tx after a message = %d, want 1", n)
		}
		return err
	})
	if n, err := storageDelete(s, storage.ScopeOf(th), th.ID, msgs[0].ID, msgs[2].ID); err != nil || n != 2 {
		t.Fatalf("DeleteMessages in a thread = %d, %v", n, err)
	}
	count("thread after deletes", th.ID, 3)
	count("empty thread after a message", empty.ID, 1)
}

// testDeleteChannelThreads: deleting a channel deletes its threads, with
// their members and messages, and nothing else that names it as parent;
// deleting a category leaves its channels.
func testDeleteChannelThreads(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g, text, us := threadFixture(t, s, 2)
	category := newChannel(g.ID, "Text", 0)
	category.Type = 4
	child := newChannel(g.ID, "child", 1)
	child.ParentID = category.ID
	kept := newChannel(g.ID, "kept", 2)
	createChannels(t, s, category, child, kept)
	doomed := []storage.Channel{
		newThread(text, storage.ChannelPublicThread, us[0].ID, "public"),
		newThread(text, storage.ChannelPrivateThread, us[1].ID, "private"),
	}
	doomed[1].Thread.Archived = true
	keptThread := newThread(kept, storage.ChannelPublicThread, us[0].ID, "kept thread")
	childThread := newThread(child, storage.ChannelPublicThread, us[0].ID, "child thread")
	createChannels(t, s, append(doomed, keptThread, childThread)...)
	var msgs []storage.Message
	update(t, s, func(tx storage.Tx) error {
		for _, c := range append(doomed, keptThread) {
			for _, u := range us {
				err := tx.AddThreadMember(ctx, storage.ScopeOf(c), storage.ThreadMember{ThreadID: c.ID, UserID: u.ID, JoinedAt: at(t0)})
				if err != nil {
					return err
				}
			}
			m := newMessage(c, us[0].ID, "hello "+c.Name)
			msgs = append(msgs, m)
			if err := tx.CreateMessage(ctx, scopeOfMessage(m), m); err != nil {
				return err
			}
		}
		return nil
	})
	keptThread.LastMessageID = msgs[2].ID

	update(t, s, func(tx storage.Tx) error { return tx.DeleteChannel(ctx, storage.ScopeOf(text), text.ID) })
	for _, c := range append([]storage.Channel{text}, doomed...) {
		_, err := s.ChannelByID(ctx, c.ID)
		wantErr(t, "ChannelByID("+c.Name+") after deleting the parent", err, storage.ErrNotFound)
	}
	for i, c := range doomed {
		if ms, err := s.ThreadMembers(ctx, c.ID); err != nil || len(ms) != 0 {
			t.Fatalf("ThreadMembers(%s) after deleting the parent = %+v, %v", c.Name, ms, err)
		}
		_, err := s.ThreadMember(ctx, c.ID, us[0].ID)
		wantErr(t, "ThreadMember after deleting the parent", err, storage.ErrNotFound)
		_, err = s.Message(ctx, c.ID, msgs[i].ID)
		wantErr(t, "Message in a deleted thread", err, storage.ErrNotFound)
		if n, err := s.ThreadMessageCount(ctx, c.ID); err != nil || n != 0 {
			t.Fatalf("ThreadMessageCount(%s) after deleting the parent = %d, %v", c.Name, n, err)
		}
	}
	got, err := s.ArchivedThreads(ctx, text.ID, []int{storage.ChannelPrivateThread}, time.Time{}, 0)
	checkChannels(t, "ArchivedThreads of the deleted parent", got, err)
	got, err = s.ActiveThreads(ctx, g.ID)
	checkChannels(t, "ActiveThreads after deleting a parent", got, err, keptThread, childThread)
	if ms, err := s.ThreadMembers(ctx, keptThread.ID); err != nil || len(ms) != 2 {
		t.Fatalf("another thread's members = %+v, %v", ms, err)
	}
	if n, err := s.ThreadMessageCount(ctx, keptThread.ID); err != nil || n != 1 {
		t.Fatalf("another thread's messages = %d, %v", n, err)
	}

	// Creating a thread again with the same ID proves its members went with
	// it rather than being hidden.
	createChannels(t, s, doomed[0])
	if ms, err := s.ThreadMembers(ctx, doomed[0].ID); err != nil || len(ms) != 0 {
		t.Fatalf("re-created thread's members = %+v, %v", ms, err)
	}

	// A category's channels have it as parent_id too, and stay.
	update(t, s, func(tx storage.Tx) error { return tx.DeleteChannel(ctx, storage.ScopeOf(category), category.ID) })
	if c, err := s.ChannelByID(ctx, child.ID); err != nil || c.ParentID != category.ID {
		t.Fatalf("category's channel after deleting the category = %+v, %v", c, err)
	}
	if _, err := s.ChannelByID(ctx, childThread.ID); err != nil {
		t.Fatalf("the category's channel's thread after deleting the category: %v", err)
	}
	list, err := s.GuildChannels(ctx, g.ID)
	checkChannels(t, "GuildChannels after deleting the category", list, err, child, kept)
	err = s.Update(ctx, func(tx storage.Tx) error { return tx.DeleteChannel(ctx, storage.ScopeOf(text), text.ID) })
	wantErr(t, "DeleteChannel(deleted parent)", err, storage.ErrNotFound)

	// Deleting the guild deletes its threads and their members.
	update(t, s, func(tx storage.Tx) error { return tx.DeleteGuild(ctx, g.ID) })
	_, err = s.ChannelByID(ctx, keptThread.ID)
	wantErr(t, "ChannelByID(thread) after DeleteGuild", err, storage.ErrNotFound)
	if ms, err := s.ThreadMembers(ctx, keptThread.ID); err != nil || len(ms) != 0 {
		t.Fatalf("ThreadMembers after DeleteGuild = %+v, %v", ms, err)
	}
	got, err = s.ActiveThreads(ctx, g.ID)
	checkChannels(t, "ActiveThreads after DeleteGuild", got, err)
}

// testAuthorMessages: one author's messages of a guild after an ID, oldest
// first, across channels, and nobody else's.
func testAuthorMessages(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g, c1, users := messageFixture(t, s, 2)
	c2 := newChannel(g.ID, "other", 1)
	update(t, s, func(tx storage.Tx) error { return tx.CreateChannel(ctx, c2) })
	old := newMessage(c1, users[0].ID, "old")
	mine1, theirs, mine2 := newMessage(c1, users[0].ID, "a"), newMessage(c1, users[1].ID, "b"), newMessage(c2, users[0].ID, "c")
	createMessages(t, s, old, mine1, theirs, mine2)
	refs, err := s.AuthorMessages(ctx, g.ID, users[0].ID, old.ID, 10)
	if err != nil || len(refs) != 2 || refs[0].ID != mine1.ID || refs[1].ID != mine2.ID || refs[1].ChannelID != c2.ID {
		t.Fatalf("AuthorMessages = %+v, %v", refs, err)
	}
	if refs, _ := s.AuthorMessages(ctx, g.ID, users[0].ID, 0, 1); len(refs) != 1 || refs[0].ID != old.ID {
		t.Fatalf("limit 1 = %+v", refs)
	}
}

// testIdleThreads: a thread whose last activity is older than its
// auto-archive duration is idle; a recent one, an archived one and one
// with a recent message are not.
func testIdleThreads(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g, parent, users := messageFixture(t, s, 1)
	now := time.Now()
	thread := func(age time.Duration, archived bool) storage.Channel {
		id := snowflake.FromTime(now.Add(-age)) | snowflake.ID(ids.Next()&0x3FFFFF)
		return storage.Channel{ID: id, GuildID: g.ID, Type: storage.ChannelPublicThread, Name: "t", ParentID: parent.ID,
			OwnerID: users[0].ID, CreatedAt: now.Add(-age), Thread: &storage.ThreadMeta{AutoArchive: 60, Archived: archived}}
	}
	stale, fresh, archived, revived := thread(2*time.Hour, false), thread(10*time.Minute, false), thread(3*time.Hour, true), thread(2*time.Hour, false)
	update(t, s, func(tx storage.Tx) error {
		for _, c := range []storage.Channel{stale, fresh, archived, revived} {
			if err := tx.CreateChannel(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	createMessages(t, s, newMessage(revived, users[0].ID, "still here"))
	idle, err := s.IdleThreads(ctx, now, 10)
	if err != nil || len(idle) != 1 || idle[0].ID != stale.ID || idle[0].Thread == nil {
		t.Fatalf("IdleThreads = %+v, %v", idle, err)
	}
	// The threads of a replica guild are its origin's to archive.
	update(t, s, func(tx storage.Tx) error {
		return tx.SetReplica(ctx, storage.Replica{LogID: g.ID, Origin: "origin.example", Seq: 1})
	})
	if idle, err := s.IdleThreads(ctx, now, 10); err != nil || len(idle) != 0 {
		t.Fatalf("IdleThreads of a replica = %+v, %v", idle, err)
	}
}

// testSearchManyMatches: a word in thousands of messages (past the point
// where PostgreSQL's search switches strategy) still pages newest first,
// with the right total, at the start and at the end of the list.
func testSearchManyMatches(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g, c, users := messageFixture(t, s, 1)
	const n = storage.SearchCountMax + 100
	var ms []storage.Message
	for i := 0; i < n; i++ {
		content := "a common word"
		if i%2550 == 0 {
			content = "a common and rare word"
		}
		ms = append(ms, newMessage(c, users[0].ID, content))
	}
	update(t, s, func(tx storage.Tx) error { return tx.CreateMessages(ctx, storage.InGuild(g.ID), ms) })
	check := func(when string) {
		t.Helper()
		page, total, err := s.SearchMessages(ctx, g.ID, storage.SearchQuery{Text: "common", ChannelIDs: []snowflake.ID{c.ID}, Limit: 25})
		// Past a few hundred matches a total may be an estimate: it is at
		// least the page's end and at most SearchCountMax.
		if err != nil || total < 26 || total > storage.SearchCountMax || len(page) != 25 || page[0].ID != ms[n-1].ID || page[24].ID != ms[n-25].ID {
			t.Fatalf("%s: first page: %d results, total %d, %v", when, len(page), total, err)
		}
		tail, total, err := s.SearchMessages(ctx, g.ID, storage.SearchQuery{Text: "common", ChannelIDs: []snowflake.ID{c.ID}, Limit: 25, Offset: n - 10})
		if err != nil || total != n || len(tail) != 10 || tail[9].ID != ms[0].ID {
			t.Fatalf("%s: last page: %d results, total %d, %v", when, len(tail), total, err)
		}
		rare, total, err := s.SearchMessages(ctx, g.ID, storage.SearchQuery{Text: "rare common", ChannelIDs: []snowflake.ID{c.ID}, Limit: 25})
		if err != nil || total != 2 || len(rare) != 2 || rare[0].ID != ms[2550].ID {
			t.Fatalf("%s: rare: %d results, total %d, %v", when, len(rare), total, err)
		}
	}
	check("fresh table")
	// With the statistics a server in service has (autovacuum gathers
	// them), PostgreSQL takes another path for common words.
	for name, db := range s.Pools() {
		if name == "read" {
			continue // SQLite's readers cannot write statistics
		}
		if _, err := db.ExecContext(ctx, "ANALYZE messages"); err != nil {
			t.Fatal(err)
		}
	}
	check("analyzed table")
}

// testUseInviteLimits: an invite cannot be used past max_uses or after it
// expires, however the caller looked it up.
func testUseInviteLimits(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g, c, _ := messageFixture(t, s, 0)
	now := time.UnixMilli(time.Now().UnixMilli())
	once := storage.Invite{Code: Name("o"), GuildID: g.ID, ChannelID: c.ID, MaxUses: 1, CreatedAt: now}
	short := storage.Invite{Code: Name("s"), GuildID: g.ID, ChannelID: c.ID, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	update(t, s, func(tx storage.Tx) error {
		if err := tx.CreateInvite(ctx, once); err != nil {
			return err
		}
		return tx.CreateInvite(ctx, short)
	})
	update(t, s, func(tx storage.Tx) error { return tx.UseInvite(ctx, once.Code, now) })
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.UseInvite(ctx, once.Code, now) }); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("second use of a one-use invite: %v", err)
	}
	update(t, s, func(tx storage.Tx) error { return tx.UseInvite(ctx, short.Code, now) })
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.UseInvite(ctx, short.Code, now.Add(2*time.Minute)) }); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("use of an expired invite: %v", err)
	}
}

func testLockUser(t *testing.T, s storage.Store) {
	ctx := context.Background()
	users := createUsers(t, s, 1)
	update(t, s, func(tx storage.Tx) error { return tx.LockUser(ctx, users[0].ID) })
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.LockUser(ctx, ids.Next()) }); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("LockUser(absent) = %v, want ErrNotFound", err)
	}
	// Two transactions that count and insert under the lock never both
	// pass a bound of one.
	const bound = 1
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Update(ctx, func(tx storage.Tx) error {
				if err := tx.LockUser(ctx, users[0].ID); err != nil {
					return err
				}
				owned, err := tx.UserApplications(ctx, users[0].ID)
				if err != nil || len(owned) >= bound {
					return err
				}
				bot := newUser(Name("bot"))
				if err := tx.CreateUser(ctx, bot); err != nil {
					return err
				}
				return tx.CreateApplication(ctx, storage.Application{ID: bot.ID, OwnerID: users[0].ID, Name: "b", CreatedAt: time.Now()})
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if owned, _ := s.UserApplications(ctx, users[0].ID); len(owned) != bound {
		t.Fatalf("%d applications under a bound of %d", len(owned), bound)
	}
}

func testLockMember(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g, _, users := messageFixture(t, s, 1)
	update(t, s, func(tx storage.Tx) error { return tx.AddMember(ctx, newMember(g.ID, users[0].ID)) })
	update(t, s, func(tx storage.Tx) error { return tx.LockMember(ctx, g.ID, users[0].ID) })
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.LockMember(ctx, g.ID, ids.Next()) }); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("LockMember(absent) = %v, want ErrNotFound", err)
	}
}

// scopeOfMessage is the scope a message is in: its guild's, or its DM
// channel's.
func scopeOfMessage(m storage.Message) storage.Scope {
	if m.GuildID != 0 {
		return storage.InGuild(m.GuildID)
	}
	return storage.InDM(m.ChannelID)
}

package homeserver

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
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

// ourGuildAndAReplica stores a guild of this server and a replica of
// origin.example's, then runs more in the same transaction.
func ourGuildAndAReplica(t *testing.T, h *Homeserver, more func(tx storage.Tx, replica snowflake.ID) error) (local, replica snowflake.ID) {
	t.Helper()
	ctx := context.Background()
	local, replica = h.cfg.IDs.Next(), h.cfg.IDs.Next()
	now := time.Now()
	err := h.store.Update(ctx, func(tx storage.Tx) error {
		if err := tx.CreateGuild(ctx, storage.Guild{ID: local, Name: "ours", CreatedAt: now}); err != nil {
			return err
		}
		if err := tx.CreateGuild(ctx, storage.Guild{ID: replica, Name: "theirs", CreatedAt: now, Origin: "origin.example", OriginID: "1"}); err != nil {
			return err
		}
		return more(tx, replica)
	})
	if err != nil {
		t.Fatal(err)
	}
	return local, replica
}

// A write that reaches a replica guild's log without being forwarded to
// its origin fails whole (nothing of it stays), whichever way it writes;
// the transaction that applies the origin's events may append to it.
func TestDoorRefusesLocalWritesToReplicas(t *testing.T) {
	ctx := context.Background()
	h := newTestHomeserver(t)
	ids := h.cfg.IDs
	now := time.Now()
	local, replica := ourGuildAndAReplica(t, h, func(tx storage.Tx, replica snowflake.ID) error {
		return tx.SetReplica(ctx, storage.Replica{LogID: replica, Origin: "origin.example", Seq: 0})
	})
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

// do carries a write out here for this server's own logs, asks the origin
// for a replica's, and refuses in a replica a write with no way there, or
// one for guilds only in a DM channel of another homeserver.
func TestDoorDecidesOnce(t *testing.T) {
	ctx := context.Background()
	h := newTestHomeserver(t)
	dm := h.cfg.IDs.Next()
	local, replica := ourGuildAndAReplica(t, h, func(tx storage.Tx, _ snowflake.ID) error {
		return tx.CreateChannel(ctx, storage.Channel{ID: dm, Type: storage.ChannelDM, CreatedAt: time.Now(), Origin: "origin.example", OriginID: "2"})
	})
	cases := []struct {
		name           string
		guild, channel snowflake.ID
		there          bool
		guildOnly      bool
		want           string // "here", "there" or "refused"
	}{
		{"own guild", local, 0, true, false, "here"},
		{"own guild, never forwarded", local, 0, false, false, "here"},
		{"no log named", 0, 0, true, false, "here"},
		{"replica guild", replica, 0, true, false, "there"},
		{"replica guild, guilds only", replica, 0, true, true, "there"},
		{"replica guild, never forwarded", replica, 0, false, false, "refused"},
		{"DM of another server", 0, dm, true, false, "there"},
		{"DM of another server, guilds only", 0, dm, true, true, "refused"},
		{"DM of another server, never forwarded", 0, dm, false, false, "refused"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			w := write[none]{op: "test", guild: tc.guild, channel: tc.channel, guildOnly: tc.guildOnly,
				here: func(context.Context) (none, error) { got = "here"; return none{}, nil }}
			if tc.there {
				w.there = func(_ context.Context, rl replicaLog) (none, error) {
					if rl.Origin != "origin.example" {
						t.Errorf("asked %q", rl.Origin)
					}
					got = "there"
					return none{}, nil
				}
			}
			err := doErr(ctx, h, w)
			if tc.want == "refused" {
				if !errors.Is(err, ErrRemoteGuild) || got != "" {
					t.Fatalf("err = %v, ran %q; want refused", err, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("err = %v, ran %q; want %q", err, got, tc.want)
			}
		})
	}
}

// The question "is this log a replica's?" is asked for writes in one place:
// the door (door.go), and on the federation side that applies, forwards
// and serves the origin's half. A domain file that asks it itself, or that
// forwards outside a write's there half, has grown a second door; and an
// exported write in a domain file that opens a transaction itself must be
// one that never writes to a log a replica may hold (listed with why).
func TestOneDoorInSource(t *testing.T) {
	federationSide := map[string]bool{"door.go": true, "forward.go": true, "replica.go": true, "origin.go": true,
		"originact.go": true, "backfill.go": true, "remotefiles.go": true, "federation.go": true, "globalid.go": true, "attribution.go": true,
		"interactfed.go": true}
	asking := map[string]bool{"replicaGuild": true, "replicaOfChannel": true, "replicaByLog": true, "replicaOfWrite": true}
	ownTransactions := map[string]string{
		"CreateGuild":                  "makes a new guild of this server",
		"DeleteInvite":                 "invites are kept only by the guild's own server",
		"ArchiveIdleThreads":           "sweeps only this server's guilds (IdleThreads)",
		"Register":                     "accounts are this server's",
		"Login":                        "accounts are this server's",
		"Logout":                       "accounts are this server's",
		"CreateApplication":            "applications are this server's",
		"UpdateApplication":            "applications are this server's",
		"ResetBotToken":                "applications are this server's",
		"UpdateProfile":                "a profile changes on its user's own server",
		"PutLiveSessions":              "gateway sessions are this server's",
		"ClaimLiveSession":             "gateway sessions are this server's",
		"DeleteLiveSessions":           "gateway sessions are this server's",
		"SweepLiveSessions":            "gateway sessions are this server's",
		"EndSessions":                  "sessions are this server's",
		"CreateLinkCode":               "sessions are this server's",
		"Link":                         "sessions are this server's",
		"CreateRecoveryCodes":          "accounts are this server's",
		"Recover":                      "accounts are this server's",
		"BlockUser":                    "relationships are rows of this server's users, in no log",
		"RemoveRelationship":           "relationships are rows of this server's users, in no log",
		"PeerRelationship":             "relationships are rows of this server's users, in no log",
		"UpdateSettings":               "settings are this server's users', in no log",
		"AckBulk":                      "read states are the user's own server's and in no log",
		"AckMessage":                   "read states are the user's own server's and in no log",
		"UpdateGuildSettings":          "notification settings are the user's own server's and in no log",
		"AcceptInvite":                 "joins a guild of this server, or another's through its origin (remoteJoin applies the origin's snapshot as the origin's)",
		"GetInvite":                    "an invite of another server is previewed through its origin; its transaction is rolled back and keeps nothing",
		"OpenDM":                       "opens a DM of this server, or one of another server through its origin",
		"OpenDMWith":                   "opens a DM of this server, or one of another server through its origin",
		"CreateGroupDM":                "makes a group DM of this server",
		"RequestFriend":                "relationships are rows of this server's users, in no log",
		"RequestFriendByName":          "relationships are rows of this server's users, in no log",
		"Touch":                        "sessions are this server's",
		"AttachmentFile":               "keeps the bytes of another server's file beside its row; appends to no log",
		"EmojiImage":                   "keeps the bytes of another server's emoji beside its row; appends to no log",
		"Messages":                     "a read: older history of a replica comes through its origin (backfill)",
		"DeleteAccount":                "accounts are this server's; it leaves each guild through LeaveGuild's door",
		"DisableAccount":               "accounts are this server's",
		"PeerUserDeleted":              "a peer's user's row changes on its own server's word, in no log",
		"PeerSeen":                     "owed notices are this server's rows, in no log",
		"HereMentioned":                "read states are the user's own server's and in no log",
		"SetFriendNickname":            "relationships are rows of this server's users, in no log",
		"RunClosedAccountWatch":        "cuts a blocked server's users off this server's own guilds (MembershipsFrom lists no replica), as SetFederationRule does",
		"RunNotices":                   "owed notices are this server's rows, in no log",
		"CreateReport":                 "reports are rows of the reporter's own server, in no log",
		"AddEmail":                     "accounts are this server's",
		"ConfirmEmail":                 "accounts are this server's",
		"ForgotPassword":               "accounts are this server's",
		"ResetPassword":                "accounts are this server's",
		"ResolveGuildReport":           "reports are rows of the reporter's own server, in no log",
		"CreateApplicationCommand":     "application commands are rows of this server's applications, in no log",
		"UpdateApplicationCommand":     "application commands are rows of this server's applications, in no log",
		"DeleteApplicationCommand":     "application commands are rows of this server's applications, in no log",
		"OverwriteApplicationCommands": "application commands are rows of this server's applications, in no log",
		"SetCommandPermissions":        "command overrides are rows of this server's applications, in no log",
		"CreateInteraction":            "interactions are rows of this server, in no log",
		"RespondInteraction":           "interaction rows and ephemeral messages are in no log; response messages go through the door (sendReply, editReply)",
		"FollowupCreate":               "interaction rows and ephemeral messages are in no log; response messages go through the door (sendReply, editReply)",
		"FollowupEdit":                 "interaction rows and ephemeral messages are in no log; response messages go through the door (editReply)",
		"RunMaintenance":               "fails and prunes interactions, rows in no log; its other writes are ArchiveIdleThreads'",
		"EndCustomStatuses":            "settings are this server's users', in no log",
	}
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	// fn is what the test knows of one function of the package: whether
	// it opens a transaction itself, goes through the door, and which of
	// the package's functions it calls (methods of Homeserver by name,
	// functions by name).
	type fn struct {
		decl        *ast.FuncDecl
		file        string
		opens, door bool
		calls       map[string]bool
	}
	funcs := map[string]*fn{}
	keyOf := func(fd *ast.FuncDecl) string {
		if fd.Recv == nil {
			return fd.Name.Name
		}
		recv := fd.Recv.List[0].Type
		if star, ok := recv.(*ast.StarExpr); ok {
			recv = star.X
		}
		if id, ok := recv.(*ast.Ident); ok {
			return id.Name + "." + fd.Name.Name
		}
		return fd.Name.Name
	}
	for _, pkg := range pkgs {
		for path, f := range pkg.Files {
			file := filepath.Base(path)
			for _, d := range f.Decls {
				fd, ok := d.(*ast.FuncDecl)
				if !ok || fd.Body == nil {
					continue
				}
				info := &fn{decl: fd, file: file, calls: map[string]bool{}}
				funcs[keyOf(fd)] = info
				ast.Inspect(fd.Body, func(n ast.Node) bool {
					// A write's there half is where forwarding belongs.
					if kv, ok := n.(*ast.KeyValueExpr); ok && !federationSide[file] {
						if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "there" {
							return false
						}
					}
					call, ok := n.(*ast.CallExpr)
					if !ok {
						return true
					}
					switch c := call.Fun.(type) {
					case *ast.IndexListExpr, *ast.IndexExpr:
						// do[T] spelled out
						info.door = true
					case *ast.Ident:
						if c.Name == "do" || c.Name == "doErr" {
							info.door = true
						}
						info.calls[c.Name] = true
					case *ast.SelectorExpr:
						// h.X, a.h.X, h.store.Update
						var recv string
						switch x := c.X.(type) {
						case *ast.Ident:
							recv = x.Name
						case *ast.SelectorExpr:
							recv = x.Sel.Name
						}
						switch {
						case recv == "store" && c.Sel.Name == "Update", recv == "h" && c.Sel.Name == "update":
							info.opens = true
						case recv == "h":
							info.calls["Homeserver."+c.Sel.Name] = true
						}
						if recv == "h" && !federationSide[file] {
							switch {
							case asking[c.Sel.Name]:
								t.Errorf("%s: %s asks %s itself; describe the write and go through do (door.go)", fset.Position(c.Pos()), fd.Name.Name, c.Sel.Name)
							case strings.HasPrefix(c.Sel.Name, "forward"):
								t.Errorf("%s: %s calls %s outside a write's there half", fset.Position(c.Pos()), fd.Name.Name, c.Sel.Name)
							}
						}
					}
					return true
				})
			}
		}
	}
	// reaches reports whether a function opens a transaction itself or
	// through the unexported functions it calls; a call through the door,
	// or to another exported write (checked on its own), stops the search.
	memo := map[string]bool{}
	var reaches func(key string, seen map[string]bool) bool
	reaches = func(key string, seen map[string]bool) bool {
		if v, ok := memo[key]; ok {
			return v
		}
		info := funcs[key]
		if info == nil || seen[key] {
			return false
		}
		seen[key] = true
		r := info.opens
		for callee := range info.calls {
			name := callee[strings.LastIndexByte(callee, '.')+1:]
			if r || ast.IsExported(name) || callee == "do" || callee == "doErr" {
				continue
			}
			r = reaches(callee, seen)
		}
		memo[key] = r
		return r
	}
	for key, info := range funcs {
		fd := info.decl
		if !strings.HasPrefix(key, "Homeserver.") || !fd.Name.IsExported() || federationSide[info.file] || info.door {
			continue
		}
		if reaches(key, map[string]bool{}) && ownTransactions[fd.Name.Name] == "" {
			t.Errorf("%s: exported write %s opens a transaction (itself or through the functions it calls) without the door; give it a here half behind do, or list why it never writes a replica's log", fset.Position(fd.Pos()), fd.Name.Name)
		}
	}
}

package bridge

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
	"github.com/gin-gonic/gin"

	"hearth/homeserver"
	"hearth/homeserver/permission"
	st "hearth/server/servertest"
	"hearth/snowflake"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	os.Exit(m.Run())
}

// TestImportOnce: the same Discord message imported many times at once
// (a replay racing a backfill) is one local message, and every import
// answers its ID; puppets are made once, with names valid on Hearth, and
// their display names follow Discord's. On SQLite and PostgreSQL.
func TestImportOnce(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		s := st.Start(t, st.Options{Backend: backend})
		ctx := context.Background()
		hs := s.Homeserver()
		dom := hs.Bridge()
		owner, err := dom.Puppet(ctx, "100", "Hearth Bot", "", true)
		if err != nil {
			t.Fatal(err)
		}
		if owner.User.Username != "Hearth_Bot" || !owner.User.Bot || owner.User.Flags&homeserver.FlagBridged == 0 {
			t.Fatalf("owner puppet = %+v", owner.User)
		}
		g, err := hs.CreateGuild(ctx, owner, homeserver.GuildCreate{Name: "Mirror"})
		if err != nil {
			t.Fatal(err)
		}
		chans, err := hs.GuildChannels(ctx, owner, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		var channel snowflake.ID
		for _, c := range chans {
			if c.Type == homeserver.ChannelText {
				channel = c.ID
			}
		}

		alice, err := dom.Puppet(ctx, "1234567", "alice!", "Alice", false)
		if err != nil {
			t.Fatal(err)
		}
		// A second Discord user whose name sanitises the same.
		other, err := dom.Puppet(ctx, "7654321", "alice?", "", false)
		if err != nil {
			t.Fatal(err)
		}
		if alice.User.Username != "alice_" || other.User.Username != "alice__4321" || alice.User.ID == other.User.ID {
			t.Fatalf("puppets %q and %q", alice.User.Username, other.User.Username)
		}
		again, err := dom.Puppet(ctx, "1234567", "alice!", "Alice Liddell", false)
		if err != nil || again.User.ID != alice.User.ID || again.User.GlobalName != "Alice Liddell" {
			t.Fatalf("puppet again = %+v, %v", again.User, err)
		}
		if err := dom.AddMember(ctx, alice, g.ID); err != nil {
			t.Fatal(err)
		}
		if err := dom.AddMember(ctx, alice, g.ID); err != nil {
			t.Fatalf("joining twice: %v", err)
		}

		at := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
		const n = 8
		var wg sync.WaitGroup
		ids := make([]snowflake.ID, n)
		dups := make([]bool, n)
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m, dup, err := dom.ImportMessage(ctx, alice, channel, "555", at, homeserver.MessageCreate{Content: "once"})
				ids[i], dups[i], errs[i] = m.ID, dup, err
			}()
		}
		wg.Wait()
		fresh := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("import %d: %v", i, errs[i])
			}
			if ids[i] != ids[0] {
				t.Fatalf("imports answered %v and %v", ids[0], ids[i])
			}
			if !dups[i] {
				fresh++
			}
		}
		if fresh != 1 {
			t.Fatalf("%d imports wrote the message, want 1", fresh)
		}
		msgs, err := hs.Messages(ctx, alice, channel, homeserver.HistoryQuery{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 || msgs[0].Content != "once" || msgs[0].ID != ids[0] || !time.Time(msgs[0].Timestamp).Equal(at) {
			t.Fatalf("history = %+v", msgs)
		}
		if id, err := dom.LocalID(ctx, homeserver.BridgeImported, "555"); err != nil || id != ids[0] {
			t.Fatalf("mapping = %v, %v", id, err)
		}
	})
}

// TestSanitizeUsername: whatever Discord allows becomes a valid Hearth
// name.
func TestSanitizeUsername(t *testing.T) {
	for in, want := range map[string]string{
		"alice":                       "alice",
		"Zoë":                         "Zo_",
		"..x..y..":                    "_x._y._",
		"a":                           "a_",
		"everyone":                    "everyone_d",
		"deleted_user_1":              "deleted_user_1_d",
		strings.Repeat("long", 20):    strings.Repeat("long", 8),
		"with space and 🙂":            "with_space_and__",
		"":                            "__",
		strings.Repeat("a", 31) + ".": strings.Repeat("a", 31),
	} {
		if got := homeserver.SanitizeUsername(in); got != want {
			t.Errorf("SanitizeUsername(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestWebhookUsername: a Hearth person's name on Discord keeps within
// Discord's rules for webhook names.
func TestWebhookUsername(t *testing.T) {
	for _, tc := range []struct {
		u    homeserver.User
		want string
	}{
		{homeserver.User{Username: "bob", Origin: "h.test"}, "bob (h.test)"},
		{homeserver.User{Username: "bob", GlobalName: "Bobby", Origin: "127.0.0.1:8443"}, "Bobby (127.0.0.1\u22368443)"},
		{homeserver.User{Username: "x", GlobalName: "Discord Clyde", Origin: "discord.fans"}, "D\u200biscord C\u200blyde (d\u200biscord.fans)"},
	} {
		if got := webhookUsername(tc.u); got != tc.want {
			t.Errorf("webhookUsername(%+v) = %q, want %q", tc.u, got, tc.want)
		}
	}
	long := webhookUsername(homeserver.User{Username: "u", GlobalName: strings.Repeat("é", 90), Origin: "h.test"})
	if utf8.RuneCountInString(long) != 80 {
		t.Errorf("a 90-character name gives %d characters", utf8.RuneCountInString(long))
	}
}

// TestSplitContent: long text is cut at Discord's limit, at a space when
// there is one, and nothing is lost.
func TestSplitContent(t *testing.T) {
	words := strings.Repeat("word ", 700) // 3,500 characters
	parts := splitContent(words, 2000)
	if len(parts) != 2 {
		t.Fatalf("%d parts", len(parts))
	}
	for _, p := range parts {
		if utf8.RuneCountInString(p) > 2000 || strings.HasPrefix(p, " ") {
			t.Fatalf("part of %d characters: %q...", utf8.RuneCountInString(p), p[:10])
		}
	}
	if strings.Join(parts, " ") != words {
		t.Fatal("split text differs from the original")
	}
	solid := strings.Repeat("x", 4500)
	if parts := splitContent(solid, 2000); len(parts) != 3 || strings.Join(parts, "") != solid {
		t.Fatalf("solid text split into %d parts", len(parts))
	}
	if parts := splitContent("short", 2000); len(parts) != 1 || parts[0] != "short" {
		t.Fatalf("short text = %q", parts)
	}
}

// What Hearth people may do in a Discord channel is what @everyone and
// the configured role may: guild-wide, then the channel's @everyone
// overwrite, then the role's; a channel they may not view is hidden.
func TestHearthView(t *testing.T) {
	const guild, role, other = "100", "200", "300"
	view, send := int64(discordgo.PermissionViewChannel), int64(discordgo.PermissionSendMessages)
	over := func(id string, allow, deny int64) *discordgo.PermissionOverwrite {
		return &discordgo.PermissionOverwrite{ID: id, Type: discordgo.PermissionOverwriteTypeRole, Allow: allow, Deny: deny}
	}
	roles := func(everyone, hearth int64) []*discordgo.Role {
		return []*discordgo.Role{{ID: guild, Name: "@everyone", Permissions: everyone},
			{ID: role, Name: "Hearth", Permissions: hearth}, {ID: other, Name: "mods", Permissions: view | send}}
	}
	for _, tc := range []struct {
		name             string
		configured       string
		everyone, hearth int64
		over             []*discordgo.PermissionOverwrite
		sees             bool
		mirror           permission.Set
	}{
		{"public guild, no overwrite", "", view | send, 0, nil, true, permission.ViewChannel | permission.SendMessages},
		{"public guild, channel denies @everyone", "", view, 0, []*discordgo.PermissionOverwrite{over(guild, 0, view)}, false, 0},
		{"members-only guild, no overwrite", "", 0, 0, nil, false, 0},
		{"members-only guild, channel allows @everyone", "", 0, 0, []*discordgo.PermissionOverwrite{over(guild, view, 0)}, true, permission.ViewChannel},
		{"an administrator @everyone sees all", "", discordgo.PermissionAdministrator, 0, nil, true, hearthPerms},
		{"another role's overwrite changes nothing", "", 0, 0, []*discordgo.PermissionOverwrite{over(other, view, 0)}, false, 0},
		{"the role, by name, sees guild-wide", "hearth", 0, view, nil, true, permission.ViewChannel},
		{"the role, by ID, sees guild-wide", role, 0, view | send, nil, true, permission.ViewChannel | permission.SendMessages},
		{"the role's overwrite beats @everyone's", role, view, 0,
			[]*discordgo.PermissionOverwrite{over(guild, 0, view), over(role, view, 0)}, true, permission.ViewChannel},
		{"the role's overwrite denies sending", role, view | send, 0,
			[]*discordgo.PermissionOverwrite{over(role, 0, send)}, true, permission.ViewChannel},
		{"a role the guild lacks adds nothing", "nobody", 0, view, nil, false, 0},
		{"without a role configured, the role's overwrite changes nothing", "", 0, 0,
			[]*discordgo.PermissionOverwrite{over(role, view, 0)}, false, 0},
		{"kept permissions never reach the mirror", "", view | int64(permission.ManageRoles|permission.ManageChannels|permission.BanMembers), 0, nil, true, permission.ViewChannel},
	} {
		b := &Bridge{cfg: Config{HearthRole: tc.configured}, session: &discordgo.Session{}}
		v := b.hearthView(guild, roles(tc.everyone, tc.hearth))
		c := &discordgo.Channel{ID: "1", PermissionOverwrites: tc.over}
		if got := v.sees(c); got != tc.sees {
			t.Errorf("%s: sees = %v, want %v", tc.name, got, tc.sees)
		}
		if got := mirrorSet(v.in(c)); tc.sees && got != tc.mirror {
			t.Errorf("%s: mirror permissions = %d, want %d", tc.name, got, tc.mirror)
		}
	}
}

package permission

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// IDs shared by the tests. Role and user IDs are kept apart so that a test
// failure names an obvious culprit.
const (
	guild = 100
	owner = 1
	user  = 2
	other = 3
	roleA = 10
	roleB = 11
	roleC = 12 // a role the member does not have
	admin = 13
)

// now is the fixed moment every test judges timeouts at.
func now() time.Time { return time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC) }

// member is a non-owner with @everyone at Discord's default plus
// MentionEveryone (so that the implicit rule has something to remove), and
// roles A and B with no permissions of their own.
func member() Input {
	return Input{
		GuildID:  guild,
		OwnerID:  owner,
		UserID:   user,
		Everyone: Default | MentionEveryone,
		Roles:    []Set{0, 0},
		RoleIDs:  []uint64{roleA, roleB},
		Now:      now(),
	}
}

func with(in Input, f func(*Input)) Input { f(&in); return in }

func everyoneOW(allow, deny Set) Overwrite {
	return Overwrite{ID: guild, Type: OverwriteRole, Allow: allow, Deny: deny}
}
func roleOW(id uint64, allow, deny Set) Overwrite {
	return Overwrite{ID: id, Type: OverwriteRole, Allow: allow, Deny: deny}
}
func memberOW(id uint64, allow, deny Set) Overwrite {
	return Overwrite{ID: id, Type: OverwriteMember, Allow: allow, Deny: deny}
}

func TestBase(t *testing.T) {
	timedOut := func(in *Input) { in.TimedOutUntil = now().Add(time.Hour) }
	cases := []struct {
		name string
		in   Input
		want Set
	}{
		{"owner has All", with(member(), func(in *Input) { in.UserID = owner; in.Everyone = 0 }), All},
		{"owner has All while timed out", with(member(), func(in *Input) { in.UserID = owner; timedOut(in) }), All},
		{"roles add to @everyone", with(member(), func(in *Input) { in.Roles = []Set{KickMembers, BanMembers} }),
			Default | MentionEveryone | KickMembers | BanMembers},
		{"no roles is @everyone", with(member(), func(in *Input) { in.Roles, in.RoleIDs = nil, nil }),
			Default | MentionEveryone},
		{"Administrator role gives All", with(member(), func(in *Input) { in.Everyone = 0; in.Roles = []Set{Administrator} }), All},
		{"Administrator on @everyone gives All", with(member(), func(in *Input) { in.Everyone = Administrator }), All},
		{"administrator exempt from timeout", with(member(), func(in *Input) { in.Roles = []Set{Administrator}; timedOut(in) }), All},
		{"timed out keeps ViewChannel and ReadMessageHistory",
			with(member(), func(in *Input) { in.Roles = []Set{ManageMessages | KickMembers}; timedOut(in) }),
			ViewChannel | ReadMessageHistory},
		{"timed out never gains what it lacked",
			with(member(), func(in *Input) { in.Everyone = ViewChannel; timedOut(in) }), ViewChannel},
		{"timeout in the past has no effect",
			with(member(), func(in *Input) { in.TimedOutUntil = now().Add(-time.Second) }), Default | MentionEveryone},
		{"timeout ending now has ended",
			with(member(), func(in *Input) { in.TimedOutUntil = now() }), Default | MentionEveryone},
		{"undefined bits are dropped",
			with(member(), func(in *Input) { in.Everyone = ViewChannel | 1<<53 | 1<<62 }), ViewChannel},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Base(c.in); got != c.want {
				t.Errorf("Base = %s, want %s (diff %b)", got, c.want, got^c.want)
			}
		})
	}
}

func TestChannel(t *testing.T) {
	const def = Default | MentionEveryone // member()'s @everyone
	const noSend = def &^ (SendMessages | needSendMessages)
	timedOut := func(in *Input) { in.TimedOutUntil = now().Add(time.Hour) }
	cases := []struct {
		name string
		in   Input
		ows  []Overwrite
		want Set
	}{
		{"no overwrites is Base", member(), nil, def},

		// Permission hierarchy: the owner and administrators bypass overwrites.
		{"owner has All despite overwrites",
			with(member(), func(in *Input) { in.UserID = owner; in.Everyone = 0 }),
			[]Overwrite{everyoneOW(0, All), memberOW(owner, 0, All)}, All},
		{"Administrator has All despite a deny overwrite",
			with(member(), func(in *Input) { in.Roles = []Set{Administrator, 0}; in.RoleIDs = []uint64{admin, roleA} }),
			[]Overwrite{everyoneOW(0, All), roleOW(admin, 0, All), roleOW(roleA, 0, ViewChannel), memberOW(user, 0, All)}, All},
		{"Administrator has All while timed out",
			with(member(), func(in *Input) { in.Roles = []Set{Administrator}; in.RoleIDs = []uint64{admin}; timedOut(in) }),
			[]Overwrite{memberOW(user, 0, All)}, All},
		{"Administrator granted by an overwrite is only a bit",
			member(), []Overwrite{memberOW(user, Administrator, 0)}, def | Administrator},

		// Overwrite order: @everyone, then roles together, then the member.
		{"@everyone deny ViewChannel hides the channel",
			member(), []Overwrite{everyoneOW(0, ViewChannel)}, 0},
		{"a role allow restores what @everyone denied",
			member(), []Overwrite{everyoneOW(0, ViewChannel), roleOW(roleA, ViewChannel, 0)}, def},
		{"a role deny beats an @everyone allow",
			with(member(), func(in *Input) { in.Everyone = Default }),
			[]Overwrite{everyoneOW(MentionEveryone, 0), roleOW(roleA, 0, MentionEveryone)}, Default},
		{"role allows beat role denies",
			member(), []Overwrite{roleOW(roleA, 0, SendMessages), roleOW(roleB, SendMessages, 0)}, def},
		{"role allows beat role denies, whichever comes first",
			member(), []Overwrite{roleOW(roleB, SendMessages, 0), roleOW(roleA, 0, SendMessages)}, def},
		{"a role deny without a matching allow holds",
			member(), []Overwrite{roleOW(roleA, 0, SendMessages), roleOW(roleB, AddReactions, 0)}, noSend},
		{"member deny beats role allow",
			member(), []Overwrite{roleOW(roleB, SendMessages, 0), memberOW(user, 0, SendMessages)}, noSend},
		{"member allow beats role deny",
			member(), []Overwrite{everyoneOW(0, SendMessages), roleOW(roleA, 0, SendMessages), memberOW(user, SendMessages, 0)}, def},
		{"member deny ViewChannel hides the channel",
			member(), []Overwrite{everyoneOW(ViewChannel, 0), roleOW(roleA, ViewChannel, 0), memberOW(user, 0, ViewChannel)}, 0},
		{"allow of a bit the guild lacks grants it",
			member(), []Overwrite{roleOW(roleA, ManageMessages, 0)}, def | ManageMessages},

		// Overwrites that do not concern this member.
		{"overwrite of a role the member lacks is ignored",
			member(), []Overwrite{roleOW(roleC, 0, ViewChannel)}, def},
		{"member overwrite for another user is ignored",
			member(), []Overwrite{memberOW(other, 0, ViewChannel)}, def},
		{"role-typed overwrite with the user's ID is ignored",
			member(), []Overwrite{roleOW(user, 0, ViewChannel)}, def},
		{"member-typed overwrite with a role's ID is ignored",
			member(), []Overwrite{memberOW(roleA, 0, ViewChannel)}, def},
		{"member-typed overwrite with the guild's ID is ignored",
			member(), []Overwrite{memberOW(guild, 0, ViewChannel)}, def},
		{"overwrite of unknown type is ignored",
			member(), []Overwrite{{ID: user, Type: 2, Deny: ViewChannel}}, def},
		{"guild ID among the roles does not reapply @everyone as a role",
			with(member(), func(in *Input) { in.RoleIDs = []uint64{roleA, guild} }),
			[]Overwrite{everyoneOW(SendMessages, 0), roleOW(roleA, 0, SendMessages)}, noSend},

		// Implicit permissions.
		{"no SendMessages drops the message bits",
			member(), []Overwrite{everyoneOW(0, SendMessages)}, noSend},
		{"message bits come back with SendMessages",
			with(member(), func(in *Input) {
				in.Everyone = ViewChannel | AttachFiles | EmbedLinks | MentionEveryone | SendTTSMessages
			}),
			[]Overwrite{memberOW(user, SendMessages, 0)},
			ViewChannel | SendMessages | AttachFiles | EmbedLinks | MentionEveryone | SendTTSMessages},
		{"no ViewChannel in the guild means nothing",
			with(member(), func(in *Input) { in.Everyone = All &^ Administrator &^ ViewChannel }), nil, 0},

		// Timeouts.
		{"timed out keeps only ViewChannel and ReadMessageHistory",
			with(member(), func(in *Input) { in.Roles = []Set{ManageMessages | KickMembers, 0}; timedOut(in) }),
			nil, ViewChannel | ReadMessageHistory},
		{"timed out: an allow overwrite cannot lift it",
			with(member(), timedOut),
			[]Overwrite{everyoneOW(All, 0), roleOW(roleA, SendMessages|AddReactions, 0), memberOW(user, All&^Administrator, 0)},
			ViewChannel | ReadMessageHistory},
		{"timed out: a deny still applies",
			with(member(), timedOut), []Overwrite{memberOW(user, 0, ReadMessageHistory)}, ViewChannel},
		{"timed out: hidden channel stays hidden",
			with(member(), timedOut), []Overwrite{everyoneOW(0, ViewChannel)}, 0},
		{"timeout in the past has no effect",
			with(member(), func(in *Input) { in.TimedOutUntil = now().Add(-time.Hour) }),
			[]Overwrite{roleOW(roleA, ManageMessages, 0)}, def | ManageMessages},

		{"undefined overwrite bits are dropped",
			member(), []Overwrite{memberOW(user, 1<<53|1<<62, 0)}, def},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Channel(c.in, c.ows); got != c.want {
				t.Errorf("Channel = %s, want %s (diff %b)", got, c.want, got^c.want)
			}
		})
	}
}

// reference is Discord's documented pseudocode (computeBasePermissions,
// computeOverwrites, then the implicit and timeout rules from the prose),
// transcribed as literally as Go allows: overwrites are looked up by ID in a
// map, as Discord's channel keeps them. It is the oracle for
// TestChannelMatchesReference, and deliberately shares no code with Channel.
func reference(in Input, overwrites []Overwrite) Set {
	const all = 1<<53 - 1
	if in.UserID == in.OwnerID {
		return all
	}
	permissions := in.Everyone
	for _, r := range in.Roles {
		permissions |= r
	}
	if permissions&Administrator == Administrator {
		return all
	}

	byID := map[uint64]Overwrite{}
	for _, o := range overwrites {
		byID[o.ID] = o
	}
	if o, ok := byID[in.GuildID]; ok {
		permissions &^= o.Deny
		permissions |= o.Allow
	}
	var allow, deny Set
	for _, id := range in.RoleIDs {
		if o, ok := byID[id]; ok {
			allow |= o.Allow
			deny |= o.Deny
		}
	}
	permissions &^= deny
	permissions |= allow
	if o, ok := byID[in.UserID]; ok {
		permissions &^= o.Deny
		permissions |= o.Allow
	}

	if permissions&ViewChannel == 0 {
		return 0
	}
	if permissions&SendMessages == 0 {
		permissions &^= MentionEveryone | SendTTSMessages | AttachFiles | EmbedLinks
	}
	if in.TimedOutUntil.After(in.Now) {
		permissions &= ViewChannel | ReadMessageHistory
	}
	return permissions
}

// randSet is biased so that every rule gets exercised: dense sets (about
// half the bits, so ViewChannel and SendMessages each flip often), sparse
// ones, empty ones, and Administrator only rarely, since it short-circuits
// everything else.
func randSet(r *rand.Rand) Set {
	var s Set
	switch r.IntN(4) {
	case 0:
		s = 0
	case 1:
		a, b, c := Set(r.Int64()), Set(r.Int64()), Set(r.Int64())
		s = a & b & c // sparse: three draws ANDed
	default:
		s = Set(r.Int64())
	}
	s &= All
	if r.IntN(20) != 0 {
		s &^= Administrator
	}
	return s
}

// randInput draws a member and a channel. With discord set, it keeps to what
// Discord itself can produce (one overwrite per ID, each ID's type fixed by
// what it names, no @everyone among the member's roles, no undefined bits),
// so that the result can be compared with reference; otherwise anything
// goes, which the invariants must survive.
func randInput(r *rand.Rand, discord bool) (Input, []Overwrite) {
	in := Input{GuildID: guild, OwnerID: owner, UserID: user, Everyone: randSet(r), Now: now()}
	if r.IntN(20) == 0 {
		in.OwnerID = user
	}
	switch r.IntN(4) {
	case 0:
		in.TimedOutUntil = now().Add(time.Duration(r.IntN(1000)+1) * time.Second)
	case 1:
		in.TimedOutUntil = now().Add(-time.Duration(r.IntN(1000)) * time.Second)
	}
	rolePool := []uint64{roleA, roleB, roleC, admin, 14, 15}
	for range r.IntN(6) {
		id := rolePool[r.IntN(len(rolePool))]
		if !discord && r.IntN(10) == 0 {
			id = guild
		}
		in.RoleIDs = append(in.RoleIDs, id)
		in.Roles = append(in.Roles, randSet(r))
	}

	idPool := append([]uint64{guild, user, other}, rolePool...)
	var ows []Overwrite
	seen := map[uint64]bool{}
	for range r.IntN(9) {
		o := Overwrite{ID: idPool[r.IntN(len(idPool))], Allow: randSet(r), Deny: randSet(r)}
		if o.ID == user || o.ID == other {
			o.Type = OverwriteMember
		}
		if !discord {
			o.Type = r.IntN(3)
			if r.IntN(10) == 0 {
				o.Allow |= Set(r.Int64()) &^ All
			}
		} else if seen[o.ID] {
			continue
		}
		seen[o.ID] = true
		ows = append(ows, o)
	}
	return in, ows
}

const iterations = 20000

func TestChannelMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range iterations {
		in, ows := randInput(r, true)
		if got, want := Channel(in, ows), reference(in, ows); got != want {
			t.Fatalf("iteration %d: Channel = %s, reference = %s (diff %b)\ninput %+v\noverwrites %+v",
				i, got, want, got^want, in, ows)
		}
	}
}

func TestInvariants(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range iterations {
		in, ows := randInput(r, false)
		got := Channel(in, ows)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("iteration %d: %s\ninput %+v\noverwrites %+v", i, fmt.Sprintf(format, args...), in, ows)
		}

		if got&^All != 0 {
			fail("Channel = %s has bits outside All", got)
		}
		if b := Base(in); b&^All != 0 {
			fail("Base = %s has bits outside All", b)
		}
		if !got.Has(ViewChannel) && got != 0 {
			fail("Channel = %s without ViewChannel, want 0", got)
		}
		if in.UserID == in.OwnerID || slices.ContainsFunc(in.Roles, func(s Set) bool { return s.Has(Administrator) }) ||
			in.Everyone.Has(Administrator) {
			if got != All || Base(in) != All {
				fail("owner or administrator: Channel = %s, Base = %s, want All", got, Base(in))
			}
		}
		if len(ows) == 0 {
			continue
		}

		j, bit := r.IntN(len(ows)), Set(1)<<r.IntN(53)
		more := slices.Clone(ows)
		more[j].Allow |= bit
		if after := Channel(in, more); got&^after != 0 {
			fail("adding allow %s to overwrite %d removed %s", bit, j, got&^after)
		}

		fewer := slices.Clone(ows)
		fewer[j].Deny &^= bit
		if d := fewer[j].Deny; d != 0 && r.IntN(2) == 0 {
			fewer[j].Deny &^= d & -d // a bit that is certainly set
		}
		if after := Channel(in, fewer); got&^after != 0 {
			fail("removing deny bits %s from overwrite %d removed %s", ows[j].Deny&^fewer[j].Deny, j, got&^after)
		}
	}
}

// TestOverwriteOrderIrrelevant guards the promise that a slice in any order,
// duplicates included, gives one answer.
func TestOverwriteOrderIrrelevant(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := range iterations / 10 {
		in, ows := randInput(r, false)
		want := Channel(in, ows)
		shuffled := slices.Clone(ows)
		r.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		if got := Channel(in, shuffled); got != want {
			t.Fatalf("iteration %d: order changed %s to %s", i, want, got)
		}
	}
}

func TestConstants(t *testing.T) {
	named := []Set{
		CreateInstantInvite, KickMembers, BanMembers, Administrator, ManageChannels, ManageGuild,
		AddReactions, ViewAuditLog, PrioritySpeaker, Stream, ViewChannel, SendMessages,
		SendTTSMessages, ManageMessages, EmbedLinks, AttachFiles, ReadMessageHistory,
		MentionEveryone, UseExternalEmojis, ViewGuildInsights, Connect, Speak, MuteMembers,
		DeafenMembers, MoveMembers, UseVAD, ChangeNickname, ManageNicknames, ManageRoles,
		ManageWebhooks, ManageGuildExpressions, UseApplicationCommands, RequestToSpeak,
		ManageEvents, ManageThreads, CreatePublicThreads, CreatePrivateThreads,
		UseExternalStickers, SendMessagesInThreads, UseEmbeddedActivities, ModerateMembers,
		ViewCreatorMonetizationAnalytics, UseSoundboard, CreateGuildExpressions, CreateEvents,
		UseExternalSounds, SendVoiceMessages, SendPolls, UseExternalApps, PinMessages,
		BypassSlowmode,
	}
	// Listed in bit order, so each must be the next bit up, skipping the
	// two undocumented ones.
	var union Set
	bit := 0
	for i, p := range named {
		if bit == 47 {
			bit = 49
		}
		if p != 1<<bit {
			t.Errorf("constant %d is %b, want bit %d", i, p, bit)
		}
		union |= p
		bit++
	}
	if union|1<<47|1<<48 != All {
		t.Errorf("named bits plus 47 and 48 = %s, want All = %s", union|1<<47|1<<48, All)
	}
	if All.String() != "9007199254740991" {
		t.Errorf("All = %s", All)
	}
	if Default.Has(MentionEveryone) || Default&(Administrator|ManageGuild|ManageRoles|ManageChannels|KickMembers|BanMembers) != 0 {
		t.Errorf("Default %s has a moderation bit or MentionEveryone", Default)
	}
	if !Default.Has(ViewChannel | SendMessages | ReadMessageHistory | Connect | Speak) {
		t.Errorf("Default %s lacks a basic bit", Default)
	}
}

func TestHas(t *testing.T) {
	cases := []struct {
		s, p Set
		want bool
	}{
		{0, 0, true},
		{ViewChannel, 0, true},
		{ViewChannel | SendMessages, ViewChannel, true},
		{ViewChannel | SendMessages, ViewChannel | SendMessages, true},
		{ViewChannel, ViewChannel | SendMessages, false},
		{All, BypassSlowmode, true},
		{All &^ BypassSlowmode, BypassSlowmode, false},
	}
	for _, c := range cases {
		if got := c.s.Has(c.p); got != c.want {
			t.Errorf("%s.Has(%s) = %v, want %v", c.s, c.p, got, c.want)
		}
	}
}

func TestParse(t *testing.T) {
	good := []struct {
		in   string
		want Set
	}{
		{"0", 0},
		{"1024", ViewChannel},
		{"2112", AddReactions | SendMessages}, // Discord's documented example
		{"9007199254740991", All},
		{"4503599627370496", BypassSlowmode},
		{"0008", Administrator}, // harmless, and JSON from other servers may pad
	}
	for _, c := range good {
		got, err := Parse(c.in)
		if err != nil || got != c.want {
			t.Errorf("Parse(%q) = %s, %v; want %s", c.in, got, err, c.want)
		}
	}
	bad := []string{
		"", "-1", "-0", "+1", "abc", "12abc", " 1", "1 ", "0x10", "1e3", "1.0",
		"9007199254740992",     // bit 53
		"9223372036854775807",  // every int64 bit
		"18446744073709551615", // every uint64 bit
		"18446744073709551616", // beyond uint64
	}
	for _, s := range bad {
		if got, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) = %s, want an error", s, got)
		}
	}
}

func TestParseStringRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	values := []Set{0, 1, ViewChannel, Default, All, BypassSlowmode, 1 << 47}
	for range 1000 {
		values = append(values, Set(r.Int64())&All)
	}
	for _, s := range values {
		str := s.String()
		if str != strconv.FormatUint(uint64(s), 10) {
			t.Errorf("%d.String() = %q", int64(s), str)
		}
		got, err := Parse(str)
		if err != nil || got != s {
			t.Errorf("Parse(%q) = %s, %v; want %s", str, got, err, s)
		}
	}
}

func TestCache(t *testing.T) {
	c := NewCache(16)
	k := Key{Guild: guild, User: user, Channel: 200, Version: 7}
	if _, ok := c.Get(k); ok {
		t.Fatal("hit on an empty cache")
	}
	c.Add(k, Default)
	if got, ok := c.Get(k); !ok || got != Default {
		t.Fatalf("Get after Add = %s, %v; want %s, true", got, ok, Default)
	}
	misses := []Key{
		{Guild: guild, User: user, Channel: 200, Version: 8},
		{Guild: guild, User: user, Channel: 201, Version: 7},
		{Guild: guild, User: other, Channel: 200, Version: 7},
		{Guild: guild + 1, User: user, Channel: 200, Version: 7},
		{Guild: guild, User: user, Version: 7},
	}
	for _, m := range misses {
		if got, ok := c.Get(m); ok {
			t.Errorf("Get(%+v) = %s, hit; want a miss", m, got)
		}
	}
}

func TestCacheEvicts(t *testing.T) {
	for _, size := range []int{-1, 0, 1} {
		c := NewCache(size)
		a, b := Key{Version: 1}, Key{Version: 2}
		c.Add(a, ViewChannel)
		c.Add(b, SendMessages)
		if _, ok := c.Get(a); ok {
			t.Errorf("size %d: oldest entry survived", size)
		}
		if got, ok := c.Get(b); !ok || got != SendMessages {
			t.Errorf("size %d: Get newest = %s, %v", size, got, ok)
		}
	}
}

// TestCacheConcurrent is for the race detector.
func TestCacheConcurrent(t *testing.T) {
	c := NewCache(64)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				k := Key{Guild: guild, User: uint64(g), Version: int64(i % 100)}
				c.Add(k, Set(i))
				if s, ok := c.Get(k); ok && s&^All != 0 {
					t.Errorf("Get returned %s", s)
				}
			}
		})
	}
	wg.Wait()
}

// benchInput is a member with 5 roles in a channel with 6 overwrites, three
// of which match the member's roles: a typical moderated channel.
func benchInput() (Input, []Overwrite) {
	in := Input{
		GuildID:  guild,
		OwnerID:  owner,
		UserID:   user,
		Everyone: Default,
		Roles:    []Set{AddReactions, ManageMessages, 0, KickMembers, Stream},
		RoleIDs:  []uint64{10, 11, 12, 13, 14},
		Now:      now(),
	}
	ows := []Overwrite{
		everyoneOW(0, SendMessages),
		roleOW(10, SendMessages, 0),
		roleOW(11, 0, AttachFiles),
		roleOW(14, EmbedLinks, MentionEveryone),
		roleOW(99, 0, ViewChannel),
		memberOW(user, AddReactions, 0),
	}
	return in, ows
}

func BenchmarkBase(b *testing.B) {
	in, _ := benchInput()
	for b.Loop() {
		Base(in)
	}
}

func BenchmarkChannel(b *testing.B) {
	in, ows := benchInput()
	for b.Loop() {
		Channel(in, ows)
	}
}

// BenchmarkChannelCached is a hit in a warm cache of 10,000 entries.
func BenchmarkChannelCached(b *testing.B) {
	in, ows := benchInput()
	c := NewCache(10000)
	for i := range 10000 {
		c.Add(Key{Guild: guild, User: uint64(i), Channel: 200, Version: 1}, Default)
	}
	k := Key{Guild: guild, User: user, Channel: 200, Version: 1}
	c.Add(k, Channel(in, ows))
	for b.Loop() {
		if _, ok := c.Get(k); !ok {
			b.Fatal("miss")
		}
	}
}

// The parallel pair shows what b.Loop cannot: the cache takes a lock on
// every Get (an LRU hit reorders its list), so it serialises concurrent
// checks that the pure function runs side by side.
func BenchmarkChannelParallel(b *testing.B) {
	in, ows := benchInput()
	b.RunParallel(func(pb *testing.PB) {
		// Folding the results in keeps the compiler from discarding the
		// pure call; a goroutine may be handed no iterations at all.
		var seen Set
		ran := false
		for pb.Next() {
			seen |= Channel(in, ows)
			ran = true
		}
		if ran && seen == 0 {
			b.Error("no permissions")
		}
	})
}

func BenchmarkChannelCachedParallel(b *testing.B) {
	in, ows := benchInput()
	c := NewCache(10000)
	k := Key{Guild: guild, User: user, Channel: 200, Version: 1}
	c.Add(k, Channel(in, ows))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok := c.Get(k); !ok {
				b.Error("miss")
				return
			}
		}
	})
}

// Package permission computes a member's Discord permissions, in a guild and
// in one of its channels, as Discord's permissions documentation describes
// it (the "Permission Hierarchy", "Permission Overwrites" and "Implicit
// Permissions" sections, plus the timeout rule). The functions are pure:
// callers gather the roles and overwrites, so that the rules can be tested
// on their own and checked in a few tens of nanoseconds.
package permission

import (
	"fmt"
	"strconv"
	"time"
)

// Set is a permission bitfield, Discord's bits 0 to 52. It is signed because
// storage keeps it in a BIGINT column; bit 63 is never used.
type Set int64

// Discord's permission bits. Bits 47 and 48 are not documented by Discord
// and have no name here, but All includes them (see All).
const (
	// CreateInstantInvite allows creating invites.
	CreateInstantInvite Set = 1 << 0
	// KickMembers allows kicking members.
	KickMembers Set = 1 << 1
	// BanMembers allows banning members.
	BanMembers Set = 1 << 2
	// Administrator grants every permission and bypasses channel overwrites.
	Administrator Set = 1 << 3
	// ManageChannels allows editing and reordering channels.
	ManageChannels Set = 1 << 4
	// ManageGuild allows editing the guild's settings.
	ManageGuild Set = 1 << 5
	// AddReactions allows adding new reactions to messages.
	AddReactions Set = 1 << 6
	// ViewAuditLog allows reading the audit log.
	ViewAuditLog Set = 1 << 7
	// PrioritySpeaker allows using priority speaker in voice channels.
	PrioritySpeaker Set = 1 << 8
	// Stream allows going live.
	Stream Set = 1 << 9
	// ViewChannel allows seeing a channel; without it nothing else in the
	// channel applies.
	ViewChannel Set = 1 << 10
	// SendMessages allows sending messages.
	SendMessages Set = 1 << 11
	// SendTTSMessages allows sending /tts messages.
	SendTTSMessages Set = 1 << 12
	// ManageMessages allows deleting and pinning other members' messages.
	ManageMessages Set = 1 << 13
	// EmbedLinks allows links to be embedded.
	EmbedLinks Set = 1 << 14
	// AttachFiles allows uploading files.
	AttachFiles Set = 1 << 15
	// ReadMessageHistory allows reading earlier messages.
	ReadMessageHistory Set = 1 << 16
	// MentionEveryone allows @everyone, @here and mentioning any role.
	MentionEveryone Set = 1 << 17
	// UseExternalEmojis allows emoji from other guilds.
	UseExternalEmojis Set = 1 << 18
	// ViewGuildInsights allows viewing guild insights.
	ViewGuildInsights Set = 1 << 19
	// Connect allows joining a voice channel.
	Connect Set = 1 << 20
	// Speak allows speaking in a voice channel.
	Speak Set = 1 << 21
	// MuteMembers allows muting others in voice.
	MuteMembers Set = 1 << 22
	// DeafenMembers allows deafening others in voice.
	DeafenMembers Set = 1 << 23
	// MoveMembers allows moving members between voice channels.
	MoveMembers Set = 1 << 24
	// UseVAD allows voice activity detection (no push-to-talk).
	UseVAD Set = 1 << 25
	// ChangeNickname allows changing one's own nickname.
	ChangeNickname Set = 1 << 26
	// ManageNicknames allows changing other members' nicknames.
	ManageNicknames Set = 1 << 27
	// ManageRoles allows managing roles below one's highest role.
	ManageRoles Set = 1 << 28
	// ManageWebhooks allows managing webhooks.
	ManageWebhooks Set = 1 << 29
	// ManageGuildExpressions allows editing and deleting emoji, stickers
	// and soundboard sounds.
	ManageGuildExpressions Set = 1 << 30
	// UseApplicationCommands allows using application commands.
	UseApplicationCommands Set = 1 << 31
	// RequestToSpeak allows requesting to speak in stage channels.
	RequestToSpeak Set = 1 << 32
	// ManageEvents allows editing and deleting scheduled events.
	ManageEvents Set = 1 << 33
	// ManageThreads allows managing and archiving threads.
	ManageThreads Set = 1 << 34
	// CreatePublicThreads allows creating public threads.
	CreatePublicThreads Set = 1 << 35
	// CreatePrivateThreads allows creating private threads.
	CreatePrivateThreads Set = 1 << 36
	// UseExternalStickers allows stickers from other guilds.
	UseExternalStickers Set = 1 << 37
	// SendMessagesInThreads allows sending messages in threads.
	SendMessagesInThreads Set = 1 << 38
	// UseEmbeddedActivities allows using activities.
	UseEmbeddedActivities Set = 1 << 39
	// ModerateMembers allows timing members out.
	ModerateMembers Set = 1 << 40
	// ViewCreatorMonetizationAnalytics allows viewing role subscription
	// insights.
	ViewCreatorMonetizationAnalytics Set = 1 << 41
	// UseSoundboard allows using the soundboard in voice.
	UseSoundboard Set = 1 << 42
	// CreateGuildExpressions allows creating emoji, stickers and sounds,
	// and editing one's own.
	CreateGuildExpressions Set = 1 << 43
	// CreateEvents allows creating scheduled events, and editing one's own.
	CreateEvents Set = 1 << 44
	// UseExternalSounds allows soundboard sounds from other guilds.
	UseExternalSounds Set = 1 << 45
	// SendVoiceMessages allows sending voice messages.
	SendVoiceMessages Set = 1 << 46
	// SendPolls allows creating polls.
	SendPolls Set = 1 << 49
	// UseExternalApps allows user-installed apps to answer publicly.
	UseExternalApps Set = 1 << 50
	// PinMessages allows pinning messages.
	PinMessages Set = 1 << 51
	// BypassSlowmode allows sending messages regardless of slowmode.
	BypassSlowmode Set = 1 << 52
)

const (
	// All is every bit from 0 to 52. It includes the unnamed bits 47 and
	// 48 because Discord clients may send them, and an owner or
	// administrator should hold whatever a client believes exists.
	All Set = 1<<53 - 1

	// Default is the @everyone permission set of a new guild. It is
	// Discord's default minus MentionEveryone: a mass ping reaches every
	// member at once, so a community should opt in to it rather than
	// discover it when the first stranger uses it.
	Default = CreateInstantInvite | AddReactions | Stream | ViewChannel |
		SendMessages | SendTTSMessages | EmbedLinks | AttachFiles |
		ReadMessageHistory | UseExternalEmojis | Connect | Speak | UseVAD |
		ChangeNickname | UseApplicationCommands | RequestToSpeak |
		CreatePublicThreads | CreatePrivateThreads | UseExternalStickers |
		SendMessagesInThreads | UseEmbeddedActivities | UseSoundboard |
		CreateGuildExpressions | CreateEvents | UseExternalSounds |
		SendVoiceMessages | SendPolls | UseExternalApps

	// timedOutKeeps is what a timed-out member retains: enough to read the
	// guild, nothing to speak, react or moderate in it.
	timedOutKeeps = ViewChannel | ReadMessageHistory

	// needSendMessages are the bits that only make sense as part of a
	// message, so Discord drops them with SendMessages.
	needSendMessages = MentionEveryone | SendTTSMessages | AttachFiles | EmbedLinks
)

// Has reports whether s holds every bit of p; Has(0) is true.
func (s Set) Has(p Set) bool { return s&p == p }

// String is the decimal form, which is how Discord's JSON carries
// permissions (as a string, because the bits outgrow a JavaScript number).
func (s Set) String() string { return strconv.FormatInt(int64(s), 10) }

// Parse reads the decimal form that String writes. It rejects a sign, any
// base prefix, spaces, and bits above 52, so that a value read from a client
// cannot smuggle in a bit that no rule knows about.
func Parse(s string) (Set, error) {
	// ParseUint rather than ParseInt: it refuses "-" and "+" outright.
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("permission: %q is not a decimal permission set", s)
	}
	if v&^uint64(All) != 0 {
		return 0, fmt.Errorf("permission: %q sets bits above 52", s)
	}
	return Set(v), nil
}

// Overwrite types, as Discord numbers them.
const (
	// OverwriteRole marks an overwrite whose ID is a role's (or, for the
	// @everyone role, the guild's).
	OverwriteRole = 0
	// OverwriteMember marks an overwrite whose ID is a user's.
	OverwriteMember = 1
)

// Overwrite mirrors a channel permission overwrite: for the role or member
// ID, Deny removes bits and then Allow adds them.
type Overwrite struct {
	ID          uint64
	Type        int // OverwriteRole or OverwriteMember; others are ignored
	Allow, Deny Set
}

// Input is everything the computation needs about one member in one guild.
type Input struct {
	GuildID  uint64 // the @everyone role has the guild's ID
	OwnerID  uint64
	UserID   uint64
	Everyone Set   // the @everyone role's permissions
	Roles    []Set // permissions of the member's other roles
	// RoleIDs are the member's role IDs, for matching role overwrites.
	// The guild ID, if present, is skipped: the @everyone overwrite has
	// its own step and must not also count as one of the member's roles.
	RoleIDs []uint64
	// TimedOutUntil is the end of the member's timeout; zero means none.
	TimedOutUntil time.Time
	// Now is the moment to judge the timeout at. It is an input rather
	// than a clock read so that results are reproducible and cacheable.
	Now time.Time
}

// base is the member's guild-level permissions before any timeout, and
// whether the member is exempt from every rule below the guild level.
func base(in Input) (perms Set, exempt bool) {
	if in.UserID == in.OwnerID {
		return All, true
	}
	perms = in.Everyone
	for _, r := range in.Roles {
		perms |= r
	}
	if perms&Administrator != 0 {
		return All, true
	}
	// Role bits are not validated on the way in; undefined bits must not
	// reach a caller that compares against All.
	return perms & All, false
}

func timedOut(in Input) bool { return in.TimedOutUntil.After(in.Now) }

// Base is the member's guild-level permissions, Discord's
// computeBasePermissions: the owner has All; otherwise the union of
// @everyone and the member's roles, which is All if it holds Administrator.
// A timed-out member who is neither keeps only ViewChannel and
// ReadMessageHistory, as Discord does.
func Base(in Input) Set {
	perms, exempt := base(in)
	if !exempt && timedOut(in) {
		perms &= timedOutKeeps
	}
	return perms
}

// Channel is the member's permissions in a channel with the given
// overwrites, Discord's computeOverwrites applied to the base permissions:
// the owner and administrators have All; otherwise the @everyone overwrite
// applies, then the overwrites of all the member's roles together (every
// deny, then every allow, so that one role allowing a bit beats another
// denying it), then the member's own overwrite. Then Discord's implicit
// rules: without ViewChannel nothing remains, and without SendMessages the
// bits that ride on a message go too. A timeout is applied last, so that no
// overwrite can lift it.
//
// Discord keeps at most one overwrite per ID; should a slice hold several,
// they are merged as if they were one, so the result does not depend on
// their order.
func Channel(in Input, overwrites []Overwrite) Set {
	perms, exempt := base(in)
	if exempt {
		return All
	}
	var everyoneAllow, everyoneDeny, roleAllow, roleDeny, memberAllow, memberDeny Set
	for i := range overwrites {
		o := &overwrites[i]
		switch o.Type {
		case OverwriteRole:
			if o.ID == in.GuildID {
				everyoneAllow |= o.Allow
				everyoneDeny |= o.Deny
			} else if hasRole(in.RoleIDs, o.ID) {
				roleAllow |= o.Allow
				roleDeny |= o.Deny
			}
		case OverwriteMember:
			if o.ID == in.UserID {
				memberAllow |= o.Allow
				memberDeny |= o.Deny
			}
		}
	}
	perms = perms&^everyoneDeny | everyoneAllow
	perms = perms&^roleDeny | roleAllow
	perms = perms&^memberDeny | memberAllow
	perms &= All // as in base: overwrite bits are not validated either

	if perms&ViewChannel == 0 {
		return 0
	}
	if perms&SendMessages == 0 {
		perms &^= needSendMessages
	}
	if timedOut(in) {
		perms &= timedOutKeeps
	}
	return perms
}

// hasRole is a linear scan: members have a handful of roles, and a scan of a
// few words beats building a set for every check.
func hasRole(ids []uint64, id uint64) bool {
	for _, r := range ids {
		if r == id {
			return true
		}
	}
	return false
}

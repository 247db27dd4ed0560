package homeserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"hearth/discord"
	"hearth/homeserver/permission"
	"hearth/snowflake"
	"hearth/storage"
)

// Read states and mention counts (issue 13, spec/client-api.md "Read
// states"). A read state is a local user's own and never crosses
// homeservers: it works the same in this server's guilds and in replicas
// of other servers', whose messages are held here under local IDs.
//
// Mention counts are counted when asked (READY, an ack) rather than kept
// per user on the send path: a send writes a row per user and role it
// mentions with the message (storage's mention index) and nothing for a
// message that mentions nobody, so @everyone in a guild of thousands costs
// one flag, a deleted message stops counting by being gone, and what counts
// is decided by the user's settings and permissions of the moment.

// UserDispatch is the type of the bus event that carries a dispatch for
// one user's gateway sessions (MESSAGE_ACK, USER_GUILD_SETTINGS_UPDATE). It
// is internal (the gateway unwraps it) and ephemeral: a session that
// misses it finds the state in its next READY.
const UserDispatch = "HEARTH_USER_DISPATCH"

// UserDispatchPayload is its payload.
type UserDispatchPayload struct {
	UserID snowflake.ID    `json:"user_id"`
	Type   string          `json:"t"`
	Data   json.RawMessage `json:"d"`
	// Session, when set, names the one gateway session (its session_id)
	// the dispatch is for, as Discord's client events about a person's
	// own interactions are.
	Session string `json:"session,omitempty"`
}

// tellUser sends a dispatch to every gateway session of a user.
func (h *Homeserver) tellUser(userID snowflake.ID, typ string, d any) {
	data, err := json.Marshal(d)
	if err != nil {
		return
	}
	b, err := json.Marshal(UserDispatchPayload{UserID: userID, Type: typ, Data: data})
	if err != nil {
		return
	}
	h.publishEphemeral(storage.Event{Type: UserDispatch, Payload: b, CreatedAt: h.now()})
}

// mentionScanMax bounds the unread mentions one count reads; a user with
// more unread mentions than that sees at most this many.
const mentionScanMax = 10_000

// MaxBulkAcks is how many channels one bulk ack may name, as on Discord.
const MaxBulkAcks = 100

// ReadStateEntry is one channel's entry in READY's read_state.
type ReadStateEntry struct {
	// ID is the channel's.
	ID            snowflake.ID `json:"id"`
	LastMessageID snowflake.ID `json:"last_message_id"`
	MentionCount  int          `json:"mention_count"`
}

// ReadStates is READY's read_state, Discord's v9 form.
type ReadStates struct {
	Version int64            `json:"version"`
	Partial bool             `json:"partial"`
	Entries []ReadStateEntry `json:"entries"`
}

// MessageAck is the payload of MESSAGE_ACK.
type MessageAck struct {
	ChannelID    snowflake.ID `json:"channel_id"`
	MessageID    snowflake.ID `json:"message_id"`
	Version      int64        `json:"version"`
	MentionCount int          `json:"mention_count"`
	AckType      int          `json:"ack_type"`
	// Manual marks an ack that set the read state where the user put it
	// (Mark Unread), as Discord's MESSAGE_ACK does.
	Manual bool `json:"manual,omitempty"`
}

// Ack is one channel of a bulk ack.
type Ack struct {
	ChannelID snowflake.ID
	MessageID snowflake.ID
}

// AckMessage marks a channel read up to a message. An ordinary ack only
// moves the read state forward, so an ack of an older message changes
// nothing; a manual one (Discord's "Mark Unread": the client acks the
// message before the first it marks unread, with manual set) sets it
// there, back or forward. The user's sessions are told with MESSAGE_ACK.
func (h *Homeserver) AckMessage(ctx context.Context, p Principal, channelID, messageID snowflake.ID, manual bool) error {
	if !manual {
		return h.AckBulk(ctx, p, []Ack{{ChannelID: channelID, MessageID: messageID}})
	}
	if p.User.Bot {
		return ErrBotsForbidden
	}
	if err := h.checkAck(ctx, p, Ack{ChannelID: channelID, MessageID: messageID}); err != nil {
		return domainErr("ack", err)
	}
	var rs storage.ReadState
	err := h.update(ctx, func(tx storage.Tx, _ *events) error {
		var err error
		rs, err = tx.SetReadState(ctx, p.User.ID, channelID, messageID)
		return err
	})
	if err != nil {
		return storeErr("ack", err)
	}
	n, err := h.mentionCount(ctx, p.User.ID, channelID)
	if err != nil {
		return storeErr("ack", err)
	}
	h.tellUser(p.User.ID, "MESSAGE_ACK", MessageAck{ChannelID: channelID, MessageID: messageID,
		Version: rs.Version, MentionCount: n, Manual: true})
	return nil
}

// AckBulk marks several channels read at once (a guild marked read). Every
// ack is checked before any is written: one bad ack changes nothing.
func (h *Homeserver) AckBulk(ctx context.Context, p Principal, acks []Ack) error {
	if p.User.Bot {
		return ErrBotsForbidden
	}
	if len(acks) == 0 || len(acks) > MaxBulkAcks {
		return Invalid("read_states", "BASE_TYPE_BAD_LENGTH", fmt.Sprintf("Must be between 1 and %d in length.", MaxBulkAcks))
	}
	states := make([]storage.ReadState, 0, len(acks))
	for _, a := range acks {
		if err := h.checkAck(ctx, p, a); err != nil {
			return domainErr("ack", err)
		}
		states = append(states, storage.ReadState{ChannelID: a.ChannelID, LastMessageID: a.MessageID})
	}
	var moved []storage.ReadState
	err := h.update(ctx, func(tx storage.Tx, _ *events) error {
		var err error
		moved, err = tx.AckChannels(ctx, p.User.ID, states)
		return err
	})
	if err != nil {
		return storeErr("ack", err)
	}
	for _, s := range moved {
		n, err := h.mentionCount(ctx, p.User.ID, s.ChannelID)
		if err != nil {
			return storeErr("ack", err)
		}
		h.tellUser(p.User.ID, "MESSAGE_ACK", MessageAck{ChannelID: s.ChannelID, MessageID: s.LastMessageID,
			Version: s.Version, MentionCount: n})
	}
	return nil
}

// checkAck: the channel is one the user can see, and the message is in it.
func (h *Homeserver) checkAck(ctx context.Context, p Principal, a Ack) error {
	pl, err := h.placeOf(ctx, h.hot, a.ChannelID, p.User.ID)
	if err != nil {
		return err
	}
	if !pl.perms.Has(permission.ViewChannel) {
		return fmt.Errorf("channel %d: %w", a.ChannelID, ErrMissingAccess)
	}
	if _, err := h.store.Message(ctx, a.ChannelID, a.MessageID); errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("message %d: %w", a.MessageID, ErrUnknownMessage)
	} else if err != nil {
		return err
	}
	return nil
}

// ReadStates are a user's read states with their mention counts, as
// READY's read_state: every channel the user has acked or is mentioned in
// unread, among those they can see now.
func (h *Homeserver) ReadStates(ctx context.Context, p Principal) (ReadStates, error) {
	out := ReadStates{Entries: []ReadStateEntry{}}
	if p.User.Bot {
		return out, nil // bots have no read states, as on Discord
	}
	states, err := h.store.ReadStates(ctx, p.User.ID)
	if err != nil {
		return out, storeErr("read states", err)
	}
	counts, err := h.mentionCounts(ctx, p.User.ID, 0)
	if err != nil {
		return out, storeErr("read states", err)
	}
	visible := h.viewer(ctx, p.User.ID)
	for _, s := range states {
		out.Version += s.Version
		if !visible(s.ChannelID) {
			continue
		}
		out.Entries = append(out.Entries, ReadStateEntry{ID: s.ChannelID, LastMessageID: s.LastMessageID, MentionCount: counts[s.ChannelID]})
		delete(counts, s.ChannelID)
	}
	// Channels never acked with unread mentions (counts holds only
	// visible channels).
	for ch, n := range counts {
		out.Entries = append(out.Entries, ReadStateEntry{ID: ch, MentionCount: n})
	}
	slices.SortFunc(out.Entries, func(a, b ReadStateEntry) int { return cmpID(a.ID, b.ID) })
	return out, nil
}

func cmpID(a, b snowflake.ID) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// viewer answers whether a user may see a channel now, asking once per
// channel.
func (h *Homeserver) viewer(ctx context.Context, userID snowflake.ID) func(snowflake.ID) bool {
	seen := map[snowflake.ID]bool{}
	return func(ch snowflake.ID) bool {
		may, ok := seen[ch]
		if !ok {
			may = h.ChannelPermissions(ctx, userID, ch).Has(permission.ViewChannel)
			seen[ch] = may
		}
		return may
	}
}

// mentionCount is one channel's unread mention count for a user.
func (h *Homeserver) mentionCount(ctx context.Context, userID, channelID snowflake.ID) (int, error) {
	counts, err := h.mentionCounts(ctx, userID, channelID)
	return counts[channelID], err
}

// mentionCounts counts a user's unread mentions per channel (one channel's
// when channelID is set): in guilds, each message that mentions them once
// however many ways, leaving out @everyone and @here where they suppress
// those and role mentions where they suppress roles, and channels they
// cannot see; in DMs every message of the others. Channels with none are
// left out.
func (h *Homeserver) mentionCounts(ctx context.Context, userID, channelID snowflake.ID) (map[snowflake.ID]int, error) {
	ms, err := h.store.UnreadMentions(ctx, userID, channelID, mentionScanMax)
	if err != nil {
		return nil, err
	}
	counts := map[snowflake.ID]int{}
	if len(ms) > 0 {
		settings, err := h.store.UserGuildSettings(ctx, userID)
		if err != nil {
			return nil, err
		}
		bySettings := make(map[snowflake.ID]storage.GuildSettings, len(settings))
		for _, s := range settings {
			bySettings[s.GuildID] = s
		}
		visible := h.viewer(ctx, userID)
		counted := map[snowflake.ID]bool{}
		for _, m := range ms {
			s := bySettings[m.GuildID]
			if counted[m.MessageID] || (m.Kind == storage.MentionEveryone && s.SuppressEveryone) ||
				(m.Kind == storage.MentionRole && s.SuppressRoles) || !visible(m.ChannelID) {
				continue
			}
			counted[m.MessageID] = true
			counts[m.ChannelID]++
		}
	}
	dms, err := h.store.UnreadDMCounts(ctx, userID, channelID)
	if err != nil {
		return nil, err
	}
	for ch, n := range dms {
		counts[ch] += n
	}
	return counts, nil
}

// Guild notification settings.

// MuteConfig is Discord's mute_config: when a timed mute ends.
type MuteConfig struct {
	EndTime            *discord.Timestamp `json:"end_time"`
	SelectedTimeWindow int                `json:"selected_time_window"`
}

// ChannelOverride is one channel's entry of channel_overrides.
type ChannelOverride struct {
	ChannelID            snowflake.ID `json:"channel_id"`
	Muted                bool         `json:"muted"`
	MuteConfig           *MuteConfig  `json:"mute_config"`
	MessageNotifications int          `json:"message_notifications"`
	Collapsed            bool         `json:"collapsed"`
}

// GuildSettings is Discord's user guild settings object.
type GuildSettings struct {
	GuildID              snowflake.ID      `json:"guild_id"`
	Muted                bool              `json:"muted"`
	MuteConfig           *MuteConfig       `json:"mute_config"`
	MessageNotifications int               `json:"message_notifications"`
	SuppressEveryone     bool              `json:"suppress_everyone"`
	SuppressRoles        bool              `json:"suppress_roles"`
	MobilePush           bool              `json:"mobile_push"`
	HideMutedChannels    bool              `json:"hide_muted_channels"`
	MuteScheduledEvents  bool              `json:"mute_scheduled_events"`
	NotifyHighlights     int               `json:"notify_highlights"`
	Flags                int               `json:"flags"`
	ChannelOverrides     []ChannelOverride `json:"channel_overrides"`
	Version              int64             `json:"version"`
}

// AllGuildSettings is READY's user_guild_settings.
type AllGuildSettings struct {
	Version int64           `json:"version"`
	Partial bool            `json:"partial"`
	Entries []GuildSettings `json:"entries"`
}

// GuildSettingsPatch changes a user's settings for a guild; what is not
// set stays.
type GuildSettingsPatch struct {
	Muted Optional[bool]
	// MuteEndTime ends a mute; Null (or not set with Muted) for a mute
	// until unmuted.
	MuteEndTime          Optional[time.Time]
	MessageNotifications Optional[int]
	SuppressEveryone     Optional[bool]
	SuppressRoles        Optional[bool]
	ChannelOverrides     []ChannelOverridePatch
}

// ChannelOverridePatch changes one channel's override.
type ChannelOverridePatch struct {
	ChannelID            snowflake.ID
	Muted                Optional[bool]
	MuteEndTime          Optional[time.Time]
	MessageNotifications Optional[int]
}

// Values of message_notifications.
const (
	NotifyAll      = 0
	NotifyMentions = 1
	NotifyNothing  = 2
	// NotifyInherit, in a channel override, follows the guild's setting.
	NotifyInherit = 3
)

// guildSettingsDefaults are a user's settings in a guild they never set
// any for: Discord's defaults, with the guild's notification level (a
// Hearth guild's is always "all messages").
func guildSettingsDefaults(userID, guildID snowflake.ID) storage.GuildSettings {
	return storage.GuildSettings{UserID: userID, GuildID: guildID, MessageNotifications: NotifyAll}
}

// UpdateGuildSettings changes a user's notification settings for a guild
// they are a member of, and tells their sessions with
// USER_GUILD_SETTINGS_UPDATE.
func (h *Homeserver) UpdateGuildSettings(ctx context.Context, p Principal, guildID snowflake.ID, in GuildSettingsPatch) (GuildSettings, error) {
	if p.User.Bot {
		return GuildSettings{}, ErrBotsForbidden
	}
	if _, err := h.loadAccess(ctx, h.hot, guildID, p.User.ID); err != nil {
		return GuildSettings{}, domainErr("guild settings", err)
	}
	v := &ValidationError{}
	level := func(field string, o Optional[int], max int) {
		if o.Set && (o.Null || o.Value < 0 || o.Value > max) {
			v.Add(field, "BASE_TYPE_CHOICES", fmt.Sprintf("Value must be one of %v.", choices(max)))
		}
	}
	level("message_notifications", in.MessageNotifications, NotifyNothing)
	for _, o := range in.ChannelOverrides {
		level(fmt.Sprintf("channel_overrides.%d.message_notifications", o.ChannelID), o.MessageNotifications, NotifyInherit)
	}
	if err := v.Err(); err != nil {
		return GuildSettings{}, err
	}
	for _, o := range in.ChannelOverrides {
		c, err := h.hot.ChannelByID(ctx, o.ChannelID)
		if err != nil || c.GuildID != guildID {
			return GuildSettings{}, fmt.Errorf("channel override %d: %w", o.ChannelID, ErrUnknownChannel)
		}
	}
	var out storage.GuildSettings
	err := h.update(ctx, func(tx storage.Tx, _ *events) error {
		cur, err := tx.UserGuildSettingsOf(ctx, p.User.ID, guildID)
		if errors.Is(err, storage.ErrNotFound) {
			cur = guildSettingsDefaults(p.User.ID, guildID)
		} else if err != nil {
			return err
		}
		applyGuildSettings(&cur, in)
		cur.Version++
		out = cur
		return tx.PutUserGuildSettings(ctx, cur)
	})
	if err != nil {
		return GuildSettings{}, domainErr("guild settings", err)
	}
	rendered := h.renderGuildSettings(out)
	h.tellUser(p.User.ID, "USER_GUILD_SETTINGS_UPDATE", rendered)
	return rendered, nil
}

func choices(max int) []int {
	out := make([]int, max+1)
	for i := range out {
		out[i] = i
	}
	return out
}

// applyGuildSettings changes s as in says.
func applyGuildSettings(s *storage.GuildSettings, in GuildSettingsPatch) {
	if in.Muted.Set {
		s.Muted = in.Muted.Value && !in.Muted.Null
		if !s.Muted {
			s.MuteEndTime = time.Time{}
		}
	}
	if in.MuteEndTime.Set {
		s.MuteEndTime = time.Time{}
		if !in.MuteEndTime.Null {
			s.MuteEndTime = in.MuteEndTime.Value
		}
	}
	if in.MessageNotifications.Set {
		s.MessageNotifications = in.MessageNotifications.Value
	}
	if in.SuppressEveryone.Set {
		s.SuppressEveryone = in.SuppressEveryone.Value && !in.SuppressEveryone.Null
	}
	if in.SuppressRoles.Set {
		s.SuppressRoles = in.SuppressRoles.Value && !in.SuppressRoles.Null
	}
	for _, o := range in.ChannelOverrides {
		i := slices.IndexFunc(s.ChannelOverrides, func(c storage.ChannelOverride) bool { return c.ChannelID == o.ChannelID })
		if i < 0 {
			s.ChannelOverrides = append(s.ChannelOverrides, storage.ChannelOverride{ChannelID: o.ChannelID, MessageNotifications: NotifyInherit})
			i = len(s.ChannelOverrides) - 1
		}
		c := &s.ChannelOverrides[i]
		if o.Muted.Set {
			c.Muted = o.Muted.Value && !o.Muted.Null
			if !c.Muted {
				c.MuteEndTime = 0
			}
		}
		if o.MuteEndTime.Set {
			c.MuteEndTime = 0
			if !o.MuteEndTime.Null {
				c.MuteEndTime = o.MuteEndTime.Value.UnixMilli()
			}
		}
		if o.MessageNotifications.Set {
			c.MessageNotifications = o.MessageNotifications.Value
		}
	}
	slices.SortFunc(s.ChannelOverrides, func(a, b storage.ChannelOverride) int { return cmpID(a.ChannelID, b.ChannelID) })
}

// renderGuildSettings is Discord's shape of stored settings. A timed mute
// that has ended reads as no mute.
func (h *Homeserver) renderGuildSettings(s storage.GuildSettings) GuildSettings {
	now := h.now()
	out := GuildSettings{GuildID: s.GuildID, MessageNotifications: s.MessageNotifications, SuppressEveryone: s.SuppressEveryone,
		SuppressRoles: s.SuppressRoles, MobilePush: true, Version: s.Version, ChannelOverrides: []ChannelOverride{}}
	out.Muted, out.MuteConfig = muteOf(s.Muted, s.MuteEndTime, now)
	for _, c := range s.ChannelOverrides {
		var end time.Time
		if c.MuteEndTime != 0 {
			end = time.UnixMilli(c.MuteEndTime).UTC()
		}
		o := ChannelOverride{ChannelID: c.ChannelID, MessageNotifications: c.MessageNotifications}
		o.Muted, o.MuteConfig = muteOf(c.Muted, end, now)
		out.ChannelOverrides = append(out.ChannelOverrides, o)
	}
	return out
}

func muteOf(muted bool, end, now time.Time) (bool, *MuteConfig) {
	if !muted || end.IsZero() {
		return muted, nil
	}
	if !now.Before(end) {
		return false, nil
	}
	ts := discord.Timestamp(end)
	return true, &MuteConfig{EndTime: &ts, SelectedTimeWindow: int(end.Sub(now).Seconds())}
}

// GuildSettings are a user's settings for one guild they are a member of
// (defaults when they never set any).
func (h *Homeserver) GuildSettings(ctx context.Context, p Principal, guildID snowflake.ID) (GuildSettings, error) {
	if _, err := h.loadAccess(ctx, h.hot, guildID, p.User.ID); err != nil {
		return GuildSettings{}, domainErr("guild settings", err)
	}
	s, err := h.store.UserGuildSettingsOf(ctx, p.User.ID, guildID)
	if errors.Is(err, storage.ErrNotFound) {
		s = guildSettingsDefaults(p.User.ID, guildID)
	} else if err != nil {
		return GuildSettings{}, storeErr("guild settings", err)
	}
	return h.renderGuildSettings(s), nil
}

// AllGuildSettings are READY's user_guild_settings: the settings a user
// has set, in the guilds they are still a member of.
func (h *Homeserver) AllGuildSettings(ctx context.Context, p Principal) (AllGuildSettings, error) {
	out := AllGuildSettings{Entries: []GuildSettings{}}
	if p.User.Bot {
		return out, nil
	}
	list, err := h.store.UserGuildSettings(ctx, p.User.ID)
	if err != nil {
		return out, storeErr("guild settings", err)
	}
	for _, s := range list {
		out.Version += s.Version
		if _, err := h.loadAccess(ctx, h.hot, s.GuildID, p.User.ID); err != nil {
			continue
		}
		out.Entries = append(out.Entries, h.renderGuildSettings(s))
	}
	return out, nil
}

// HereMentioned records that a message mentioning @here reached these
// users while they were present (the gateway knows who is); a message that
// is gone by now is nothing to record.
func (h *Homeserver) HereMentioned(ctx context.Context, messageID snowflake.ID, users []snowflake.ID) error {
	err := h.store.Update(ctx, func(tx storage.Tx) error { return tx.AddHereMentions(ctx, messageID, users) })
	if err != nil && !errors.Is(err, storage.ErrDangling) {
		return storeErr("here mentions", err)
	}
	return nil
}

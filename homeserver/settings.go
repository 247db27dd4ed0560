package homeserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"hearth/snowflake"
	"hearth/storage"
)

// User settings (spec/client-api.md, "User settings"): Discord's legacy
// user_settings object, stored per user and given to every device in
// READY. PATCH /users/@me/settings changes the fields it names; the
// user's sessions hear USER_SETTINGS_UPDATE. A custom status with an end
// is shown until then: reads drop an ended one, and the maintenance sweep
// (EndCustomStatuses) clears it and tells the user's sessions.

// CustomStatus is the settings' custom_status.
type CustomStatus struct {
	Text      *string       `json:"text"`
	EmojiID   *snowflake.ID `json:"emoji_id"`
	EmojiName *string       `json:"emoji_name"`
	// ExpiresAt is an ISO 8601 time, or null for a status that stays.
	ExpiresAt *string `json:"expires_at"`
}

// expiry is when the custom status ends; zero when it does not.
func (c *CustomStatus) expiry() time.Time {
	if c == nil || c.ExpiresAt == nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, *c.ExpiresAt)
	if err != nil {
		return time.Time{}
	}
	return t
}

// UserSettings are a user's settings, Discord's legacy shape, plus
// Hearth's DM policy (dm_friends_only).
type UserSettings struct {
	Status                  string         `json:"status"`
	CustomStatus            *CustomStatus  `json:"custom_status"`
	Theme                   string         `json:"theme"`
	Locale                  string         `json:"locale"`
	DeveloperMode           bool           `json:"developer_mode"`
	MessageDisplayCompact   bool           `json:"message_display_compact"`
	InlineEmbedMedia        bool           `json:"inline_embed_media"`
	InlineAttachmentMedia   bool           `json:"inline_attachment_media"`
	RenderEmbeds            bool           `json:"render_embeds"`
	RenderReactions         bool           `json:"render_reactions"`
	AnimateEmoji            bool           `json:"animate_emoji"`
	EnableTTSCommand        bool           `json:"enable_tts_command"`
	ShowCurrentGame         bool           `json:"show_current_game"`
	ConvertEmoticons        bool           `json:"convert_emoticons"`
	DefaultGuildsRestricted bool           `json:"default_guilds_restricted"`
	TimezoneOffset          int            `json:"timezone_offset"`
	ExplicitContentFilter   int            `json:"explicit_content_filter"`
	GuildPositions          []snowflake.ID `json:"guild_positions"`
	RestrictedGuilds        []snowflake.ID `json:"restricted_guilds"`
	// DMFriendsOnly refuses one-to-one DMs from anyone but friends; it is
	// kept apart (the DM checks read it) and not in the stored document.
	DMFriendsOnly bool `json:"dm_friends_only"`
}

// defaultSettings are a user's settings before they change any: Discord's
// defaults.
func defaultSettings() UserSettings {
	return UserSettings{
		Status: "online", Theme: "dark", Locale: "en-US", InlineEmbedMedia: true, InlineAttachmentMedia: true,
		RenderEmbeds: true, RenderReactions: true, AnimateEmoji: true, EnableTTSCommand: true,
		ShowCurrentGame: true, ConvertEmoticons: true, ExplicitContentFilter: 1,
		GuildPositions: []snowflake.ID{}, RestrictedGuilds: []snowflake.ID{},
	}
}

// Bounds on settings.
const (
	CustomStatusTextMax = 128
	settingsListMax     = 500
)

// Statuses a user may set.
var settableStatuses = map[string]bool{"online": true, "idle": true, "dnd": true, "invisible": true}

// readSettings is a user's settings as stored, over the defaults, with an
// ended custom status dropped.
func (h *Homeserver) readSettings(ctx context.Context, r storage.Reader, userID snowflake.ID) (UserSettings, error) {
	s := defaultSettings()
	row, err := r.UserSettings(ctx, userID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return UserSettings{}, err
	}
	if err == nil {
		if err := json.Unmarshal([]byte(row.Settings), &s); err != nil {
			// A document this code wrote; if it is unreadable the user
			// gets the defaults rather than no READY.
			h.log.Warn("unreadable user settings; using the defaults", "user_id", userID, "err", err)
			s = defaultSettings()
		}
	}
	if end := s.CustomStatus.expiry(); !end.IsZero() && !end.After(h.now()) {
		s.CustomStatus = nil
	}
	if s.GuildPositions == nil {
		s.GuildPositions = []snowflake.ID{}
	}
	if s.RestrictedGuilds == nil {
		s.RestrictedGuilds = []snowflake.ID{}
	}
	if s.DMFriendsOnly, err = r.DMFriendsOnly(ctx, userID); err != nil {
		return UserSettings{}, err
	}
	return s, nil
}

// Settings returns the caller's settings.
func (h *Homeserver) Settings(ctx context.Context, p Principal) (UserSettings, error) {
	s, err := h.readSettings(ctx, h.store, p.User.ID)
	if err != nil {
		return UserSettings{}, storeErr("settings", err)
	}
	return s, nil
}

// UpdateSettings applies a PATCH of the settings (the JSON fields it
// names; Discord's settings Hearth does not keep are ignored), stores
// them, tells the user's sessions with USER_SETTINGS_UPDATE, and answers
// them.
func (h *Homeserver) UpdateSettings(ctx context.Context, p Principal, fields map[string]json.RawMessage) (UserSettings, error) {
	now := h.now()
	var out UserSettings
	err := h.store.Update(ctx, func(tx storage.Tx) error {
		if err := tx.LockUser(ctx, p.User.ID); err != nil {
			return err
		}
		s, err := h.readSettings(ctx, tx, p.User.ID)
		if err != nil {
			return err
		}
		dm := s.DMFriendsOnly
		if err := applySettings(&s, fields, now); err != nil {
			return err
		}
		if s.DMFriendsOnly != dm {
			if err := tx.SetDMFriendsOnly(ctx, p.User.ID, s.DMFriendsOnly); err != nil {
				return err
			}
		}
		if err := writeSettings(ctx, tx, p.User.ID, s); err != nil {
			return err
		}
		out = s
		return nil
	})
	var v *ValidationError
	if errors.As(err, &v) {
		return UserSettings{}, err
	}
	if err != nil {
		return UserSettings{}, storeErr("settings", err)
	}
	h.tellUser(p.User.ID, "USER_SETTINGS_UPDATE", out)
	return out, nil
}

// writeSettings stores s (without the DM policy, kept apart).
func writeSettings(ctx context.Context, tx storage.Tx, userID snowflake.ID, s UserSettings) error {
	stored := s
	stored.DMFriendsOnly = false
	b, err := json.Marshal(stored)
	if err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	return tx.SetUserSettings(ctx, storage.UserSettingsRow{UserID: userID, Settings: string(b),
		CustomStatusExpiresAt: s.CustomStatus.expiry()})
}

// applySettings sets the fields a PATCH names on s, checking each.
func applySettings(s *UserSettings, fields map[string]json.RawMessage, now time.Time) error {
	v := &ValidationError{}
	bools := map[string]*bool{
		"developer_mode": &s.DeveloperMode, "message_display_compact": &s.MessageDisplayCompact,
		"inline_embed_media": &s.InlineEmbedMedia, "inline_attachment_media": &s.InlineAttachmentMedia,
		"render_embeds": &s.RenderEmbeds, "render_reactions": &s.RenderReactions, "animate_emoji": &s.AnimateEmoji,
		"enable_tts_command": &s.EnableTTSCommand, "show_current_game": &s.ShowCurrentGame,
		"convert_emoticons": &s.ConvertEmoticons, "default_guilds_restricted": &s.DefaultGuildsRestricted,
		"dm_friends_only": &s.DMFriendsOnly,
	}
	for key, raw := range fields {
		if string(raw) == "null" && key != "custom_status" {
			continue // Discord's "leave it" for a setting that cannot be null
		}
		if b, ok := bools[key]; ok {
			if json.Unmarshal(raw, b) != nil {
				v.Add(key, "BASE_TYPE_BOOLEAN", "Must be either true or false.")
			}
			continue
		}
		switch key {
		case "status":
			var st string
			if json.Unmarshal(raw, &st) != nil || !settableStatuses[st] {
				v.Add(key, "BASE_TYPE_CHOICES", "Value must be one of ('online', 'idle', 'dnd', 'invisible').")
				continue
			}
			s.Status = st
		case "theme":
			var th string
			if json.Unmarshal(raw, &th) != nil || (th != "dark" && th != "light") {
				v.Add(key, "BASE_TYPE_CHOICES", "Value must be one of ('dark', 'light').")
				continue
			}
			s.Theme = th
		case "locale":
			var l string
			if json.Unmarshal(raw, &l) != nil || !validLocale(l) {
				v.Add(key, "LOCALE_INVALID", "Invalid locale.")
				continue
			}
			s.Locale = l
		case "timezone_offset":
			var n int
			if json.Unmarshal(raw, &n) != nil || n < -840 || n > 840 {
				v.Add(key, "NUMBER_TYPE_MAX", "Must be between -840 and 840.")
				continue
			}
			s.TimezoneOffset = n
		case "explicit_content_filter":
			var n int
			if json.Unmarshal(raw, &n) != nil || n < 0 || n > 2 {
				v.Add(key, "BASE_TYPE_CHOICES", "Value must be one of (0, 1, 2).")
				continue
			}
			s.ExplicitContentFilter = n
		case "guild_positions", "restricted_guilds":
			var ids []snowflake.ID
			if json.Unmarshal(raw, &ids) != nil || len(ids) > settingsListMax {
				v.Add(key, "BASE_TYPE_BAD_LENGTH", fmt.Sprintf("Must be a list of at most %d snowflakes.", settingsListMax))
				continue
			}
			if ids == nil {
				ids = []snowflake.ID{}
			}
			if key == "guild_positions" {
				s.GuildPositions = ids
			} else {
				s.RestrictedGuilds = ids
			}
		case "custom_status":
			cs, err := customStatus(raw, now)
			if err != nil {
				v.Add(key, "BASE_TYPE_INVALID", err.Error())
				continue
			}
			s.CustomStatus = cs
		}
	}
	return v.Err()
}

// customStatus checks a custom_status value; an empty or already ended
// one is none.
func customStatus(raw json.RawMessage, now time.Time) (*CustomStatus, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	var cs CustomStatus
	if err := json.Unmarshal(raw, &cs); err != nil {
		return nil, errors.New("Must be an object of text, emoji_id, emoji_name and expires_at.")
	}
	if cs.Text != nil && utf8.RuneCountInString(*cs.Text) > CustomStatusTextMax {
		return nil, fmt.Errorf("Text must be %d or fewer in length.", CustomStatusTextMax)
	}
	if cs.EmojiName != nil && utf8.RuneCountInString(*cs.EmojiName) > 32 {
		return nil, errors.New("Emoji name must be 32 or fewer in length.")
	}
	if cs.EmojiID != nil && *cs.EmojiID == 0 {
		cs.EmojiID = nil
	}
	if cs.ExpiresAt != nil {
		t, err := time.Parse(time.RFC3339Nano, *cs.ExpiresAt)
		if err != nil {
			return nil, errors.New("expires_at must be an ISO 8601 timestamp.")
		}
		if !t.After(now) {
			return nil, nil
		}
		norm := t.UTC().Format(time.RFC3339Nano)
		cs.ExpiresAt = &norm
	}
	if (cs.Text == nil || *cs.Text == "") && cs.EmojiID == nil && (cs.EmojiName == nil || *cs.EmojiName == "") {
		return nil, nil
	}
	return &cs, nil
}

// validLocale accepts a language tag as Discord's locales are written
// ("en-US", "fr"): letters, digits and '-', at most 16.
func validLocale(l string) bool {
	if l == "" || len(l) > 16 {
		return false
	}
	for _, r := range l {
		if !(r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// expiredSweepBatch bounds one sweep's users.
const expiredSweepBatch = 500

// EndCustomStatuses clears the custom statuses that have ended
// and tells each user's sessions (USER_SETTINGS_UPDATE); the maintenance
// loop runs it. It returns how many it cleared.
func (h *Homeserver) EndCustomStatuses(ctx context.Context) (int, error) {
	ids, err := h.store.ExpiredCustomStatuses(ctx, h.now(), expiredSweepBatch)
	if err != nil {
		return 0, storeErr("clear custom statuses", err)
	}
	n := 0
	for _, id := range ids {
		var out UserSettings
		err := h.store.Update(ctx, func(tx storage.Tx) error {
			if err := tx.LockUser(ctx, id); err != nil {
				return err
			}
			// readSettings drops the ended status; one changed since the
			// listing is written back as it now is.
			s, err := h.readSettings(ctx, tx, id)
			if err != nil {
				return err
			}
			out = s
			return writeSettings(ctx, tx, id, s)
		})
		if err != nil {
			return n, storeErr("clear custom statuses", err)
		}
		n++
		h.tellUser(id, "USER_SETTINGS_UPDATE", out)
	}
	return n, nil
}

package homeserver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"hearth/discord"
	"hearth/homeserver/permission"
	"hearth/snowflake"
	"hearth/storage"
)

// What the gateway asks of the domain: the state a session starts from and
// who may see each event. The answers come from the state cache, since the
// gateway asks for every event and every session.

// GuildState is a GUILD_CREATE payload as one member sees the guild.
type GuildState struct {
	discord.Guild
	JoinedAt             discord.Timestamp `json:"joined_at"`
	Large                bool              `json:"large"`
	Unavailable          bool              `json:"unavailable"`
	MemberCount          int               `json:"member_count"`
	Channels             []discord.Channel `json:"channels"`
	Threads              []discord.Channel `json:"threads"`
	Members              []discord.Member  `json:"members"`
	Presences            []any             `json:"presences"`
	VoiceStates          []any             `json:"voice_states"`
	StageInstances       []any             `json:"stage_instances"`
	GuildScheduledEvents []any             `json:"guild_scheduled_events"`
	SoundboardSounds     []any             `json:"soundboard_sounds"`
}

// LargeThreshold is the member count above which a guild is "large" and
// its GUILD_CREATE carries only the session's own member.
const LargeThreshold = 250

// GuildIDs lists the guilds a user is in.
func (h *Homeserver) GuildIDs(ctx context.Context, userID snowflake.ID) ([]snowflake.ID, error) {
	gs, err := h.store.UserGuilds(ctx, userID)
	if err != nil {
		return nil, storeErr("guild ids", err)
	}
	out := make([]snowflake.ID, len(gs))
	for i, g := range gs {
		out[i] = g.ID
	}
	return out, nil
}

// GuildState builds what a member's session receives as GUILD_CREATE: the
// channels and active threads it may view, roles, emoji, and members (all
// of them up to LargeThreshold, else only the member itself).
func (h *Homeserver) GuildState(ctx context.Context, p Principal, guildID snowflake.ID) (GuildState, error) {
	return h.guildState(ctx, h.store, p, guildID)
}

func (h *Homeserver) guildState(ctx context.Context, r storage.Reader, p Principal, guildID snowflake.ID) (GuildState, error) {
	a, err := h.loadAccess(ctx, r, guildID, p.User.ID)
	if err != nil {
		return GuildState{}, err
	}
	emojis, err := r.GuildEmojis(ctx, guildID)
	if err != nil {
		return GuildState{}, storeErr("guild state", err)
	}
	cs, err := r.GuildChannels(ctx, guildID)
	if err != nil {
		return GuildState{}, storeErr("guild state", err)
	}
	n, err := r.MemberCount(ctx, guildID)
	if err != nil {
		return GuildState{}, storeErr("guild state", err)
	}
	out := GuildState{
		Guild: discordGuild(a.guild, a.roles, emojis), JoinedAt: discord.Timestamp(a.member.JoinedAt),
		Large: n > LargeThreshold, MemberCount: n, Channels: []discord.Channel{}, Threads: []discord.Channel{},
		Presences: []any{}, VoiceStates: []any{}, StageInstances: []any{}, GuildScheduledEvents: []any{},
		SoundboardSounds: []any{},
	}
	for _, c := range cs {
		if a.in(c).Has(permission.ViewChannel) {
			out.Channels = append(out.Channels, discordChannel(c))
		}
	}
	if ts, err := h.threadList(ctx, a, mustThreads(r.ActiveThreads(ctx, guildID)), p.User.ID, nil); err == nil {
		out.Threads = ts.Threads
	}
	if out.Large {
		u, err := h.hot.UserByID(ctx, p.User.ID)
		if err != nil {
			return GuildState{}, storeErr("guild state", err)
		}
		out.Members = []discord.Member{discordMember(a.member, u)}
		return out, nil
	}
	ms, err := r.Members(ctx, guildID, 0, LargeThreshold)
	if err != nil {
		return GuildState{}, storeErr("guild state", err)
	}
	for _, m := range ms {
		if u, err := h.hot.UserByID(ctx, m.UserID); err == nil {
			out.Members = append(out.Members, discordMember(m, u))
		}
	}
	return out, nil
}

func mustThreads(ts []storage.Channel, err error) []storage.Channel {
	if err != nil {
		return nil
	}
	return ts
}

// ChannelPermissions are what a user may do in a channel (guild, thread or
// DM); 0 when the user cannot know the channel.
func (h *Homeserver) ChannelPermissions(ctx context.Context, userID, channelID snowflake.ID) permission.Set {
	pl, err := h.placeOf(ctx, h.hot, channelID, userID)
	if err != nil {
		return 0
	}
	return pl.perms
}

// GuildPermissions are a user's guild-level permissions; 0 for a
// non-member.
func (h *Homeserver) GuildPermissions(ctx context.Context, userID, guildID snowflake.ID) permission.Set {
	a, err := h.loadAccess(ctx, h.hot, guildID, userID)
	if err != nil {
		return 0
	}
	return a.base
}

// Recipients lists the members of a DM channel; nil for other channels.
func (h *Homeserver) Recipients(ctx context.Context, channelID snowflake.ID) []snowflake.ID {
	c, err := h.hot.ChannelByID(ctx, channelID)
	if err != nil || c.GuildID != 0 {
		return nil
	}
	return c.Recipients
}

// GuildMembers answers the gateway's REQUEST_GUILD_MEMBERS: members whose
// name starts with query (all, when query is ""), or the listed users; at
// most limit (0: all, up to 1000 a call... the gateway pages them).
func (h *Homeserver) GuildMembers(ctx context.Context, p Principal, guildID snowflake.ID, query string, userIDs []snowflake.ID, limit int) ([]discord.Member, error) {
	if _, err := h.loadAccess(ctx, h.hot, guildID, p.User.ID); err != nil {
		return nil, err
	}
	var out []discord.Member
	add := func(m storage.Member) {
		if u, err := h.hot.UserByID(ctx, m.UserID); err == nil {
			if query == "" || hasPrefixFold(u.Username, query) || hasPrefixFold(m.Nick, query) {
				out = append(out, discordMember(m, u))
			}
		}
	}
	if len(userIDs) > 0 {
		for _, id := range userIDs {
			if m, err := h.store.Member(ctx, guildID, id); err == nil {
				add(m)
			} else if !errors.Is(err, storage.ErrNotFound) {
				return nil, storeErr("guild members", err)
			}
		}
		return out, nil
	}
	var after snowflake.ID
	for {
		page, err := h.store.Members(ctx, guildID, after, 1000)
		if err != nil {
			return nil, storeErr("guild members", err)
		}
		for _, m := range page {
			add(m)
			if limit > 0 && len(out) >= limit {
				return out, nil
			}
		}
		if len(page) < 1000 {
			return out, nil
		}
		after = page[len(page)-1].UserID
	}
}

func hasPrefixFold(s, prefix string) bool {
	if len(prefix) > len(s) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		a, b := s[i], prefix[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// SignedIn returns the principal of a user's sign-in session, or
// ErrUnauthorized when the session has ended: a gateway session restored
// after a restart belongs to the sign-in that identified it.
func (h *Homeserver) SignedIn(ctx context.Context, userID, session snowflake.ID) (Principal, error) {
	s, err := h.store.SessionByID(ctx, session)
	if errors.Is(err, storage.ErrNotFound) || err == nil && s.UserID != userID {
		return Principal{}, fmt.Errorf("session %d of user %d: %w", session, userID, ErrUnauthorized)
	}
	if err != nil {
		return Principal{}, storeErr("signed in", err)
	}
	u, err := h.hot.UserByID(ctx, userID)
	if err != nil {
		return Principal{}, storeErr("signed in", err)
	}
	return Principal{User: userFrom(u), Session: s.ID}, nil
}

// LiveSession returns a live gateway session's row and when its owning
// process was last seen, or ErrNotFound.
func (h *Homeserver) LiveSession(ctx context.Context, id string) (storage.LiveSession, time.Time, error) {
	s, seen, err := h.store.LiveSession(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return s, seen, fmt.Errorf("live session: %w", ErrNotFound)
	}
	if err != nil {
		return s, seen, storeErr("live session", err)
	}
	return s, seen, nil
}

// PutLiveSessions records what is new of the gateway sessions this
// process (owner) serves, and with touch records the process as alive. It
// returns the IDs written: a session missing from them has been taken
// over by another process.
func (h *Homeserver) PutLiveSessions(ctx context.Context, owner string, w storage.LiveWrite, touch bool) ([]string, error) {
	var written []string
	err := h.store.Update(ctx, func(tx storage.Tx) error {
		var err error
		written, err = tx.PutLiveSessions(ctx, owner, w, touch, h.now())
		return err
	})
	if err != nil {
		return nil, storeErr("put live sessions", err)
	}
	return written, nil
}

// ClaimLiveSession takes a live gateway session over from the process
// that owned it, with a new place and marks; false when another process
// took it first.
func (h *Homeserver) ClaimLiveSession(ctx context.Context, id, from, to string, place []byte, marks []storage.LiveMark) (bool, error) {
	var ok bool
	err := h.store.Update(ctx, func(tx storage.Tx) error {
		var err error
		ok, err = tx.ClaimLiveSession(ctx, id, from, to, place, marks, h.now())
		return err
	})
	if err != nil {
		return false, storeErr("claim live session", err)
	}
	return ok, nil
}

// DeleteLiveSessions forgets gateway sessions that ended.
func (h *Homeserver) DeleteLiveSessions(ctx context.Context, ids []string) error {
	if err := h.store.Update(ctx, func(tx storage.Tx) error { return tx.DeleteLiveSessions(ctx, ids) }); err != nil {
		return storeErr("delete live sessions", err)
	}
	return nil
}

// SweepLiveSessions deletes the gateway sessions that can no longer be
// resumed: detached for longer than window, or of a process not seen for
// that long.
func (h *Homeserver) SweepLiveSessions(ctx context.Context, window time.Duration) (int, error) {
	var n int
	cut := h.now().Add(-window)
	err := h.store.Update(ctx, func(tx storage.Tx) error {
		var err error
		n, err = tx.SweepLiveSessions(ctx, cut, cut)
		return err
	})
	if err != nil {
		return 0, storeErr("sweep live sessions", err)
	}
	return n, nil
}

// LogEvents reads a guild's or DM channel's log after a sequence number:
// a gateway session rebuilt on another process replays from it.
func (h *Homeserver) LogEvents(ctx context.Context, logID snowflake.ID, after int64, limit int) ([]storage.Event, error) {
	evs, err := h.store.Events(ctx, logID, after, limit)
	if err != nil {
		return nil, storeErr("log events", err)
	}
	return evs, nil
}

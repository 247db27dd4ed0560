package homeserver

import (
	"context"
	"strings"
	"sync"
	"time"

	"hearth/snowflake"
	"hearth/storage"
)

// stateCache keeps what every message send and read needs to authorise it
// (a guild, its roles, a member, a channel, a user) so that the hot paths
// do not reload them from the database each time. Writes that change such
// state append a non-message event to the guild's log, and update() drops
// the guild's entries when it publishes one; the TTL bounds how stale an
// entry can be if a change ever slips past that (another process sharing
// the database). Reads inside write transactions bypass the cache: they
// decide, so they read the truth.
type stateCache struct {
	mu   sync.Mutex
	gens map[snowflake.ID]uint64 // guild -> generation, bumped on change

	guilds   *ttlLRU[snowflake.ID, cachedGuild]
	members  *ttlLRU[memberKey, cachedMember]
	channels *ttlLRU[snowflake.ID, cachedChannel]
	guildOf  *ttlLRU[snowflake.ID, snowflake.ID] // channel -> its log (guild, or itself for a DM)
	users    *ttlLRU[snowflake.ID, storage.User]
}

type memberKey struct{ guild, user snowflake.ID }

type cachedGuild struct {
	gen   uint64
	guild storage.Guild
	roles []storage.Role
}

type cachedMember struct {
	gen    uint64
	member storage.Member
}

type cachedChannel struct {
	gen     uint64
	channel storage.Channel
}

const cacheTTL = 30 * time.Second

func newStateCache() *stateCache {
	return &stateCache{
		gens:     make(map[snowflake.ID]uint64),
		guilds:   newTTL[snowflake.ID, cachedGuild](10_000, cacheTTL),
		members:  newTTL[memberKey, cachedMember](200_000, cacheTTL),
		channels: newTTL[snowflake.ID, cachedChannel](100_000, cacheTTL),
		guildOf:  newTTL[snowflake.ID, snowflake.ID](100_000, time.Hour),
		users:    newTTL[snowflake.ID, storage.User](200_000, cacheTTL),
	}
}

func (c *stateCache) gen(guild snowflake.ID) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gens[guild]
}

// changed drops everything cached about the guilds (or DM channels) that
// committed events touched, except for events that change no state the
// cache holds (messages, reactions, typing).
func (c *stateCache) changed(evs []storage.Event) {
	for _, e := range evs {
		if strings.HasPrefix(e.Type, "MESSAGE_") || e.Type == "TYPING_START" || e.Type == "CHANNEL_PINS_UPDATE" {
			continue
		}
		c.mu.Lock()
		c.gens[e.LogID]++
		c.mu.Unlock()
	}
}

// userChanged drops a user whose account changed.
func (c *stateCache) userChanged(id snowflake.ID) { c.users.Remove(id) }

// cachedReader answers the hot read paths from the cache, falling back to
// the store.
type cachedReader struct {
	storage.Reader
	c *stateCache
}

func (r cachedReader) GuildByID(ctx context.Context, id snowflake.ID) (storage.Guild, error) {
	if g, ok := r.c.guilds.Get(id); ok && g.gen == r.c.gen(id) {
		return g.guild, nil
	}
	gen := r.c.gen(id)
	g, err := r.Reader.GuildByID(ctx, id)
	if err != nil {
		return g, err
	}
	roles, err := r.Reader.GuildRoles(ctx, id)
	if err != nil {
		return g, err
	}
	r.c.guilds.Add(id, cachedGuild{gen: gen, guild: g, roles: roles})
	return g, nil
}

func (r cachedReader) GuildRoles(ctx context.Context, id snowflake.ID) ([]storage.Role, error) {
	if g, ok := r.c.guilds.Get(id); ok && g.gen == r.c.gen(id) {
		return g.roles, nil
	}
	if _, err := r.GuildByID(ctx, id); err != nil {
		return r.Reader.GuildRoles(ctx, id)
	}
	g, _ := r.c.guilds.Get(id)
	return g.roles, nil
}

func (r cachedReader) Member(ctx context.Context, guildID, userID snowflake.ID) (storage.Member, error) {
	k := memberKey{guildID, userID}
	gen := r.c.gen(guildID)
	if m, ok := r.c.members.Get(k); ok && m.gen == gen {
		return m.member, nil
	}
	m, err := r.Reader.Member(ctx, guildID, userID)
	if err != nil {
		return m, err
	}
	r.c.members.Add(k, cachedMember{gen: gen, member: m})
	return m, nil
}

// ChannelByID caches channels under their guild's generation (a DM
// channel's own: its log is itself). The channel's LastMessageID is not kept
// fresh here; nothing on the hot paths reads it.
func (r cachedReader) ChannelByID(ctx context.Context, id snowflake.ID) (storage.Channel, error) {
	if c, ok := r.c.channels.Get(id); ok && c.gen == r.c.gen(logOf(c.channel)) {
		return c.channel, nil
	}
	// The generation must be read before the database, so that a change
	// committed meanwhile leaves the entry stale rather than wrong; but
	// which guild's generation is only known from the channel. A channel
	// never changes guild, so the first miss reads it twice and later ones
	// know the guild beforehand.
	guild, known := r.c.guildOf.Get(id)
	if !known {
		ch, err := r.Reader.ChannelByID(ctx, id)
		if err != nil {
			return ch, err
		}
		guild = logOf(ch)
		r.c.guildOf.Add(id, guild)
	}
	gen := r.c.gen(guild)
	ch, err := r.Reader.ChannelByID(ctx, id)
	if err != nil {
		return ch, err
	}
	r.c.channels.Add(id, cachedChannel{gen: gen, channel: ch})
	return ch, nil
}

func logOf(c storage.Channel) snowflake.ID {
	if c.GuildID != 0 {
		return c.GuildID
	}
	return c.ID
}

func (r cachedReader) UserByID(ctx context.Context, id snowflake.ID) (storage.User, error) {
	if u, ok := r.c.users.Get(id); ok {
		return u, nil
	}
	u, err := r.Reader.UserByID(ctx, id)
	if err != nil {
		return u, err
	}
	r.c.users.Add(id, u)
	return u, nil
}

package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"hearth/discord"
	"hearth/homeserver"
	"hearth/homeserver/permission"
	"hearth/snowflake"
	"hearth/storage"
)

// Intents, Discord's bits; the privileged ones are the domain's, which
// decides who may have them.
const (
	intentGuilds                 = 1 << 0
	intentGuildMembers           = homeserver.IntentGuildMembers
	intentGuildModeration        = 1 << 2
	intentGuildExpressions       = 1 << 3
	intentGuildWebhooks          = 1 << 5
	intentGuildInvites           = 1 << 6
	intentGuildMessages          = 1 << 9
	intentGuildMessageReactions  = 1 << 10
	intentGuildMessageTyping     = 1 << 11
	intentDirectMessages         = 1 << 12
	intentDirectMessageReactions = 1 << 13
	intentDirectMessageTyping    = 1 << 14
	intentMessageContent         = homeserver.IntentMessageContent
)

// meta is what routing needs from a payload.
type meta struct {
	ID        snowflake.ID `json:"id"`
	GuildID   snowflake.ID `json:"guild_id"`
	ChannelID snowflake.ID `json:"channel_id"`
	ParentID  snowflake.ID `json:"parent_id"`
	OwnerID   snowflake.ID `json:"owner_id"`
	UserID    snowflake.ID `json:"user_id"`
	User      struct {
		ID snowflake.ID `json:"id"`
	} `json:"user"`
	Author struct {
		ID snowflake.ID `json:"id"`
	} `json:"author"`
	Mentions []struct {
		ID snowflake.ID `json:"id"`
	} `json:"mentions"`
	MentionEveryone bool   `json:"mention_everyone"`
	Content         string `json:"content"`
}

// hereOnly reports whether a message mentions @here and not @everyone:
// then it counts as a mention only for those present (hereMentioned).
func (m meta) hereOnly(t string) bool {
	return t == "MESSAGE_CREATE" && m.MentionEveryone && !strings.Contains(m.Content, "@everyone")
}

// intentFor is the intent an event needs; 0 for none.
func intentFor(t string, dm bool) int64 {
	switch {
	case strings.HasPrefix(t, "MESSAGE_REACTION_"):
		if dm {
			return intentDirectMessageReactions
		}
		return intentGuildMessageReactions
	case strings.HasPrefix(t, "MESSAGE_"):
		if dm {
			return intentDirectMessages
		}
		return intentGuildMessages
	case t == "TYPING_START":
		if dm {
			return intentDirectMessageTyping
		}
		return intentGuildMessageTyping
	case t == "CHANNEL_PINS_UPDATE":
		if dm {
			return intentDirectMessages
		}
		return intentGuilds
	case dm:
		return 0
	case strings.HasPrefix(t, "GUILD_MEMBER"), t == "THREAD_MEMBERS_UPDATE":
		return intentGuildMembers
	case strings.HasPrefix(t, "GUILD_BAN_"), t == homeserver.AuditEntryCreated:
		return intentGuildModeration
	case t == "GUILD_EMOJIS_UPDATE", t == "GUILD_STICKERS_UPDATE":
		return intentGuildExpressions
	case t == homeserver.WebhooksUpdate:
		return intentGuildWebhooks
	case strings.HasPrefix(t, "INVITE_"):
		return intentGuildInvites
	default:
		return intentGuilds
	}
}

// channelOf is the channel an event is about, whose VIEW_CHANNEL decides
// who sees it; 0 for guild-wide events.
func channelOf(t string, m meta) snowflake.ID {
	switch {
	case t == "CHANNEL_DELETE", t == "THREAD_DELETE":
		return 0 // gone: nobody could view it now
	case t == "CHANNEL_CREATE", t == "CHANNEL_UPDATE", strings.HasPrefix(t, "THREAD_"):
		return m.ID
	case m.ChannelID != 0:
		return m.ChannelID
	}
	return 0
}

func (g *Gateway) sessionsOf(set map[*session]struct{}) []*session {
	out := make([]*session, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	return out
}

// route sends one committed (or ephemeral) event to the sessions that may
// see it.
func (g *Gateway) route(ctx context.Context, ev storage.Event) {
	switch ev.Type {
	case barrierEvent:
		if done, ok := g.barriers.LoadAndDelete(string(ev.Payload)); ok {
			close(done.(chan struct{}))
		}
		return
	case homeserver.SessionsRevoked:
		g.revoke(ev)
		return
	case homeserver.PresenceLocal, homeserver.FriendPresenceLocal:
		return // told to the sessions when it happened
	case homeserver.PresenceElsewhere:
		g.presenceElsewhere(ev)
		return
	case homeserver.FriendPresenceRemote:
		g.remoteFriendPresence(ctx, ev)
		return
	case homeserver.UserDispatch:
		g.userDispatch(ctx, ev)
		return
	case "PRESENCE_UPDATE":
		g.remotePresence(ev)
		return
	case homeserver.RelationshipAdd, homeserver.RelationshipRemove, homeserver.RelationshipUpdate:
		// To every session of the one user the event is for (its LogID).
		g.mu.RLock()
		targets := g.sessionsOf(g.byUser[ev.LogID])
		g.mu.RUnlock()
		for _, s := range targets {
			g.deliver(s, ev.Type, ev.Payload)
		}
		g.relationshipChanged(ctx, ev)
		return
	}
	var m meta
	_ = json.Unmarshal(ev.Payload, &m)
	if !strings.HasPrefix(ev.Type, "GUILD_") && m.GuildID == 0 {
		g.routeDM(ctx, ev, m)
		return
	}
	guildID := ev.LogID
	switch ev.Type {
	case "GUILD_CREATE":
		// A new guild: its owner's sessions get it whole.
		g.mu.RLock()
		owners := g.sessionsOf(g.byUser[m.OwnerID])
		g.mu.RUnlock()
		for _, s := range owners {
			g.joined(ctx, s, guildID)
		}
		return
	case "GUILD_MEMBER_ADD":
		g.mu.RLock()
		joiner := g.sessionsOf(g.byUser[m.User.ID])
		g.mu.RUnlock()
		for _, s := range joiner {
			g.joined(ctx, s, guildID)
		}
		if len(joiner) > 0 && !g.replaying {
			g.announcePresences(guildID, []snowflake.ID{m.User.ID})
		}
	case "GUILD_MEMBER_REMOVE":
		g.mu.RLock()
		leaver := g.sessionsOf(g.byUser[m.User.ID])
		g.mu.RUnlock()
		for _, s := range leaver {
			g.left(s, guildID)
		}
	}
	g.mu.RLock()
	targets := g.sessionsOf(g.byGuild[guildID])
	g.mu.RUnlock()
	need := intentFor(ev.Type, false)
	channel := channelOf(ev.Type, m)
	seen := map[snowflake.ID]bool{}
	var stripped []byte
	if ev.Type == "CHANNEL_CREATE" || ev.Type == "CHANNEL_UPDATE" || ev.Type == "CHANNEL_DELETE" {
		g.routeChannel(ctx, ev, m, guildID, targets)
		return
	}
	if ev.Type == "GUILD_ROLE_UPDATE" || ev.Type == "GUILD_ROLE_DELETE" || ev.Type == "GUILD_MEMBER_UPDATE" {
		defer g.recheckChannels(ctx, ev, m, guildID, targets)
	}
	// allowed is the permission a user needs to see the event, if any:
	// for a channel's events its viewers (invite codes only to those who
	// manage the channel's invites, as on Discord), for an audit log entry
	// its readers. It is asked once per user.
	var allowed func(user snowflake.ID) bool
	switch {
	case ev.Type == homeserver.AuditEntryCreated:
		allowed = func(user snowflake.ID) bool {
			return g.hs.GuildPermissions(ctx, user, guildID).Has(permission.ViewAuditLog)
		}
	case channel != 0:
		perm := permission.ViewChannel
		if strings.HasPrefix(ev.Type, "INVITE_") {
			perm = permission.ManageChannels
		}
		allowed = func(user snowflake.ID) bool { return g.hs.ChannelPermissions(ctx, user, channel).Has(perm) }
	}
	if m.hereOnly(ev.Type) && allowed != nil && !g.replaying {
		g.hereMentioned(ctx, m, targets, guildID, allowed, seen)
	}
	for _, s := range targets {
		if !s.inGuild(guildID) || (need != 0 && s.intents&need == 0) {
			continue
		}
		if allowed != nil {
			may, ok := seen[s.user.User.ID]
			if !ok {
				may = allowed(s.user.User.ID)
				seen[s.user.User.ID] = may
			}
			if !may {
				continue
			}
		}
		d := ev.Payload
		if needsStripping(s, ev.Type, m) {
			if stripped == nil {
				stripped = stripContent(ev.Payload)
			}
			d = stripped
		}
		g.deliver(s, ev.Type, d)
	}
	if ev.Type == "GUILD_DELETE" {
		for _, s := range targets {
			g.left(s, guildID)
		}
	}
}

// joined adds a guild to a session and sends it whole, as GUILD_CREATE.
func (g *Gateway) joined(ctx context.Context, s *session, guildID snowflake.ID) {
	if s.inGuild(guildID) {
		return
	}
	st, err := g.hs.GuildState(ctx, s.user, guildID)
	if err != nil {
		return
	}
	st.Presences = g.presencesOf(memberIDs(st.Members), guildID)
	s.setVisible(guildID, st.Channels)
	s.mu.Lock()
	s.guilds[guildID] = true
	s.mu.Unlock()
	g.mu.Lock()
	g.addGuildLocked(s, guildID)
	g.mu.Unlock()
	b, _ := json.Marshal(st)
	g.deliver(s, "GUILD_CREATE", b)
}

// left takes a guild from a session and tells it with GUILD_DELETE.
func (g *Gateway) left(s *session, guildID snowflake.ID) {
	if !s.inGuild(guildID) {
		return
	}
	s.mu.Lock()
	delete(s.guilds, guildID)
	s.mu.Unlock()
	g.removeGuild(s, guildID)
	b, _ := json.Marshal(map[string]any{"id": guildID})
	g.deliver(s, "GUILD_DELETE", b)
}

func (g *Gateway) routeDM(ctx context.Context, ev storage.Event, m meta) {
	users := g.hs.Recipients(ctx, ev.LogID)
	if ev.Type == "CHANNEL_RECIPIENT_REMOVE" && m.User.ID != 0 {
		users = append(users, m.User.ID) // the one removed hears of it too
	}
	need := intentFor(ev.Type, true)
	var stripped []byte
	g.mu.RLock()
	var targets []*session
	for _, u := range users {
		targets = append(targets, g.sessionsOf(g.byUser[u])...)
	}
	g.mu.RUnlock()
	message := (ev.Type == "MESSAGE_CREATE" || ev.Type == "MESSAGE_UPDATE") && m.Author.ID != 0
	// As on Discord, the one added to a group DM gets the channel whole
	// (CHANNEL_CREATE), and the one removed gets CHANNEL_DELETE: clients
	// ignore recipient events of a channel they do not hold.
	recipient := (ev.Type == "CHANNEL_RECIPIENT_ADD" || ev.Type == "CHANNEL_RECIPIENT_REMOVE") && m.User.ID != 0
	blocked := map[snowflake.ID]bool{}
	for _, s := range targets {
		if recipient && s.user.User.ID == m.User.ID {
			g.deliverOwnRecipientEvent(ctx, s, ev)
			continue
		}
		if need != 0 && s.intents&need == 0 {
			continue
		}
		if message && m.Author.ID != s.user.User.ID {
			// A blocked person's DM messages are not handed to the
			// blocker live (they come only from a DM whose origin,
			// the blocked person's server, knows nothing of the block).
			b, ok := blocked[s.user.User.ID]
			if !ok {
				b = g.hs.Blocks(ctx, s.user.User.ID, m.Author.ID)
				blocked[s.user.User.ID] = b
			}
			if b {
				continue
			}
		}
		d := ev.Payload
		if needsStripping(s, ev.Type, m) {
			if stripped == nil {
				stripped = stripContent(ev.Payload)
			}
			d = stripped
		}
		g.deliver(s, ev.Type, d)
	}
}

// deliverOwnRecipientEvent tells the user added to (or removed from) a
// group DM, in a session of theirs, of the channel itself: CHANNEL_CREATE
// with the channel as it is now, or CHANNEL_DELETE. Both go by the
// channel as it is now: an add undone since (removed again) tells
// nothing, nor does a removal undone since (the add that followed tells
// the channel).
func (g *Gateway) deliverOwnRecipientEvent(ctx context.Context, s *session, ev storage.Event) {
	c, _, err := g.hs.DMChannel(ctx, s.user, ev.LogID)
	switch {
	case err == nil:
		if ev.Type == "CHANNEL_RECIPIENT_REMOVE" {
			return // back in it since: they hold the channel
		}
		b, _ := json.Marshal(c)
		g.deliver(s, "CHANNEL_CREATE", b)
	case errors.Is(err, homeserver.ErrUnknownChannel):
		if ev.Type == "CHANNEL_RECIPIENT_ADD" {
			return // removed again since: nothing to hold
		}
		b, _ := json.Marshal(discord.DMChannel{ID: ev.LogID, Type: int(storage.ChannelGroupDM), Recipients: []discord.User{}})
		g.deliver(s, "CHANNEL_DELETE", b)
	default:
		g.log.Warn("gateway: group DM for a recipient event", "channel", ev.LogID, "err", err)
	}
}

// needsStripping applies Discord's MESSAGE_CONTENT rule to bots: without
// the intent they get no content, embeds, attachments or components,
// except in messages they wrote or that mention them. DMs always carry
// content on Discord too, but only to the recipients, who route here only
// through routeDM; there the rule still spares the bot's own and mentions.
func needsStripping(s *session, t string, m meta) bool {
	if !s.bot || s.intents&intentMessageContent != 0 || (t != "MESSAGE_CREATE" && t != "MESSAGE_UPDATE") {
		return false
	}
	if m.GuildID == 0 || m.Author.ID == s.user.User.ID {
		return false
	}
	for _, u := range m.Mentions {
		if u.ID == s.user.User.ID {
			return false
		}
	}
	return true
}

// stripContent empties the content fields of a message payload.
func stripContent(payload []byte) []byte {
	var msg map[string]json.RawMessage
	if json.Unmarshal(payload, &msg) != nil {
		return payload
	}
	msg["content"] = json.RawMessage(`""`)
	msg["embeds"] = json.RawMessage(`[]`)
	msg["attachments"] = json.RawMessage(`[]`)
	msg["components"] = json.RawMessage(`[]`)
	b, err := json.Marshal(msg)
	if err != nil {
		return payload
	}
	return b
}

// routeChannel sends channel events as each session should see them: a
// channel that becomes visible arrives as CHANNEL_CREATE, one that is
// hidden (or deleted) as CHANNEL_DELETE, and updates only to those who
// already see it.
func (g *Gateway) routeChannel(ctx context.Context, ev storage.Event, m meta, guildID snowflake.ID, targets []*session) {
	may := map[snowflake.ID]bool{}
	for _, s := range targets {
		if !s.inGuild(guildID) {
			continue
		}
		had := s.sees(guildID, m.ID)
		now := false
		if ev.Type != "CHANNEL_DELETE" {
			v, ok := may[s.user.User.ID]
			if !ok {
				v = g.hs.ChannelPermissions(ctx, s.user.User.ID, m.ID).Has(permission.ViewChannel)
				may[s.user.User.ID] = v
			}
			now = v
		}
		s.markVisible(guildID, m.ID, now)
		if s.intents&intentGuilds == 0 {
			continue
		}
		switch {
		case now && !had:
			g.deliver(s, "CHANNEL_CREATE", ev.Payload)
		case !now && had:
			g.deliver(s, "CHANNEL_DELETE", ev.Payload)
		case now && had && ev.Type == "CHANNEL_UPDATE":
			g.deliver(s, "CHANNEL_UPDATE", ev.Payload)
		}
	}
}

// recheckChannels follows a role or member change with CHANNEL_CREATE and
// CHANNEL_DELETE for the channels it revealed or hid, per affected session.
func (g *Gateway) recheckChannels(ctx context.Context, ev storage.Event, m meta, guildID snowflake.ID, targets []*session) {
	byUser := map[snowflake.ID][]discord.Channel{}
	for _, s := range targets {
		if !s.inGuild(guildID) || (ev.Type == "GUILD_MEMBER_UPDATE" && s.user.User.ID != m.User.ID) {
			continue
		}
		chans, ok := byUser[s.user.User.ID]
		if !ok {
			var err error
			if chans, err = g.hs.GuildChannels(ctx, s.user, guildID); err != nil {
				continue
			}
			byUser[s.user.User.ID] = chans
		}
		now := make(map[snowflake.ID]bool, len(chans))
		for _, c := range chans {
			now[c.ID] = true
			if !s.sees(guildID, c.ID) {
				s.markVisible(guildID, c.ID, true)
				if s.intents&intentGuilds != 0 {
					b, _ := json.Marshal(c)
					g.deliver(s, "CHANNEL_CREATE", b)
				}
			}
		}
		s.mu.Lock()
		var gone []snowflake.ID
		for id := range s.visible[guildID] {
			if !now[id] {
				gone = append(gone, id)
			}
		}
		s.mu.Unlock()
		for _, id := range gone {
			s.markVisible(guildID, id, false)
			if s.intents&intentGuilds != 0 {
				b, _ := json.Marshal(map[string]any{"id": id, "guild_id": guildID, "type": 0})
				g.deliver(s, "CHANNEL_DELETE", b)
			}
		}
	}
}

// revoke drops the connections of ended sessions (logout, password
// change) with 4004, and forgets them so that they cannot be resumed.
func (g *Gateway) revoke(ev storage.Event) {
	var r homeserver.RevokedSessions
	if json.Unmarshal(ev.Payload, &r) != nil {
		return
	}
	ended := map[snowflake.ID]bool{}
	for _, id := range r.Sessions {
		ended[id] = true
	}
	g.end(r.UserID, func(signIn snowflake.ID) bool { return r.All || ended[signIn] })
}

// signInRecheck is how often a process sharing its database with others
// checks that its gateway sessions' sign-ins still stand.
const signInRecheck = 15 * time.Second

// recheckSignIns closes, every signInRecheck, the sessions whose sign-in
// has ended. Sign-outs reach the other processes as announcements, and an
// announcement can be lost (NOTIFY failed, the listening connection was
// down); a REST request then fails within the session cache's TTL, but an
// open connection would otherwise go on receiving events for as long as
// it stays up.
func (g *Gateway) recheckSignIns(ctx context.Context) {
	t := time.NewTicker(signInRecheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		type signIn struct{ user, session snowflake.ID }
		g.mu.RLock()
		seen := make(map[signIn]bool, len(g.sessions))
		for _, s := range g.sessions {
			seen[signIn{s.user.User.ID, s.user.Session}] = true
		}
		g.mu.RUnlock()
		for si := range seen {
			_, err := g.hs.SignedIn(ctx, si.user, si.session)
			if errors.Is(err, homeserver.ErrUnauthorized) {
				g.end(si.user, func(id snowflake.ID) bool { return id == si.session })
			} else if err != nil && ctx.Err() == nil {
				g.log.Warn("gateway: sign-in not checked; checked again later", "user", si.user, "err", err)
				break // the database is away: the next round tries again
			}
		}
	}
}

// end closes a user's sessions whose sign-in ended says has ended, with
// 4004, and forgets them so that they cannot be resumed.
func (g *Gateway) end(user snowflake.ID, ended func(signIn snowflake.ID) bool) {
	g.mu.Lock()
	var gone []*session
	for s := range g.byUser[user] {
		if ended(s.user.Session) {
			gone = append(gone, s)
			delete(g.sessions, s.id)
		}
	}
	ids := make([]string, 0, len(gone))
	for _, s := range gone {
		g.unindexLocked(s)
		ids = append(ids, s.id)
	}
	g.mu.Unlock()
	g.forget(ids...) // cannot be resumed anywhere
	for _, s := range gone {
		s.mu.Lock()
		c := s.c
		s.mu.Unlock()
		if c != nil {
			go c.close(closeAuthFailed, "Authentication failed.") // a close handshake must not hold the router
		}
	}
}

// userDispatch hands a dispatch meant for one user (MESSAGE_ACK,
// USER_GUILD_SETTINGS_UPDATE, USER_UPDATE, USER_SETTINGS_UPDATE) to each
// of their sessions. A settings change of status is the user's presence
// on each of their sessions from then on, as a client's op 3 would make it.
func (g *Gateway) userDispatch(ctx context.Context, ev storage.Event) {
	var d homeserver.UserDispatchPayload
	if json.Unmarshal(ev.Payload, &d) != nil || d.Type == "" {
		return
	}
	g.mu.RLock()
	targets := g.sessionsOf(g.byUser[d.UserID])
	g.mu.RUnlock()
	for _, s := range targets {
		if d.Session != "" && s.id != d.Session {
			continue
		}
		g.deliver(s, d.Type, d.Data)
	}
	if d.Type != "USER_SETTINGS_UPDATE" || len(targets) == 0 {
		return
	}
	var set struct {
		Status string `json:"status"`
	}
	if json.Unmarshal(d.Data, &set) != nil || statusRank[set.Status] == 0 && set.Status != "invisible" {
		return
	}
	changed := false
	for _, s := range targets {
		s.mu.Lock()
		if s.presence.Status != set.Status {
			s.presence.Status = set.Status
			changed = true
		}
		s.mu.Unlock()
	}
	if changed {
		g.presenceChanged(ctx, d.UserID)
	}
}

// hereMentioned records, for a message that mentions @here, who it reached
// while present: this server's users with a session in the guild, who
// may see the channel, and whose presence others see as online, idle or
// dnd (invisible is offline to others, and so to @here). Their mention
// counts include it; nobody else's do (spec/client-api.md, "Read states").
func (g *Gateway) hereMentioned(ctx context.Context, m meta, targets []*session, guildID snowflake.ID,
	allowed func(snowflake.ID) bool, seen map[snowflake.ID]bool) {
	var users []snowflake.ID
	for _, s := range targets {
		id := s.user.User.ID
		if !s.inGuild(guildID) || id == m.Author.ID || slices.Contains(users, id) {
			continue
		}
		g.mu.RLock()
		_, present := g.presences[id]
		g.mu.RUnlock()
		if !present {
			continue
		}
		may, ok := seen[id]
		if !ok {
			may = allowed(id)
			seen[id] = may
		}
		if may {
			users = append(users, id)
		}
	}
	if len(users) == 0 {
		return
	}
	if err := g.hs.HereMentioned(ctx, m.ID, users); err != nil {
		g.log.Warn("gateway: @here mentions not recorded", "message_id", m.ID, "err", err)
	}
}

// deliver hands s a dispatch of the event being routed, marked with the
// log event it came from; a replay for one rebuilt session bypasses the
// hold that keeps live events back until the replay is over.
func (g *Gateway) deliver(s *session, t string, d []byte) {
	if g.replaying {
		s.send(g.cur, t, d, true)
		return
	}
	s.dispatchFrom(g.cur, t, d)
}

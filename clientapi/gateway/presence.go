package gateway

import (
	"context"
	"encoding/json"
	"time"
	"unicode/utf8"

	"hearth/discord"
	"hearth/homeserver"
	"hearth/snowflake"
	"hearth/storage"
)

// intentGuildPresences is PRESENCE_UPDATE's intent.
const intentGuildPresences = homeserver.IntentGuildPresences

// Statuses in order of presence: a user on several devices shows the most
// present one. Invisible is offline to others.
var statusRank = map[string]int{"offline": 0, "invisible": 0, "idle": 1, "dnd": 2, "online": 3}

// activity is the part of a client's activity Hearth keeps and relays.
type activity struct {
	Name  string  `json:"name"`
	Type  int     `json:"type"`
	State *string `json:"state,omitempty"`
	URL   *string `json:"url,omitempty"`
}

// presence is one session's, or a user's aggregated, presence.
type presence struct {
	Status     string     `json:"status"`
	Activities []activity `json:"activities"`
}

// presenceUpdate is op 3's d (and IDENTIFY's presence).
type presenceUpdate struct {
	Status     string     `json:"status"`
	Activities []activity `json:"activities"`
	AFK        bool       `json:"afk"`
}

// clean bounds what a client may publish about itself.
func (p presenceUpdate) clean() presence {
	st := p.Status
	if _, ok := statusRank[st]; !ok {
		st = "online"
	}
	out := presence{Status: st, Activities: []activity{}}
	for _, a := range p.Activities {
		if len(out.Activities) == 5 {
			break
		}
		a.Name = clipRunes(a.Name, 128)
		if a.State != nil {
			s := clipRunes(*a.State, 128)
			a.State = &s
		}
		if a.URL != nil {
			u := clipRunes(*a.URL, 512)
			a.URL = &u
		}
		out.Activities = append(out.Activities, a)
	}
	return out
}

func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

// visible is what others see: invisible is offline, and offline carries
// no activities.
func (p presence) visible() presence {
	if statusRank[p.Status] == 0 {
		return presence{Status: "offline", Activities: []activity{}}
	}
	return p
}

// better reports whether p shows more presence than best (the order in
// which a user's several sessions decide what others see).
func better(p, best presence) bool {
	return statusRank[p.Status] > statusRank[best.Status] || (statusRank[p.Status] == statusRank[best.Status] && len(best.Activities) == 0 && len(p.Activities) > 0)
}

// localAggregateLocked is a user's presence across its sessions connected
// to this process, as others see it; g.mu is held.
func (g *Gateway) localAggregateLocked(userID snowflake.ID) presence {
	best := presence{Status: "offline", Activities: []activity{}}
	for s := range g.byUser[userID] {
		s.mu.Lock()
		p, connected := s.presence, s.c != nil
		s.mu.Unlock()
		if !connected || p.Status == "" {
			continue
		}
		if statusRank[p.Status] > statusRank[best.Status] || (statusRank[p.Status] == statusRank[best.Status] && len(best.Activities) == 0) {
			best = p
		}
	}
	return best.visible()
}

// aggregateLocked is a user's presence across its connected sessions, on
// this process and, as they told, on the others sharing the database;
// g.mu is held.
func (g *Gateway) aggregateLocked(userID snowflake.ID) presence {
	best := g.localAggregateLocked(userID)
	for _, e := range g.elsewhere[userID] {
		if better(e.p, best) {
			best = e.p
		}
	}
	return best
}

// Each process tells its users' presences again every PresenceRefresh
// (Config), 20 s unless set; a presence another process told is kept
// for two and a half of those without being told again, so that only a
// process that died (or a relay that lost its announcements for that
// long) lets them expire.
const defaultPresenceRefresh = 20 * time.Second

// elsewhereTTL is how long a presence another process told is kept
// without being told again.
func (g *Gateway) elsewhereTTL() time.Duration { return g.cfg.PresenceRefresh * 5 / 2 }

// elsewhereEntry is a presence another process told, and when.
type elsewhereEntry struct {
	p  presence
	at time.Time
}

// presenceChanged recomputes a user's presence after a change on one of
// their sessions here: it tells the other processes sharing the database
// what this process's sessions now show, and then, when others would see
// a difference, tells them (presenceMoved).
func (g *Gateway) presenceChanged(ctx context.Context, userID snowflake.ID) {
	g.mu.Lock()
	local := g.localAggregateLocked(userID)
	var share []homeserver.SharedPresence
	if g.hs.SharesDatabase() {
		if prev, ok := g.shared[userID]; (ok || local.Status != "offline") && !samePresence(prev, local) {
			share = append(share, sharedOf(userID, local))
			if local.Status == "offline" {
				delete(g.shared, userID)
			} else {
				g.shared[userID] = local
			}
		}
	}
	// Queued under the lock, so that two changes (or a change and a
	// refresh) reach the other processes in the order they were decided:
	// a stale "online" queued after the final "offline" would stand there
	// until it expired. The queue takes only its own lock and never waits.
	g.sharePresences(share)
	g.mu.Unlock()
	g.presenceMoved(ctx, userID, true)
}

// samePresence compares two presences as others would see them.
func samePresence(a, b presence) bool {
	b1, _ := json.Marshal(a)
	b2, _ := json.Marshal(b)
	return string(b1) == string(b2)
}

// sharedOf is a user's presence here as PresenceElsewhere carries it,
// with activities dropped from the end until it fits a notification
// easily.
func sharedOf(userID snowflake.ID, p presence) homeserver.SharedPresence {
	acts := p.Activities
	for {
		b, _ := json.Marshal(acts)
		if len(b) <= 4000 || len(acts) == 0 {
			return homeserver.SharedPresence{UserID: userID, Status: p.Status, Activities: b}
		}
		acts = acts[:len(acts)-1]
	}
}

// sharePresences tells the other processes presences of this one's
// users, several in one notification while they fit.
func (g *Gateway) sharePresences(ps []homeserver.SharedPresence) {
	var evs []storage.Event
	for len(ps) > 0 {
		n, size := 0, 0
		for n < len(ps) {
			b, _ := json.Marshal(ps[n])
			if n > 0 && size+len(b) > 6000 {
				break
			}
			size += len(b) + 1
			n++
		}
		b, _ := json.Marshal(ps[:n])
		evs = append(evs, storage.Event{Type: homeserver.PresenceElsewhere, Payload: b, CreatedAt: time.Now()})
		ps = ps[n:]
	}
	if len(evs) > 0 {
		g.hs.ShareEphemeral(evs...)
	}
}

// presenceElsewhere keeps the presences another process told of its
// users and recomputes theirs here.
func (g *Gateway) presenceElsewhere(ev storage.Event) {
	var ps []homeserver.SharedPresence
	if ev.Process == "" || json.Unmarshal(ev.Payload, &ps) != nil {
		return
	}
	now := time.Now()
	var changed []snowflake.ID
	g.mu.Lock()
	for _, sp := range ps {
		if sp.UserID == 0 {
			continue
		}
		p := presence{Status: sp.Status, Activities: []activity{}}
		if len(sp.Activities) > 0 {
			_ = json.Unmarshal(sp.Activities, &p.Activities)
		}
		if p.Activities == nil {
			p.Activities = []activity{} // a dispatch carries [], never null
		}
		if _, ok := statusRank[p.Status]; !ok {
			continue
		}
		p = p.visible()
		m := g.elsewhere[sp.UserID]
		old, had := m[ev.Process]
		if p.Status == "offline" {
			if had {
				delete(m, ev.Process)
				if len(m) == 0 {
					delete(g.elsewhere, sp.UserID)
				}
				changed = append(changed, sp.UserID)
			}
			continue
		}
		if m == nil {
			m = map[string]elsewhereEntry{}
			g.elsewhere[sp.UserID] = m
		}
		m[ev.Process] = elsewhereEntry{p: p, at: now}
		if !had || !samePresence(old.p, p) {
			changed = append(changed, sp.UserID)
		}
	}
	g.mu.Unlock()
	for _, id := range changed {
		g.moves = append(g.moves, presenceMove{user: id})
	}
}

// refreshPresences tells the other processes again the presences of this
// one's users, so that they keep them, and forgets the presences another
// process has not told again within elsewhereTTL: that process died, and
// its users' sessions with it (a dead process cannot say they went
// offline). Their users' presences are recomputed by movePresences.
func (g *Gateway) refreshPresences() {
	now := time.Now()
	var share []homeserver.SharedPresence
	var expired []presenceMove
	g.mu.Lock()
	for id, p := range g.shared {
		share = append(share, sharedOf(id, p))
	}
	for id, m := range g.elsewhere {
		gone := false
		for proc, e := range m {
			if now.Sub(e.at) > g.elsewhereTTL() {
				delete(m, proc)
				gone = true
			}
		}
		if gone {
			// Every process that notices tells the federation peers
			// too: the one that would have is gone.
			expired = append(expired, presenceMove{user: id, tellPeers: true})
		}
		if len(m) == 0 {
			delete(g.elsewhere, id)
		}
	}
	g.sharePresences(share) // under the lock, as in presenceChanged
	g.mu.Unlock()
	g.moves = append(g.moves, expired...)
}

// presenceMove is a user whose presence another process told or stopped
// telling, to be recomputed here; tellPeers as for presenceMoved.
type presenceMove struct {
	user      snowflake.ID
	tellPeers bool
}

// moveBatch bounds the presences recomputed at one turn of the routing
// loop: each costs database reads (the user's guilds and friends), and a
// process that starts or dies with thousands of users must not hold up
// routing for as long as all of theirs take.
const moveBatch = 64

// movesEvery is how often a batch of moves is made while events keep
// routing busy: they wait for an idle moment, but not for ever.
const movesEvery = 100 * time.Millisecond

// movePresences recomputes up to moveBatch of the pending presences (a
// recomputation reads the presences as they are then, so one that waited
// is never stale).
func (g *Gateway) movePresences(ctx context.Context) {
	n := min(len(g.moves), moveBatch)
	for _, m := range g.moves[:n] {
		g.presenceMoved(ctx, m.user, m.tellPeers)
	}
	g.moves = g.moves[n:]
	if len(g.moves) == 0 {
		g.moves = nil // let a burst's array go
	}
}

// presenceMoved recomputes a user's presence and, when others would see
// a difference, dispatches PRESENCE_UPDATE to the sessions here of the
// user's guilds that have the GUILD_PRESENCES intent, and to their friends.
// With tellPeers it also publishes it for federation (a change another
// process told is told to peers by that process). Presence is ephemeral:
// it is not logged, and a restart forgets it.
func (g *Gateway) presenceMoved(ctx context.Context, userID snowflake.ID, tellPeers bool) {
	g.mu.Lock()
	now := g.aggregateLocked(userID)
	before, known := g.presences[userID]
	if now.Status == "offline" {
		delete(g.presences, userID)
	} else {
		g.presences[userID] = now
	}
	g.mu.Unlock()
	if !known {
		before = presence{Status: "offline", Activities: []activity{}}
	}
	if samePresence(before, now) {
		return
	}
	guilds, err := g.hs.GuildIDs(ctx, userID)
	if err != nil {
		return
	}
	for _, gid := range guilds {
		d := presenceEvent(userID, gid, now)
		g.mu.RLock()
		targets := g.sessionsOf(g.byGuild[gid])
		g.mu.RUnlock()
		for _, s := range targets {
			if s.user.User.ID != userID && s.intents&intentGuildPresences != 0 && s.inGuild(gid) {
				s.dispatch("PRESENCE_UPDATE", d)
			}
		}
		if tellPeers {
			// For federation: peers with members in the guild, or its origin.
			g.hs.Bus().Publish(storage.Event{LogID: gid, Type: homeserver.PresenceLocal, Payload: d, CreatedAt: time.Now()})
		}
	}
	g.tellFriends(ctx, userID, now, tellPeers)
}

// tellFriends sends a user's presence, without a guild, to the sessions of
// this server's users who are their friends, as Discord does: a friend's
// presence shows on the friends page whether or not a guild is shared.
// Friends of other homeservers are told by their servers, to which
// federation carries it (spec/federation.md §17.5), when tellPeers (a
// change another process told is carried by that process).
func (g *Gateway) tellFriends(ctx context.Context, userID snowflake.ID, p presence, tellPeers bool) {
	friends, err := g.hs.FriendIDs(ctx, userID)
	if err != nil || len(friends) == 0 {
		return
	}
	d := friendPresenceEvent(userID, p)
	if tellPeers {
		g.hs.Bus().Publish(storage.Event{LogID: userID, Type: homeserver.FriendPresenceLocal,
			Payload: friendPresencePayload(0, d), CreatedAt: time.Now()})
	}
	g.mu.RLock()
	var targets []*session
	for _, f := range friends {
		targets = append(targets, g.sessionsOf(g.byUser[f])...)
	}
	g.mu.RUnlock()
	for _, s := range targets {
		if !s.bot {
			s.dispatch("PRESENCE_UPDATE", d)
		}
	}
}

// friendPresenceEvent is a user's presence for their friends: a
// PRESENCE_UPDATE of no guild.
func friendPresenceEvent(userID snowflake.ID, p presence) []byte {
	d, _ := json.Marshal(map[string]any{
		"user": map[string]any{"id": userID}, "status": p.Status,
		"activities": p.Activities, "client_status": map[string]string{"web": p.Status},
	})
	return d
}

// friendPresencePayload is a FriendPresenceLocal's payload: d for the
// servers of all the user's friends of other homeservers, or of friend's
// alone.
func friendPresencePayload(friend snowflake.ID, d []byte) []byte {
	b, _ := json.Marshal(homeserver.FriendPresence{Friend: friend, D: d})
	return b
}

// remoteFriendPresence tells this server's friends of a user of another
// server that user's presence, which their server sent for them (whether
// or not a guild is shared), and keeps it for READY. The first one from
// that user is answered with the presences of their friends here: their
// server has just come up, or the friendship has just begun, and would
// show them offline until they next change.
func (g *Gateway) remoteFriendPresence(ctx context.Context, ev storage.Event) {
	var in struct {
		User struct {
			ID snowflake.ID `json:"id"`
		} `json:"user"`
		presenceUpdate
	}
	if json.Unmarshal(ev.Payload, &in) != nil || in.User.ID != ev.LogID {
		return
	}
	// Rendered again from what Hearth keeps of a presence: the peer's
	// payload may carry more.
	p := in.presenceUpdate.clean().visible()
	friends, err := g.hs.FriendsOf(ctx, ev.LogID)
	if err != nil || len(friends) == 0 {
		return
	}
	g.mu.Lock()
	if _, local := g.byUser[ev.LogID]; local {
		g.mu.Unlock()
		return // this server's own user: its sessions decide
	}
	if p.Status == "offline" {
		delete(g.presences, ev.LogID)
	} else {
		g.presences[ev.LogID] = p
	}
	// A copy another process relayed is answered by that process.
	greet := !g.friendGreeted[ev.LogID] && !g.replaying && ev.Process == ""
	g.friendGreeted[ev.LogID] = true
	var targets []*session
	var answers []storage.Event
	for _, f := range friends {
		targets = append(targets, g.sessionsOf(g.byUser[f])...)
		if mine, ok := g.presences[f]; ok && greet {
			answers = append(answers, storage.Event{LogID: f, Type: homeserver.FriendPresenceLocal,
				Payload: friendPresencePayload(ev.LogID, friendPresenceEvent(f, mine)), CreatedAt: time.Now()})
		}
	}
	g.mu.Unlock()
	d := friendPresenceEvent(ev.LogID, p)
	for _, s := range targets {
		if !s.bot {
			s.dispatch("PRESENCE_UPDATE", d)
		}
	}
	g.hs.Bus().Publish(answers...)
}

// relationshipChanged follows a relationship event of one of this
// server's users (ev.LogID). A friendship begun: the user's sessions learn
// the friend's presence, and the friend's server (when another) the
// user's, offline included, so that it answers with the friend's own
// (remoteFriendPresence): the friend's server may have stored the
// friendship before this one, and refused a presence sent then. A
// friendship ended: the friend's next presence here is a first one again.
func (g *Gateway) relationshipChanged(ctx context.Context, ev storage.Event) {
	if g.replaying {
		return
	}
	var r struct {
		ID   snowflake.ID `json:"id"`
		Type int          `json:"type"`
	}
	if json.Unmarshal(ev.Payload, &r) != nil || r.ID == 0 {
		return
	}
	g.mu.Lock()
	delete(g.friendGreeted, r.ID)
	if ev.Type != homeserver.RelationshipAdd || r.Type != storage.RelationshipFriend {
		g.mu.Unlock()
		return
	}
	theirs, known := g.presences[r.ID]
	mine := g.aggregateLocked(ev.LogID)
	targets := g.sessionsOf(g.byUser[ev.LogID])
	g.mu.Unlock()
	if known {
		d := friendPresenceEvent(r.ID, theirs)
		for _, s := range targets {
			if !s.bot {
				s.dispatch("PRESENCE_UPDATE", d)
			}
		}
	}
	if ev.Process != "" {
		return // relayed from the process that made it, which tells the friend's server
	}
	g.hs.Bus().Publish(storage.Event{LogID: ev.LogID, Type: homeserver.FriendPresenceLocal,
		Payload: friendPresencePayload(r.ID, friendPresenceEvent(ev.LogID, mine)), CreatedAt: time.Now()})
}

// friendPresences lists the current presences of a user's friends, for
// READY's presences.
func (g *Gateway) friendPresences(rels []discord.Relationship) []any {
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := []any{}
	for _, r := range rels {
		if r.Type != storage.RelationshipFriend {
			continue
		}
		if p, ok := g.presences[r.ID]; ok {
			out = append(out, map[string]any{
				"user": map[string]any{"id": r.ID}, "status": p.Status,
				"activities": p.Activities, "client_status": map[string]string{"web": p.Status},
			})
		}
	}
	return out
}

// presenceEvent is a user's presence in a guild, as PRESENCE_UPDATE and
// federation carry it.
func presenceEvent(userID, guildID snowflake.ID, p presence) []byte {
	d, _ := json.Marshal(map[string]any{
		"user": map[string]any{"id": userID}, "guild_id": guildID, "status": p.Status,
		"activities": p.Activities, "client_status": map[string]string{"web": p.Status},
	})
	return d
}

// announcePresences publishes, for federation, presences that the other
// servers of a guild cannot have seen change, since presence is told only
// when it changes. When one of this server's users joins a guild (with
// sessions here), that user's presence. And the first time the presence of
// a user of another server arrives for a guild, those of this server's
// users there who are not offline: that user's server has just joined, or
// just come up, and would show them offline until they next change. (At a
// join itself nothing is sent the other way: the joining server holds no
// replica yet to show them in.) Sessions here learn presences from
// GUILD_CREATE and need none of this.
func (g *Gateway) announcePresences(guildID snowflake.ID, users []snowflake.ID) {
	g.mu.RLock()
	var out []storage.Event
	for _, id := range users {
		if p, ok := g.presences[id]; ok && p.Status != "offline" {
			out = append(out, storage.Event{LogID: guildID, Type: homeserver.PresenceLocal, Payload: presenceEvent(id, guildID, p), CreatedAt: time.Now()})
		}
	}
	g.mu.RUnlock()
	g.hs.Bus().Publish(out...)
}

// localMembersLocked lists this server's users with sessions in a guild.
func (g *Gateway) localMembersLocked(guildID snowflake.ID) []snowflake.ID {
	seen := map[snowflake.ID]bool{}
	var users []snowflake.ID
	for s := range g.byGuild[guildID] {
		if id := s.user.User.ID; !seen[id] {
			seen[id] = true
			users = append(users, id)
		}
	}
	return users
}

// remotePresence tells the sessions of a guild the presence of a user of
// another homeserver, and keeps it for their GUILD_CREATEs.
func (g *Gateway) remotePresence(ev storage.Event) {
	var p struct {
		User struct {
			ID snowflake.ID `json:"id"`
		} `json:"user"`
		Status     string     `json:"status"`
		Activities []activity `json:"activities"`
	}
	if json.Unmarshal(ev.Payload, &p) != nil || p.User.ID == 0 {
		return
	}
	g.mu.Lock()
	if _, local := g.byUser[p.User.ID]; local {
		g.mu.Unlock()
		return // this server's own user: its sessions decide
	}
	var greet []snowflake.ID
	if p.Status == "offline" || statusRank[p.Status] == 0 {
		delete(g.presences, p.User.ID)
	} else {
		g.presences[p.User.ID] = presence{Status: p.Status, Activities: p.Activities}.visible()
		if ev.Process == "" && !g.greeted[ev.LogID][p.User.ID] {
			// (A copy another process relayed: that one answers.)
			if g.greeted[ev.LogID] == nil {
				g.greeted[ev.LogID] = map[snowflake.ID]bool{}
			}
			g.greeted[ev.LogID][p.User.ID] = true
			greet = g.localMembersLocked(ev.LogID)
		}
	}
	targets := g.sessionsOf(g.byGuild[ev.LogID])
	g.mu.Unlock()
	g.announcePresences(ev.LogID, greet)
	for _, s := range targets {
		if s.intents&intentGuildPresences != 0 && s.inGuild(ev.LogID) {
			s.dispatch("PRESENCE_UPDATE", ev.Payload)
		}
	}
}

// presencesOf lists the current presences of a guild's members, for
// GUILD_CREATE.
func (g *Gateway) presencesOf(members []snowflake.ID, guildID snowflake.ID) []any {
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := []any{}
	for _, id := range members {
		if p, ok := g.presences[id]; ok {
			out = append(out, map[string]any{
				"user": map[string]any{"id": id}, "guild_id": guildID, "status": p.Status,
				"activities": p.Activities, "client_status": map[string]string{"web": p.Status},
			})
		}
	}
	return out
}

// lastDisconnect ends the user's temporary memberships (joins through a
// temporary invite) when no session of theirs is connected any more, as
// Discord does. A shutdown drops every connection without ending them: the
// users did not leave.
func (g *Gateway) lastDisconnect(ctx context.Context, userID snowflake.ID) {
	// Under the read lock and without copying the set: a user may have
	// many detached sessions awaiting RESUME, and this runs at every
	// disconnect.
	g.mu.RLock()
	stay := g.closing
	for s := range g.byUser[userID] {
		if stay {
			break
		}
		s.mu.Lock()
		stay = s.c != nil
		s.mu.Unlock()
	}
	g.mu.RUnlock()
	if stay {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := g.hs.EndTemporaryMemberships(ctx, userID); err != nil {
		g.log.Warn("gateway: ending temporary memberships failed", "user", userID, "err", err)
	}
}

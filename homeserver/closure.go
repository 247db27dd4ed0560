package homeserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"hearth/homeserver/globalid"
	"hearth/homeserver/wire"
	"hearth/snowflake"
	"hearth/storage"
)

// Closing accounts (spec/client-api.md, "Closing an account"): deleted by
// their owner, deactivated by the operator, or disabled by their owner. A
// deleted or deactivated account keeps its row, so that its messages keep
// an author, but the row is anonymised as Discord shows a deleted user and
// its name is freed; its sessions end at once everywhere.

// DeletedGlobalName is the display name of a deleted account, as Discord's.
const DeletedGlobalName = "Deleted User"

// deletedPrefix starts the username of a deleted account, as Discord's
// deleted_user_<hex>; no one may register a name that starts with it.
const deletedPrefix = "deleted_user_"

// ErrOwnsGuilds: an account that owns guilds cannot be deleted; the guilds
// must be transferred or deleted first.
var ErrOwnsGuilds = errors.New("the account owns guilds: transfer or delete them first")

// anonymised is u as a deleted account shows it: no name, picture,
// banner, bio, pronouns, badges or password; a fresh deleted_user_ name
// frees the old one.
func anonymised(u storage.User) storage.User {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // crypto/rand does not fail on supported platforms
	u.Username = deletedPrefix + hex.EncodeToString(b)
	u.GlobalName, u.Avatar, u.Bio, u.AccentColor, u.PasswordHash, u.Flags = DeletedGlobalName, "", "", nil, "", 0
	u.Banner, u.Pronouns = "", ""
	return u
}

// ownPassword checks the password of the caller's own account; a bot
// has none and may not close itself this way.
func (h *Homeserver) ownPassword(ctx context.Context, u storage.User, pw string) error {
	if u.Bot {
		return fmt.Errorf("bot %d: %w", u.ID, ErrBotsForbidden)
	}
	return h.checkPassword(ctx, u, pw)
}

// DeleteAccount deletes the caller's account (Discord's POST
// /users/@me/delete): the password must match and the caller may own no
// guild. The account leaves its guilds, is anonymised, its sessions end,
// and the servers that know it are told.
func (h *Homeserver) DeleteAccount(ctx context.Context, p Principal, pw string) error {
	u, err := h.store.UserByID(ctx, p.User.ID)
	if err != nil {
		return storeErr("delete account", err)
	}
	if err := h.ownPassword(ctx, u, pw); err != nil {
		return err
	}
	gs, err := h.store.UserGuilds(ctx, u.ID)
	if err != nil {
		return storeErr("delete account", err)
	}
	for _, g := range gs {
		if g.OwnerID == u.ID {
			return fmt.Errorf("delete account %d: guild %d: %w", u.ID, g.ID, ErrOwnsGuilds)
		}
	}
	for _, g := range gs {
		// A guild whose origin cannot be reached keeps the member, shown
		// as the deleted user it now is.
		if err := h.LeaveGuild(ctx, p, g.ID); err != nil {
			h.log.Warn("deleted account not taken out of a guild", "user_id", u.ID, "guild_id", g.ID, "err", err)
		}
	}
	return h.closeAccount(ctx, u.ID, storage.AccountDeleted)
}

// DisableAccount disables the caller's account (Discord's POST
// /users/@me/disable): its sessions end and it stays as it is; signing in
// again opens it.
func (h *Homeserver) DisableAccount(ctx context.Context, p Principal, pw string) error {
	u, err := h.store.UserByID(ctx, p.User.ID)
	if err != nil {
		return storeErr("disable account", err)
	}
	if err := h.ownPassword(ctx, u, pw); err != nil {
		return err
	}
	return h.closeAccount(ctx, u.ID, storage.AccountDisabled)
}

// Deactivate closes a local account for the operator: it is anonymised as
// a deleted account, signed out everywhere, and cannot sign in again. Its
// messages, memberships and owned guilds stay. The servers that know it
// are told through the owed notices, which the running server sends
// (also when this is the command line, which reaches no peer itself).
func (a *Admin) Deactivate(ctx context.Context, username string) error {
	u, err := a.localUser(ctx, username)
	if err != nil {
		return err
	}
	if err := a.h.closeAccount(ctx, u.ID, storage.AccountDeactivated); err != nil {
		return err
	}
	a.h.log.Info("account deactivated", "user_id", u.ID, "by", a.by)
	return nil
}

// closeAccount records a closing, anonymises the account unless it is only
// disabled (and then queues the notice of its deletion to the servers that
// may know it), and ends its sessions: live connections close with 4004.
func (h *Homeserver) closeAccount(ctx context.Context, userID snowflake.ID, state string) error {
	now := h.now()
	var ended []snowflake.ID
	var botsEnded map[snowflake.ID][]snowflake.ID
	err := h.store.Update(ctx, func(tx storage.Tx) error {
		if err := tx.LockUser(ctx, userID); err != nil {
			return err
		}
		// The account's bots stop with it (spec/client-api.md, "Closing
		// an account"): their tokens end, so their gateways close with
		// 4004 and REST answers 401; a reopened account's owner resets
		// them to start them again.
		apps, err := tx.UserApplications(ctx, userID)
		if err != nil {
			return err
		}
		botsEnded = make(map[snowflake.ID][]snowflake.ID, len(apps))
		for _, a := range apps {
			ids, err := tx.DeleteUserSessions(ctx, a.ID, 0)
			if err != nil {
				return err
			}
			botsEnded[a.ID] = ids
		}
		u, err := tx.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		if state != storage.AccountDisabled {
			if err := tx.UpdateUser(ctx, anonymised(u)); err != nil {
				return err
			}
			if err := tx.SetAdmin(ctx, userID, false, now); err != nil {
				return err
			}
			// Nothing left to get back in with, and no address kept.
			if err := tx.SetRecoveryCodes(ctx, userID, nil); err != nil {
				return err
			}
			if err := tx.DeleteUserEmail(ctx, userID); err != nil {
				return err
			}
			if err := h.queueDeleted(ctx, tx, userID); err != nil {
				return err
			}
		}
		if err := tx.CloseAccount(ctx, storage.ClosedAccount{UserID: userID, State: state, ClosedAt: now}); err != nil {
			return err
		}
		if ended, err = tx.DeleteUserSessions(ctx, userID, 0); err != nil {
			return err
		}
		return tx.DeleteLinkCodes(ctx, userID)
	})
	if err != nil {
		return storeErr("close account", err)
	}
	h.closings.seen(userID, now)
	h.noticesQueued()
	h.cache.userChanged(userID)
	h.forgetSessions(userID, ended)
	for bot, ids := range botsEnded {
		h.forgetSessions(bot, ids)
	}
	h.log.Info("account closed", "user_id", userID, "state", state, "sessions_ended", len(ended), "bots_stopped", len(botsEnded))
	return nil
}

// PeerUserDeleted anonymises, here, a user of peer that peer deleted. A
// peer may name only its own users: the receiver's and a third server's
// are refused, and a user never seen here is nothing to do.
func (h *Homeserver) PeerUserDeleted(ctx context.Context, peer string, n wire.UserDeleted) error {
	raw, origin, ok := globalid.Parse(n.User)
	if !ok {
		return Invalid("user", "BASE_TYPE_INVALID", "Not a global ID.")
	}
	if origin != peer {
		return fmt.Errorf("%s deletes %q, not its user: %w", peer, n.User, ErrForbidden)
	}
	if _, err := strconv.ParseUint(raw, 10, 64); err != nil {
		return Invalid("user", "BASE_TYPE_INVALID", "Not a global ID.")
	}
	found, err := h.store.FederatedIDs(ctx, []storage.GlobalID{{Origin: peer, OriginID: raw}})
	if err != nil {
		return storeErr("peer user deleted", err)
	}
	m, ok := found[storage.GlobalID{Origin: peer, OriginID: raw}]
	if !ok {
		return nil
	}
	err = h.store.Update(ctx, func(tx storage.Tx) error {
		u, err := tx.UserByID(ctx, m.Local)
		if err != nil {
			return err
		}
		// The mapping must land on the peer's own row: one aliased onto
		// a user of this server or of a third one changes nothing.
		if u.Origin != peer || u.OriginID != raw {
			return fmt.Errorf("%s deletes %q, which is not its user here: %w", peer, n.User, ErrForbidden)
		}
		if strings.HasPrefix(u.Username, deletedPrefix) && u.GlobalName == DeletedGlobalName {
			return nil
		}
		return tx.UpdateUser(ctx, anonymised(u))
	})
	if err != nil {
		return domainErr("peer user deleted", err)
	}
	h.cache.userChanged(m.Local)
	h.log.Info("a peer's user was deleted", "peer", peer, "user_id", m.Local)
	return nil
}

// closings is what the closed-account watch has told the gateway of, so
// that it tells each closing, and each guild the operator deleted, once.
type closings struct {
	mu     sync.Mutex
	users  sightings
	guilds sightings
	// cut are the servers whose memberships the policy watch ended
	// (watchPolicy), until they may federate again.
	cut map[string]bool
}

// sightings are the rows of a table read by time that were acted on. The
// table is read from since on, including rows at since itself (several
// may share a millisecond), so those are remembered until a later row
// moves since past them.
type sightings struct {
	since time.Time
	told  map[snowflake.ID]time.Time
}

// remember records the row (id, at) as acted on without moving since:
// rows before it may not have been read yet.
func (s *sightings) remember(id snowflake.ID, at time.Time) {
	if s.told == nil {
		s.told = map[snowflake.ID]time.Time{}
	}
	s.told[id] = at
}

// first records the row (id, at), read from the table, and reports
// whether it was not seen before.
func (s *sightings) first(id snowflake.ID, at time.Time) bool {
	if prev, ok := s.told[id]; ok && prev.Equal(at) {
		return false
	}
	s.remember(id, at)
	if at.After(s.since) {
		s.since = at
		for id, t := range s.told {
			if t.Before(s.since) { // never read again
				delete(s.told, id)
			}
		}
	}
	return true
}

// seenGuild records a guild deletion told already (by the process that
// made it).
func (c *closings) seenGuild(id snowflake.ID, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.guilds.remember(id, at)
}

// seen records a closing told already (by the process that made it).
func (c *closings) seen(id snowflake.ID, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.users.remember(id, at)
}

// RunClosedAccountWatch finds, every period, the accounts closed by another
// process (the operator's command line) and ends their live sessions
// here: their connections close with 4004 and their cached sessions are
// dropped. It also finds the guilds the operator deleted and hands their
// GUILD_DELETE to the bus, for the gateway and federation delivery; and
// reads the federation rules again, ending the memberships of the users
// of each server that may no longer federate (the command line writes the
// rule only). It returns when ctx ends.
func (h *Homeserver) RunClosedAccountWatch(ctx context.Context, every time.Duration) {
	h.closings.mu.Lock()
	h.closings.users.since = h.now()
	h.closings.guilds.since = h.closings.users.since
	h.closings.mu.Unlock()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.watchPolicy(ctx)
			h.watchClosings(ctx)
			h.watchGuildDeletions(ctx)
		}
	}
}

func (h *Homeserver) watchClosings(ctx context.Context) {
	c := &h.closings
	c.mu.Lock()
	since := c.users.since
	c.mu.Unlock()
	cs, err := h.store.ClosedSince(ctx, since, 1000)
	if err != nil {
		h.log.Warn("closed accounts not read", "err", err)
		return
	}
	for _, ca := range cs {
		c.mu.Lock()
		first := c.users.first(ca.UserID, ca.ClosedAt)
		c.mu.Unlock()
		if !first {
			continue
		}
		h.sessions.RemoveIf(func(s storage.Session) bool { return s.UserID == ca.UserID })
		h.cache.userChanged(ca.UserID)
		h.sessionsEndedAll(ca.UserID)
		// Its bots' sessions ended with it, in the other process.
		apps, err := h.store.UserApplications(ctx, ca.UserID)
		if err != nil {
			h.log.Warn("closed account's bots not read", "user_id", ca.UserID, "err", err)
		}
		for _, a := range apps {
			h.sessions.RemoveIf(func(s storage.Session) bool { return s.UserID == a.ID })
			h.sessionsEndedAll(a.ID)
		}
		h.log.Info("account closed elsewhere; its connections end", "user_id", ca.UserID, "state", ca.State)
	}
}

func (h *Homeserver) watchGuildDeletions(ctx context.Context) {
	c := &h.closings
	c.mu.Lock()
	since := c.guilds.since
	c.mu.Unlock()
	ds, err := h.store.GuildDeletionsSince(ctx, since, 1000)
	if err != nil {
		h.log.Warn("guild deletions not read", "err", err)
		return
	}
	for _, d := range ds {
		c.mu.Lock()
		first := c.guilds.first(d.GuildID, d.DeletedAt)
		c.mu.Unlock()
		if !first {
			continue
		}
		head, err := h.store.LogHead(ctx, d.GuildID)
		if err != nil || head == 0 {
			continue
		}
		evs, err := h.store.Events(ctx, d.GuildID, head-1, 1)
		if err != nil || len(evs) != 1 || evs[0].Type != "GUILD_DELETE" {
			continue
		}
		h.bus.Publish(evs[0])
		h.log.Info("guild deleted elsewhere; told", "guild_id", d.GuildID)
	}
}

// watchPolicy reads the federation rules again, so that one the command
// line wrote holds within the watch period, and cuts off each ruled server
// that may no longer federate and was not cut off yet: its users'
// memberships end here, in this process, whose gateway and federation
// sender hear them. The first pass after start checks every rule, so a
// block written while no server ran takes effect at the next start.
func (h *Homeserver) watchPolicy(ctx context.Context) {
	rules, err := h.store.FederationRules(ctx)
	if err != nil {
		h.log.Warn("federation rules not read", "err", err)
		return
	}
	h.policy.mu.Lock()
	h.policy.loaded = time.Time{}
	h.policy.mu.Unlock()
	c := &h.closings
	// The servers to look at: every ruled one; in allow-list mode every
	// server whose users are known here too, since having no rule (an
	// allow rule removed, or none ever written) is what ends them there;
	// and those cut off before, which may federate again.
	servers := make(map[string]bool, len(rules))
	for _, r := range rules {
		servers[r.Server] = true
	}
	if h.cfg.FederationAllowList {
		known, err := h.store.KnownServers(ctx)
		if err != nil {
			h.log.Warn("known servers not read", "err", err)
		}
		for _, s := range known {
			servers[s] = true
		}
	}
	c.mu.Lock()
	for s := range c.cut {
		servers[s] = true
	}
	c.mu.Unlock()
	for server := range servers {
		allowed := h.PeerAllowed(ctx, server)
		c.mu.Lock()
		done := c.cut[server]
		if allowed { // a later rule against it cuts it off again
			delete(c.cut, server)
		}
		c.mu.Unlock()
		if allowed || done {
			continue
		}
		if err := h.cutOff(ctx, server); err != nil {
			h.log.Warn("server not cut off", "server", server, "err", err)
			continue
		}
		c.mu.Lock()
		if c.cut == nil {
			c.cut = map[string]bool{}
		}
		c.cut[server] = true
		c.mu.Unlock()
	}
}

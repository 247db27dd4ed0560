package homeserver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"hearth/homeserver/globalid"
	"hearth/snowflake"
	"hearth/storage"
)

// Instance administration (spec/client-api.md, "Instance administration"):
// who administers this homeserver, and with which servers it federates. The
// first account registered on a fresh homeserver administers it; the
// operator grants and revokes administration, and sets federation rules,
// from the command line (OperatorAdmin) as administrators do over the API.

// ErrRegistrationClosed: this homeserver takes no new accounts by
// registration; its operator makes them.
var ErrRegistrationClosed = errors.New("registration is closed on this homeserver")

// Registration modes (Config.Registration).
const (
	// RegistrationOpen lets anyone register.
	RegistrationOpen = "open"
	// RegistrationInvite takes registrations with a registration token
	// an administrator made.
	RegistrationInvite = "invite"
	// RegistrationClosed takes no registrations: accounts are made by the
	// operator (`homeserver admin create-user`).
	RegistrationClosed = "closed"
)

// FederationRule is a rule of this homeserver about another server.
type FederationRule struct {
	Server string
	// Rule is "block" or "allow".
	Rule      string
	CreatedAt time.Time
}

// policyTTL is how stale the federation rules a check reads may be: a rule
// set from the command line while the server runs, or by another process,
// holds within it.
const policyTTL = 5 * time.Second

// federationPolicy caches the federation rules, read on every federation
// request.
type federationPolicy struct {
	mu     sync.Mutex
	rules  map[string]string
	loaded time.Time
}

// Admin is an instance administrator's hold on this homeserver: its
// methods are what administration may do.
type Admin struct {
	h *Homeserver
	// by is the administrator (0: the operator, at the command line).
	by snowflake.ID
}

// OperatorAdmin is the operator's own administration, for the command
// line, which works on the data directory or database directly.
func (h *Homeserver) OperatorAdmin() *Admin { return &Admin{h: h} }

// Admin returns p's administration of this homeserver, or
// ErrMissingPermission when p does not administer it.
func (h *Homeserver) Admin(ctx context.Context, p Principal) (*Admin, error) {
	ok, err := h.IsAdmin(ctx, p)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%d is not an administrator of this homeserver: %w", p.User.ID, ErrMissingPermission)
	}
	return &Admin{h: h, by: p.User.ID}, nil
}

// IsAdmin reports whether p administers this homeserver. It reads the
// database each time: administration changes from the command line while
// the server runs.
func (h *Homeserver) IsAdmin(ctx context.Context, p Principal) (bool, error) {
	ok, err := h.store.IsAdmin(ctx, p.User.ID)
	if err != nil {
		return false, storeErr("is admin", err)
	}
	return ok, nil
}

// localUser finds one of this homeserver's accounts by name.
func (a *Admin) localUser(ctx context.Context, username string) (storage.User, error) {
	u, err := a.h.store.UserByUsername(ctx, username)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.User{}, fmt.Errorf("user %q: %w", username, ErrUnknownUser)
	}
	if err != nil {
		return storage.User{}, storeErr("admin", err)
	}
	return u, nil
}

// Grant makes the local account username an administrator.
func (a *Admin) Grant(ctx context.Context, username string) error {
	return a.setAdmin(ctx, username, true)
}

// Revoke ends username's administration.
func (a *Admin) Revoke(ctx context.Context, username string) error {
	return a.setAdmin(ctx, username, false)
}

func (a *Admin) setAdmin(ctx context.Context, username string, admin bool) error {
	u, err := a.localUser(ctx, username)
	if err != nil {
		return err
	}
	if err := a.h.store.Update(ctx, func(tx storage.Tx) error { return tx.SetAdmin(ctx, u.ID, admin, a.h.now()) }); err != nil {
		return storeErr("admin", err)
	}
	a.h.log.Info("instance administration changed", "user_id", u.ID, "admin", admin, "by", a.by)
	return nil
}

// CreateAccount makes a local account with a password, whatever the
// registration mode, without signing it in. The first account of a fresh
// homeserver administers it.
func (a *Admin) CreateAccount(ctx context.Context, username, pw string) (User, error) {
	u, _, err := a.h.createAccount(ctx, Registration{Username: username, Password: pw}, false)
	return u, err
}

// ResetPassword sets a local account's password and ends its sessions.
func (a *Admin) ResetPassword(ctx context.Context, username, pw string) error {
	v := &ValidationError{}
	validatePassword(v, "password", pw)
	if err := v.Err(); err != nil {
		return err
	}
	u, err := a.localUser(ctx, username)
	if err != nil {
		return err
	}
	if u.Bot {
		return fmt.Errorf("%q is a bot, which signs in with its token: %w", username, ErrBotsForbidden)
	}
	hash, err := a.h.passwordHash(ctx, pw)
	if err != nil {
		return err
	}
	var ended []snowflake.ID
	err = a.h.store.Update(ctx, func(tx storage.Tx) error {
		fresh, err := tx.UserByID(ctx, u.ID)
		if err != nil {
			return err
		}
		fresh.PasswordHash = hash
		if err := tx.UpdateUser(ctx, fresh); err != nil {
			return err
		}
		if ended, err = tx.DeleteUserSessions(ctx, u.ID, 0); err != nil {
			return err
		}
		return passwordChanged(ctx, tx, u.ID)
	})
	if err != nil {
		return storeErr("reset password", err)
	}
	a.h.forgetSessions(u.ID, ended)
	a.h.log.Info("password reset by an administrator; sessions ended", "user_id", u.ID, "sessions_ended", len(ended), "by", a.by)
	return nil
}

// FederationRules lists this homeserver's federation rules.
func (a *Admin) FederationRules(ctx context.Context) ([]FederationRule, error) {
	rules, err := a.h.store.FederationRules(ctx)
	if err != nil {
		return nil, storeErr("federation rules", err)
	}
	out := make([]FederationRule, 0, len(rules))
	for _, r := range rules {
		out = append(out, FederationRule(r))
	}
	return out, nil
}

// SetFederationRule blocks or allows a server. A server that may no longer
// federate (blocked, or, in allow-list mode, no longer allowed) is cut off
// at once: its requests are refused, nothing is sent to it, and its users'
// memberships in this homeserver's guilds end.
func (a *Admin) SetFederationRule(ctx context.Context, server, rule string) error {
	v := &ValidationError{}
	if !globalid.ValidServer(server) {
		v.Add("server", "BASE_TYPE_INVALID", "Not a server name (a lower-case host name or address, with an optional port).")
	} else if server == a.h.cfg.ServerName {
		v.Add("server", "BASE_TYPE_INVALID", "This homeserver itself.")
	}
	if rule != storage.RuleBlock && rule != storage.RuleAllow {
		v.Add("rule", "BASE_TYPE_CHOICES", `Value must be one of {"block", "allow"}.`)
	}
	if err := v.Err(); err != nil {
		return err
	}
	r := storage.FederationRule{Server: server, Rule: rule, CreatedAt: a.h.now()}
	if err := a.h.store.Update(ctx, func(tx storage.Tx) error { return tx.SetFederationRule(ctx, r) }); err != nil {
		return storeErr("federation rule", err)
	}
	a.h.log.Info("federation rule set", "server", server, "rule", rule, "by", a.by)
	return a.h.policyChanged(ctx, server)
}

// DeleteFederationRule removes the rule about a server.
func (a *Admin) DeleteFederationRule(ctx context.Context, server string) error {
	err := a.h.store.Update(ctx, func(tx storage.Tx) error { return tx.DeleteFederationRule(ctx, server) })
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("federation rule of %q: %w", server, ErrNotFound)
	}
	if err != nil {
		return storeErr("federation rule", err)
	}
	a.h.log.Info("federation rule removed", "server", server, "by", a.by)
	return a.h.policyChanged(ctx, server)
}

// policyChanged reloads the rules and, when server may no longer
// federate, ends its users' memberships in this homeserver's guilds.
func (h *Homeserver) policyChanged(ctx context.Context, server string) error {
	h.policy.mu.Lock()
	h.policy.loaded = time.Time{}
	h.policy.mu.Unlock()
	if h.cfg.DeferPolicyCuts || h.PeerAllowed(ctx, server) {
		return nil
	}
	return h.cutOff(ctx, server)
}

// cutOff ends the memberships of server's users in this homeserver's
// guilds, through the guilds' logs (GUILD_MEMBER_REMOVE).
func (h *Homeserver) cutOff(ctx context.Context, server string) error {
	ms, err := h.store.MembershipsFrom(ctx, server)
	if err != nil {
		return storeErr("cut off "+server, err)
	}
	for _, m := range ms {
		err := h.update(ctx, func(tx storage.Tx, ev *events) error {
			return h.removeMember(ctx, tx, ev, m.GuildID, m.UserID)
		})
		if err != nil && !errors.Is(err, ErrUnknownMember) {
			return domainErr("cut off "+server, err)
		}
	}
	h.log.Info("server cut off", "server", server, "memberships_ended", len(ms))
	return nil
}

// PeerAllowed reports whether this homeserver federates with server now:
// in allow-list mode only with the servers allowed, otherwise with every
// server not blocked. The rules are read again when policyTTL has passed;
// when they cannot be read, the last ones read hold.
func (h *Homeserver) PeerAllowed(ctx context.Context, server string) bool {
	p := &h.policy
	p.mu.Lock()
	defer p.mu.Unlock()
	if now := time.Now(); now.Sub(p.loaded) >= policyTTL {
		rules, err := h.store.FederationRules(ctx)
		if err != nil {
			h.log.Warn("federation rules not read; the last ones read hold", "err", err)
		} else {
			p.rules = make(map[string]string, len(rules))
			for _, r := range rules {
				p.rules[r.Server] = r.Rule
			}
			p.loaded = now
		}
	}
	if h.cfg.FederationAllowList {
		return p.rules[server] == storage.RuleAllow
	}
	return p.rules[server] != storage.RuleBlock
}

// FederationAllowList reports whether this homeserver federates only with
// the servers allowed.
func (h *Homeserver) FederationAllowList() bool { return h.cfg.FederationAllowList }

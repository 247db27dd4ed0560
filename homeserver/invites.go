package homeserver

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"hearth/discord"
	"hearth/homeserver/globalid"
	"hearth/homeserver/permission"
	"hearth/snowflake"
	"hearth/storage"
)

// Invite limits, Discord's.
const (
	InviteMaxAge     = 7 * 24 * 3600
	InviteMaxUses    = 100
	inviteCodeLen    = 8
	inviteCodeLetter = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

// InviteCreate is what an invite is made with.
type InviteCreate struct {
	MaxAge    Optional[int]
	MaxUses   Optional[int]
	Temporary bool
	// Unique forces a new code; otherwise a matching live invite of the
	// same inviter on the channel is handed out again.
	Unique bool
}

func newInviteCode() string {
	var b [inviteCodeLen]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		// 62 does not divide 256, but an 8-character code does not need
		// uniform letters: only unguessable ones.
		b[i] = inviteCodeLetter[int(b[i])%len(inviteCodeLetter)]
	}
	return string(b[:])
}

// live reports whether an invite can still be used.
func (h *Homeserver) live(inv storage.Invite) bool {
	if !inv.ExpiresAt.IsZero() && !h.now().Before(inv.ExpiresAt) {
		return false
	}
	return inv.MaxUses == 0 || inv.Uses < inv.MaxUses
}

// CreateInvite makes an invite to a channel (CREATE_INSTANT_INVITE there).
func (h *Homeserver) CreateInvite(ctx context.Context, p Principal, channelID snowflake.ID, in InviteCreate) (discord.Invite, error) {
	return do(ctx, h, write[discord.Invite]{op: "create invite", channel: channelID, guildOnly: true,
		here: func(ctx context.Context) (discord.Invite, error) { return h.createInviteHere(ctx, p, channelID, in) },
		there: func(ctx context.Context, g replicaLog) (discord.Invite, error) {
			return h.forwardInvite(ctx, p, g, channelID, in)
		}})
}

// createInviteHere carries out CreateInvite on this server's own log.
func (h *Homeserver) createInviteHere(ctx context.Context, p Principal, channelID snowflake.ID, in InviteCreate) (discord.Invite, error) {
	maxAge, maxUses := 86400, 0
	v := &ValidationError{}
	if in.MaxAge.Set {
		maxAge = in.MaxAge.Value
		if maxAge < 0 || maxAge > InviteMaxAge {
			v.Add("max_age", "NUMBER_TYPE_MAX", fmt.Sprintf("Must be between 0 and %d.", InviteMaxAge))
		}
	}
	if in.MaxUses.Set {
		maxUses = in.MaxUses.Value
		if maxUses < 0 || maxUses > InviteMaxUses {
			v.Add("max_uses", "NUMBER_TYPE_MAX", fmt.Sprintf("Must be between 0 and %d.", InviteMaxUses))
		}
	}
	if err := v.Err(); err != nil {
		return discord.Invite{}, err
	}
	var out discord.Invite
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		a, c, err := h.accessByChannel(ctx, tx, channelID, p.User.ID)
		if err != nil {
			return err
		}
		if err := a.requireIn(c, permission.CreateInstantInvite); err != nil {
			return err
		}
		if c.Type == ChannelCategory {
			return Invalid("channel_id", "CHANNEL_INVALID", "Invites cannot be made to a category.")
		}
		if !in.Unique {
			existing, err := tx.ChannelInvites(ctx, c.ID)
			if err != nil {
				return err
			}
			for _, inv := range existing {
				if inv.InviterID == p.User.ID && inv.MaxAge == maxAge && inv.MaxUses == maxUses &&
					inv.Temporary == in.Temporary && inv.Uses == 0 && h.live(inv) {
					out, err = h.inviteJSON(ctx, tx, inv, true, false)
					return err
				}
			}
		}
		now := h.now()
		inv := storage.Invite{
			Code: newInviteCode(), GuildID: c.GuildID, ChannelID: c.ID, InviterID: p.User.ID,
			MaxAge: maxAge, MaxUses: maxUses, Temporary: in.Temporary, CreatedAt: now,
		}
		if maxAge > 0 {
			inv.ExpiresAt = now.Add(time.Duration(maxAge) * time.Second)
		}
		if err := tx.CreateInvite(ctx, inv); err != nil {
			return err
		}
		if out, err = h.inviteJSON(ctx, tx, inv, true, false); err != nil {
			return err
		}
		if err := h.audit(ctx, ev, c.GuildID, p.User.ID, AuditInviteCreate, 0,
			[]discord.AuditLogChange{change("code", nil, inv.Code), change("channel_id", nil, c.ID.String()),
				change("max_age", nil, maxAge), change("max_uses", nil, maxUses)}, nil); err != nil {
			return err
		}
		return ev.Append(ctx, c.GuildID, "INVITE_CREATE", discord.InviteCreateEvent{
			ChannelID: c.ID, Code: inv.Code, CreatedAt: discord.Timestamp(now), GuildID: c.GuildID,
			Inviter: out.Inviter, MaxAge: maxAge, MaxUses: maxUses, Temporary: in.Temporary,
		})
	})
	return out, domainErr("create invite", err)
}

// inviteJSON renders an invite: with its metadata for those who manage it,
// with approximate counts on request.
func (h *Homeserver) inviteJSON(ctx context.Context, r storage.Reader, inv storage.Invite, metadata, counts bool) (discord.Invite, error) {
	g, err := r.GuildByID(ctx, inv.GuildID)
	if err != nil {
		return discord.Invite{}, err
	}
	c, err := r.ChannelByID(ctx, inv.ChannelID)
	if err != nil {
		return discord.Invite{}, err
	}
	preview := guildPreview(g)
	gid, cid := g.ID, c.ID
	out := discord.Invite{
		Code: inv.Code, Guild: &preview, GuildID: &gid, ChannelID: &cid,
		Channel:   &discord.InviteChannel{ID: c.ID, Name: c.Name, Type: c.Type},
		ExpiresAt: discord.TimePtr(inv.ExpiresAt),
	}
	if u, err := r.UserByID(ctx, inv.InviterID); err == nil {
		du := discordUser(u)
		out.Inviter = &du
	}
	if counts {
		n, err := r.MemberCount(ctx, g.ID)
		if err != nil {
			return discord.Invite{}, err
		}
		zero := 0
		out.ApproximateMemberCount, out.ApproximatePresenceCount = &n, &zero
	}
	if metadata {
		uses, maxUses, maxAge, temp := inv.Uses, inv.MaxUses, inv.MaxAge, inv.Temporary
		created := discord.Timestamp(inv.CreatedAt)
		out.Uses, out.MaxUses, out.MaxAge, out.Temporary, out.CreatedAt = &uses, &maxUses, &maxAge, &temp, &created
	}
	return out, nil
}

// localCode strips this server's name from "code@server"; a code of another
// server is unknown here until federation joins land.
func (h *Homeserver) localCode(code string) (string, error) {
	c, server, remote := strings.Cut(code, "@")
	if remote && server != h.cfg.ServerName {
		return "", fmt.Errorf("invite of %s: %w", server, ErrUnknownInvite)
	}
	if c == "" || len(c) > 64 {
		return "", ErrUnknownInvite
	}
	return c, nil
}

func (h *Homeserver) liveInvite(ctx context.Context, r storage.Reader, code string) (storage.Invite, error) {
	c, err := h.localCode(code)
	if err != nil {
		return storage.Invite{}, err
	}
	inv, err := r.Invite(ctx, c)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && !h.live(inv)) {
		return storage.Invite{}, fmt.Errorf("invite %q: %w", c, ErrUnknownInvite)
	}
	if err != nil {
		return storage.Invite{}, storeErr("invite", err)
	}
	return inv, nil
}

// GetInvite previews an invite; anyone may, signed in or not.
//
// An invite of another homeserver (code@server) is previewed through it,
// for a signed-in user only (p not zero): anyone else could have this
// server call any other at will.
func (h *Homeserver) GetInvite(ctx context.Context, p Principal, code string, withCounts bool) (discord.Invite, error) {
	if c, server, ok := strings.Cut(code, "@"); ok && server != h.cfg.ServerName {
		if p.User.ID == 0 {
			return discord.Invite{}, fmt.Errorf("preview of a remote invite: %w", ErrUnauthorized)
		}
		if c == "" || len(c) > 64 || len(server) > 255 {
			return discord.Invite{}, ErrUnknownInvite
		}
		return h.remoteInvite(ctx, server, c)
	}
	inv, err := h.liveInvite(ctx, h.store, code)
	if err != nil {
		return discord.Invite{}, err
	}
	out, err := h.inviteJSON(ctx, h.store, inv, false, withCounts)
	if err != nil {
		return discord.Invite{}, storeErr("invite", err)
	}
	return out, nil
}

// remoteInvite previews an invite of server in this server's IDs. A
// preview keeps nothing: it is localized in a transaction that is rolled
// back, so the objects it names that this server holds (a guild already
// joined, a known inviter) show under their IDs here, and the others under
// provisional ones that no mapping or row keeps (a peer's invite must not
// make this server keep state nothing local needs, spec/federation.md
// §14); a join maps them for good.
func (h *Homeserver) remoteInvite(ctx context.Context, server, code string) (discord.Invite, error) {
	if h.remote == nil {
		return discord.Invite{}, fmt.Errorf("invite on %s: federation is off: %w", server, ErrUnavailable)
	}
	raw, err := h.remote.Invite(ctx, server, code)
	if err != nil {
		return discord.Invite{}, err
	}
	v, err := globalid.Decode(raw)
	if err != nil {
		return discord.Invite{}, fmt.Errorf("invite on %s: %w: %w", server, ErrUnavailable, err)
	}
	var out discord.Invite
	err = h.store.Update(ctx, func(tx storage.Tx) error {
		// The preview may name the origin's objects and users, none of
		// this server's objects: it is checked as a replica's event, in
		// the scope of the guild's replica when there is one (before the
		// join, what it maps is in no replica's scope yet).
		var scope snowflake.ID
		if obj, ok := v.(map[string]any); ok {
			g, _ := obj["guild"].(map[string]any)
			gid, _ := g["id"].(string)
			if raw, origin, ok := globalid.Parse(gid); ok && origin == server {
				m, err := tx.FederatedID(ctx, server, raw)
				if err == nil && (m.Scope == m.Local || m.Scope == 0) {
					scope = m.Local
				} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
					return err
				}
			}
		}
		l := h.newLocalizer(tx, tx).ForReplica(server, scope)
		local, err := h.localize(ctx, tx, l, v)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(local, &out); err != nil {
			return err
		}
		return errPreviewOnly
	})
	if errors.Is(err, errPreviewOnly) {
		err = nil
	}
	if err != nil {
		return discord.Invite{}, domainErr("remote invite", err)
	}
	if out.Guild == nil || out.Code != code {
		return discord.Invite{}, fmt.Errorf("invite on %s: not the invite asked for: %w", server, ErrUnavailable)
	}
	out.Code = code + "@" + server
	return out, nil
}

// errPreviewOnly rolls back the transaction a remote invite's preview is
// localized in.
var errPreviewOnly = errors.New("invite preview: nothing kept")

// PeerInvite is an invite of this server as a peer previews it for its
// user, in global IDs.
func (h *Homeserver) PeerInvite(ctx context.Context, code string) (json.RawMessage, error) {
	if strings.Contains(code, "@") {
		return nil, fmt.Errorf("invite %q: %w", code, ErrUnknownInvite)
	}
	inv, err := h.GetInvite(ctx, Principal{}, code, true)
	if err != nil {
		return nil, err
	}
	out, err := h.globalJSON(ctx, h.store, inv)
	if err != nil {
		return nil, storeErr("peer invite", err)
	}
	return out, nil
}

// AcceptInvite joins the guild of an invite; a banned user cannot.
func (h *Homeserver) AcceptInvite(ctx context.Context, p Principal, code string) (discord.Invite, error) {
	if c, server, ok := strings.Cut(code, "@"); ok && server != h.cfg.ServerName {
		if c == "" || len(c) > 64 || len(server) > 255 {
			return discord.Invite{}, ErrUnknownInvite
		}
		return h.remoteJoin(ctx, p, server, c)
	}
	inv, err := h.liveInvite(ctx, h.store, code)
	if err != nil {
		return discord.Invite{}, err
	}
	if _, err := h.join(ctx, p, inv.GuildID, &inv); err != nil {
		return discord.Invite{}, err
	}
	out, err := h.inviteJSON(ctx, h.store, inv, false, false)
	if err != nil {
		return discord.Invite{}, storeErr("invite", err)
	}
	return out, nil
}

// DeleteInvite revokes an invite (MANAGE_CHANNELS on its channel, or
// MANAGE_GUILD).
func (h *Homeserver) DeleteInvite(ctx context.Context, p Principal, code string) (discord.Invite, error) {
	var out discord.Invite
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		c, err := h.localCode(code)
		if err != nil {
			return err
		}
		inv, err := tx.Invite(ctx, c)
		if errors.Is(err, storage.ErrNotFound) {
			return ErrUnknownInvite
		}
		if err != nil {
			return err
		}
		a, ch, err := h.accessByChannel(ctx, tx, inv.ChannelID, p.User.ID)
		if errors.Is(err, ErrUnknownChannel) {
			return ErrUnknownInvite
		}
		if err != nil {
			return err
		}
		if !a.base.Has(permission.ManageGuild) && !a.in(ch).Has(permission.ManageChannels) {
			return fmt.Errorf("revoke invite: %w", ErrMissingPermission)
		}
		if out, err = h.inviteJSON(ctx, tx, inv, true, false); err != nil {
			return err
		}
		if err := tx.DeleteInvite(ctx, storage.InGuild(ch.GuildID), inv.Code); err != nil {
			return err
		}
		if err := h.audit(ctx, ev, inv.GuildID, p.User.ID, AuditInviteDelete, 0,
			[]discord.AuditLogChange{change("code", inv.Code, nil)}, nil); err != nil {
			return err
		}
		return ev.Append(ctx, inv.GuildID, "INVITE_DELETE", discord.InviteDeleteEvent{ChannelID: inv.ChannelID, GuildID: inv.GuildID, Code: inv.Code})
	})
	return out, domainErr("delete invite", err)
}

// ChannelInvites lists a channel's invites (MANAGE_CHANNELS there).
func (h *Homeserver) ChannelInvites(ctx context.Context, p Principal, channelID snowflake.ID) ([]discord.Invite, error) {
	a, c, err := h.accessByChannel(ctx, h.store, channelID, p.User.ID)
	if err != nil {
		return nil, err
	}
	if err := a.requireIn(c, permission.ManageChannels); err != nil {
		return nil, err
	}
	invs, err := h.store.ChannelInvites(ctx, channelID)
	if err != nil {
		return nil, storeErr("channel invites", err)
	}
	return h.invitesJSON(ctx, invs)
}

// GuildInvites lists a guild's invites (MANAGE_GUILD).
func (h *Homeserver) GuildInvites(ctx context.Context, p Principal, guildID snowflake.ID) ([]discord.Invite, error) {
	a, err := h.loadAccess(ctx, h.store, guildID, p.User.ID)
	if err != nil {
		return nil, err
	}
	if err := a.require(permission.ManageGuild); err != nil {
		return nil, err
	}
	invs, err := h.store.GuildInvites(ctx, guildID)
	if err != nil {
		return nil, storeErr("guild invites", err)
	}
	return h.invitesJSON(ctx, invs)
}

func (h *Homeserver) invitesJSON(ctx context.Context, invs []storage.Invite) ([]discord.Invite, error) {
	out := make([]discord.Invite, 0, len(invs))
	for _, inv := range invs {
		if !h.live(inv) {
			continue
		}
		j, err := h.inviteJSON(ctx, h.store, inv, true, false)
		if err != nil {
			return nil, storeErr("invites", err)
		}
		out = append(out, j)
	}
	return out, nil
}

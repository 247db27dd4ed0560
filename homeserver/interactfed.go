package homeserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"hearth/discord"
	"hearth/homeserver/globalid"
	"hearth/homeserver/wire"
	"hearth/snowflake"
	"hearth/storage"
)

// Interactions across homeservers (spec/federation.md §7.8). A person
// whose guild is a replica here interacts through the guild's origin: the
// member server forwards the interaction as an act, and the origin checks
// it and hands it to the application as for its own member. What the
// application answers in the channel is a message of the guild's log and
// reaches the replica like any other; what is for the person alone (how
// the interaction went, a modal, autocomplete choices, ephemeral
// messages) the origin tells the person's server in a signed notice that
// names the person, which that server accepts only from the guild's
// origin, for its own user, in a replica it holds.

// interactionNoticeQueue bounds the notices waiting to be sent; past it
// new ones are dropped (the person's client then times the interaction
// out, as when its server is unreachable).
const interactionNoticeQueue = 1024

// interactionNoticeTimeout bounds the sending of one notice: it is worth
// nothing late.
const interactionNoticeTimeout = 5 * time.Second

// noticeJob is one notice for one server.
type noticeJob struct {
	server string
	n      wire.InteractionNotice
}

// noticeDispatches are the dispatches a notice may carry.
var noticeDispatches = map[string]bool{
	dispatchInteractionCreate: true, dispatchInteractionSuccess: true, dispatchInteractionFailure: true,
	dispatchModalCreate: true, dispatchAutocomplete: true,
	"MESSAGE_CREATE": true, "MESSAGE_UPDATE": true, "MESSAGE_DELETE": true,
}

// forwardInteraction asks a replica guild's origin to create p's
// interaction. The person hears of it through the origin's notices.
func (h *Homeserver) forwardInteraction(ctx context.Context, p Principal, rl replicaLog, in InteractionCreate) error {
	if err := h.forwardable(ctx, p, in.ChannelID); err != nil {
		return err
	}
	app, err := h.globalOf(ctx, in.ApplicationID)
	if err != nil {
		return err
	}
	if _, origin, _ := globalid.Parse(app); origin != rl.Origin {
		// Applications are the origin's: one named by an ID this server
		// does not map to the origin is none of the guild's.
		return fmt.Errorf("application %d: %w", in.ApplicationID, ErrUnknownApplication)
	}
	raw, err := json.Marshal(wire.ActData{Interaction: &wire.ActInteraction{Type: in.Type, ApplicationID: app,
		Nonce: in.Nonce, Session: in.SessionID, Data: string(in.Data)}})
	if err != nil {
		return fmt.Errorf("interaction act: %w", err)
	}
	_, err = h.forward(ctx, p, rl, wire.Act{Action: wire.ActInteract, Data: raw}, in.ChannelID, in.MessageID)
	return err
}

// actInteraction creates a peer's user's interaction, as CreateInteraction
// does for a local one.
func (h *Homeserver) actInteraction(ctx context.Context, c *actCall) (any, error) {
	d := c.Data.Interaction
	if d == nil || c.Guild.ID == 0 || c.Channel == 0 {
		return nil, Invalid("interaction", "BASE_TYPE_REQUIRED", "An interaction in a guild channel is required.")
	}
	appID, err := h.lookupGlobal(ctx, d.ApplicationID, ErrUnknownApplication)
	if err != nil {
		return nil, err
	}
	data := json.RawMessage(d.Data)
	if d.Type == discord.InteractionApplicationCommand || d.Type == discord.InteractionAutocomplete {
		if data, err = h.commandByName(ctx, appID, c.Guild.ID, data); err != nil {
			return nil, err
		}
	}
	return nil, h.CreateInteraction(ctx, c.Actor, InteractionCreate{Type: d.Type, ApplicationID: appID, GuildID: c.Guild.ID,
		ChannelID: c.Channel, MessageID: c.Message, Nonce: d.Nonce, SessionID: d.Session, Data: data})
}

// commandByName gives a forwarded command's data the ID of the
// application's command of its name (a guild command first, then a global
// one): the member server names the command by name only.
func (h *Homeserver) commandByName(ctx context.Context, appID, guildID snowflake.ID, data json.RawMessage) (json.RawMessage, error) {
	var d map[string]any
	if err := json.Unmarshal(data, &d); err != nil || d == nil {
		return nil, Invalid("data", "MODEL_TYPE_CONVERT", "Not a valid interaction data object.")
	}
	name, _ := d["name"].(string)
	typ := discord.CommandChatInput
	if t, ok := d["type"].(float64); ok && t != 0 {
		typ = int(t)
	}
	for _, scope := range []snowflake.ID{guildID, 0} {
		cmds, err := h.store.ApplicationCommands(ctx, appID, scope)
		if err != nil {
			return nil, storeErr("interaction command", err)
		}
		for _, cmd := range cmds {
			if cmd.Name == name && cmd.Type == typ {
				d["id"] = cmd.ID.String()
				delete(d, "guild_id")
				if cmd.GuildID != 0 {
					d["guild_id"] = cmd.GuildID.String()
				}
				out, err := json.Marshal(d)
				if err != nil {
					return nil, fmt.Errorf("interaction command: %w", err)
				}
				return out, nil
			}
		}
	}
	return nil, fmt.Errorf("command %q: %w", name, ErrUnknownCommand)
}

// tellInvoker sends a dispatch about an interaction to the person who
// made it: to their session here, or, for a user of another homeserver,
// in a notice to their server.
func (h *Homeserver) tellInvoker(ctx context.Context, guildID, userID snowflake.ID, session, typ string, d any) {
	u, err := h.hot.UserByID(ctx, userID)
	if err != nil || u.Origin == "" || guildID == 0 {
		h.tellSession(userID, session, typ, d)
		return
	}
	data, err := json.Marshal(d)
	if err != nil {
		return
	}
	if data, err = h.globalize(ctx, h.store, data); err != nil {
		h.log.Warn("interaction notice not sent", "user_id", userID, "err", err)
		return
	}
	guild, err := h.globalOf(ctx, guildID)
	if err != nil {
		return
	}
	n := wire.InteractionNotice{Guild: guild, User: u.OriginID + "@" + u.Origin, Session: session, Type: typ, D: data}
	select {
	case h.interactions.notices <- noticeJob{server: u.Origin, n: n}:
	default:
		h.log.Warn("interaction notice dropped: too many waiting", "peer", u.Origin, "type", typ)
	}
}

// sendInteractionNotices sends the queued notices, one at a time so that
// a person hears of their interaction in order. RunMaintenance owns it
// and stops it with ctx.
func (h *Homeserver) sendInteractionNotices(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-h.interactions.notices:
			if h.remote == nil {
				continue
			}
			tctx, cancel := context.WithTimeout(ctx, interactionNoticeTimeout)
			if err := h.remote.InteractionNotice(tctx, j.server, j.n); err != nil {
				h.log.Debug("interaction notice not delivered", "peer", j.server, "type", j.n.Type, "err", err)
			}
			cancel()
		}
	}
}

// PeerInteractionNotice hands one of this server's users what the origin
// of one of their replica guilds tells about their interaction. Only the
// guild's origin may tell it, only of a user of this server who is a
// member of the replica, and an ephemeral message only as one.
func (h *Homeserver) PeerInteractionNotice(ctx context.Context, peer string, n wire.InteractionNotice) error {
	if !noticeDispatches[n.Type] {
		return Invalid("type", "BASE_TYPE_CHOICES", "Not a dispatch an interaction notice carries.")
	}
	if _, origin, ok := globalid.Parse(n.Guild); !ok || origin != peer {
		return fmt.Errorf("%s sent a notice of guild %q: %w", peer, n.Guild, ErrForbidden)
	}
	guildID, err := h.lookupGlobal(ctx, n.Guild, ErrUnknownGuild)
	if err != nil {
		return err
	}
	if rl, ok := h.replicaGuild(ctx, guildID); !ok || rl.Origin != peer {
		return fmt.Errorf("%s sent a notice of guild %q: %w", peer, n.Guild, ErrForbidden)
	}
	raw, origin, ok := globalid.Parse(n.User)
	if !ok || origin != h.cfg.ServerName {
		return fmt.Errorf("%s sent a notice for %q, not a user of this server: %w", peer, n.User, ErrForbidden)
	}
	num, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		return fmt.Errorf("%s sent a notice for %q: %w", peer, n.User, ErrForbidden)
	}
	userID := snowflake.ID(num)
	if u, err := h.hot.UserByID(ctx, userID); err != nil || u.Origin != "" {
		return fmt.Errorf("%s sent a notice for %q, not a user of this server: %w", peer, n.User, ErrForbidden)
	}
	if _, err := h.hot.Member(ctx, guildID, userID); err != nil {
		return fmt.Errorf("%s sent a notice for %q, not a member of its guild: %w", peer, n.User, ErrForbidden)
	}
	var about struct {
		Flags     int    `json:"flags"`
		ChannelID string `json:"channel_id"`
	}
	if err := json.Unmarshal(n.D, &about); err != nil {
		return Invalid("d", "BASE_TYPE_INVALID", "Not a dispatch object.")
	}
	if (n.Type == "MESSAGE_CREATE" || n.Type == "MESSAGE_UPDATE") && about.Flags&discord.FlagEphemeral == 0 {
		// A channel message comes through the guild's log, never as a
		// notice to one person.
		return fmt.Errorf("%s sent a message notice that is not ephemeral: %w", peer, ErrForbidden)
	}
	unlock := h.replicas.lock(guildID)
	defer unlock()
	var d []byte
	err = h.store.Update(ctx, func(tx storage.Tx) error {
		l := h.newLocalizer(tx, tx).ForReplica(peer, guildID)
		l.Signed(peer)
		v, err := globalid.Decode(n.D)
		if err != nil {
			return err
		}
		if d, err = h.localize(ctx, tx, l, v); err != nil {
			return err
		}
		if about.ChannelID != "" {
			var local struct {
				ChannelID snowflake.ID `json:"channel_id"`
			}
			if err := json.Unmarshal(d, &local); err != nil {
				return err
			}
			if ch, err := tx.ChannelByID(ctx, local.ChannelID); err != nil || ch.GuildID != guildID {
				return fmt.Errorf("%s sent a notice about channel %s, not one of its guild: %w", peer, about.ChannelID, ErrForbidden)
			}
		}
		return nil
	})
	if errors.Is(err, ErrForbidden) {
		return fmt.Errorf("interaction notice: %w", err)
	}
	if err != nil {
		return domainErr("interaction notice", err)
	}
	h.tellSession(userID, n.Session, n.Type, json.RawMessage(d))
	return nil
}

package homeserver

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
	"unicode/utf8"

	"hearth/discord"
	"hearth/homeserver/permission"
	"hearth/snowflake"
	"hearth/storage"
)

// Applications are how bots exist: a person creates one, which makes its
// bot user; resets the bot's token; and adds the bot to guilds where they
// have MANAGE_GUILD, with a role of its own holding the permissions it
// asked for (Discord's OAuth2 bot flow, without the redirect).

// Application flags for the privileged intents, Discord's bits. The
// "limited" ones are what Discord sets for bots in under 100 guilds; a
// bot holds an intent if either of its pair is set.
const (
	AppGatewayPresence              = 1 << 12
	AppGatewayPresenceLimited       = 1 << 13
	AppGatewayGuildMembers          = 1 << 14
	AppGatewayGuildMembersLimited   = 1 << 15
	AppGatewayMessageContent        = 1 << 18
	AppGatewayMessageContentLimited = 1 << 19

	// appIntentFlags are the flags an owner may set.
	appIntentFlags = AppGatewayPresence | AppGatewayPresenceLimited | AppGatewayGuildMembers |
		AppGatewayGuildMembersLimited | AppGatewayMessageContent | AppGatewayMessageContentLimited
	// newAppFlags: a new application may ask for every privileged intent.
	// Discord makes owners switch them on; a self-hosted community's
	// operator has no review to pass, and bots written for Discord expect
	// to get what they ask for, so they start on and the owner may turn
	// them off (then the gateway refuses them with 4014).
	newAppFlags = AppGatewayPresenceLimited | AppGatewayGuildMembersLimited | AppGatewayMessageContentLimited
)

// Application name bounds (Discord's).
const (
	AppNameMin        = 2
	AppNameMax        = 32
	AppDescriptionMax = 400
	// MaxAppsPerUser bounds how many applications one person owns.
	MaxAppsPerUser = 25
)

// ErrUnknownApplication: no application has that ID, or the caller does
// not own it.
var ErrUnknownApplication = errors.New("unknown application")

// ErrBotsForbidden: a bot may not use this endpoint.
var ErrBotsForbidden = errors.New("bots cannot use this endpoint")

// CreateApplication makes an application and its bot user, owned by p.
// The bot's username is the name reduced to username characters, with a
// number added when it is taken.
func (h *Homeserver) CreateApplication(ctx context.Context, p Principal, name string) (discord.Application, error) {
	if p.User.Bot {
		return discord.Application{}, ErrBotsForbidden
	}
	name = strings.TrimSpace(name)
	v := &ValidationError{}
	validateAppName(v, name)
	if err := v.Err(); err != nil {
		return discord.Application{}, err
	}
	errTooMany := Invalid("name", "MAX_APPLICATIONS", fmt.Sprintf("You can own at most %d applications.", MaxAppsPerUser))
	now := h.now()
	base := botUsername(name)
	for attempt := 0; attempt < 10; attempt++ {
		username := base
		if attempt > 0 {
			n, _ := rand.Int(rand.Reader, big.NewInt(10000))
			username = clip(base, UsernameMax-5) + fmt.Sprintf("_%04d", n.Int64())
		}
		bot := storage.User{ID: h.cfg.IDs.Next(), Username: username, Bot: true, CreatedAt: now}
		app := storage.Application{ID: bot.ID, OwnerID: p.User.ID, Name: name, Flags: newAppFlags, BotPublic: true, CreatedAt: now}
		err := h.update(ctx, func(tx storage.Tx, _ *events) error {
			// Counted under the owner's row lock, so that concurrent
			// creations cannot pass the bound together.
			if err := tx.LockUser(ctx, p.User.ID); err != nil {
				return err
			}
			owned, err := tx.UserApplications(ctx, p.User.ID)
			if err != nil {
				return err
			}
			if len(owned) >= MaxAppsPerUser {
				return errTooMany
			}
			if err := tx.CreateUser(ctx, bot); err != nil {
				return err
			}
			return tx.CreateApplication(ctx, app)
		})
		if errors.Is(err, storage.ErrConflict) {
			continue // the name is taken: try it with a number
		}
		if errors.Is(err, errTooMany) {
			return discord.Application{}, err
		}
		if err != nil {
			return discord.Application{}, storeErr("create application", err)
		}
		h.log.Info("application created", "application_id", app.ID, "owner_id", p.User.ID, "bot", username)
		return h.discordApplication(app, userFrom(bot), p.User), nil
	}
	return discord.Application{}, Invalid("name", "USERNAME_TOO_MANY_USERS", "Too many bots have this name.")
}

func validateAppName(v *ValidationError, name string) {
	if n := utf8.RuneCountInString(name); n < AppNameMin || n > AppNameMax {
		v.Add("name", "BASE_TYPE_BAD_LENGTH", fmt.Sprintf("Must be between %d and %d in length.", AppNameMin, AppNameMax))
	}
}

// botUsername reduces an application name to a valid username.
func botUsername(name string) string {
	var b strings.Builder
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
			b.WriteRune(c)
		case c == ' ', c == '.':
			b.WriteRune('_')
		}
	}
	out := strings.Trim(b.String(), "_-")
	if len(out) < UsernameMin || reservedNames[strings.ToLower(out)] {
		out = "bot_" + out
	}
	return clip(out, UsernameMax)
}

func (h *Homeserver) discordApplication(a storage.Application, bot, owner User) discord.Application {
	o := owner.Discord()
	out := discord.Application{
		ID: a.ID, Name: a.Name, Description: a.Description, BotPublic: a.BotPublic, Flags: a.Flags,
		Bot: bot.Discord(), Owner: &o, Tags: []string{}, RedirectURIs: []string{}, VerifyKey: h.verifyKey(a.ID),
	}
	if a.InteractionsURL != "" {
		u := a.InteractionsURL
		out.InteractionsEndpointURL = &u
	}
	return out
}

// application loads an application the caller may manage: its owner's,
// or the bot's own ("@me").
func (h *Homeserver) application(ctx context.Context, p Principal, id snowflake.ID) (storage.Application, error) {
	a, err := h.store.Application(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || err == nil && a.OwnerID != p.User.ID && a.ID != p.User.ID {
		return storage.Application{}, fmt.Errorf("application %d: %w", id, ErrUnknownApplication)
	}
	if err != nil {
		return storage.Application{}, storeErr("application", err)
	}
	return a, nil
}

// GetApplication returns an application to its owner or its bot; id 0
// means the caller's own (a bot's "@me").
func (h *Homeserver) GetApplication(ctx context.Context, p Principal, id snowflake.ID) (discord.Application, error) {
	if id == 0 {
		id = p.User.ID
	}
	a, err := h.application(ctx, p, id)
	if err != nil {
		return discord.Application{}, err
	}
	return h.shapeApplication(ctx, a)
}

func (h *Homeserver) shapeApplication(ctx context.Context, a storage.Application) (discord.Application, error) {
	bot, err := h.store.UserByID(ctx, a.ID)
	if err != nil {
		return discord.Application{}, storeErr("application bot", err)
	}
	owner, err := h.store.UserByID(ctx, a.OwnerID)
	if err != nil {
		return discord.Application{}, storeErr("application owner", err)
	}
	return h.discordApplication(a, userFrom(bot), userFrom(owner)), nil
}

// Applications lists the applications p owns.
func (h *Homeserver) Applications(ctx context.Context, p Principal) ([]discord.Application, error) {
	as, err := h.store.UserApplications(ctx, p.User.ID)
	if err != nil {
		return nil, storeErr("applications", err)
	}
	out := make([]discord.Application, 0, len(as))
	for _, a := range as {
		d, err := h.shapeApplication(ctx, a)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// ApplicationUpdate is a PATCH of an application; unset fields stay.
type ApplicationUpdate struct {
	Name        Optional[string]
	Description Optional[string]
	Flags       Optional[int]
	BotPublic   Optional[bool]
	// InteractionsURL sets (after Discord's handshake) or, empty or
	// null, clears the interactions endpoint URL.
	InteractionsURL Optional[string]
}

// UpdateApplication changes an application; only its owner may. Of the
// flags, only the privileged intents can be changed. Sessions of the bot
// keep the intents they identified with until they reconnect.
func (h *Homeserver) UpdateApplication(ctx context.Context, p Principal, id snowflake.ID, up ApplicationUpdate) (discord.Application, error) {
	v := &ValidationError{}
	if up.Name.Set {
		up.Name.Value = strings.TrimSpace(up.Name.Value)
		validateAppName(v, up.Name.Value)
	}
	if up.Description.Set && utf8.RuneCountInString(up.Description.Value) > AppDescriptionMax {
		v.Add("description", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", AppDescriptionMax))
	}
	if up.Flags.Set && int64(up.Flags.Value)&^appIntentFlags != 0 {
		v.Add("flags", "APPLICATION_FLAGS_INVALID", "Only the privileged intent flags can be changed.")
	}
	if err := v.Err(); err != nil {
		return discord.Application{}, err
	}
	if up.InteractionsURL.Set && up.InteractionsURL.Value != "" {
		// Checked before the row is locked: the handshake takes a while.
		if _, err := h.application(ctx, p, id); err != nil {
			return discord.Application{}, err
		}
		if err := h.verifyEndpoint(ctx, id, up.InteractionsURL.Value); err != nil {
			return discord.Application{}, err
		}
	}
	var a storage.Application
	err := h.update(ctx, func(tx storage.Tx, _ *events) error {
		// The bot's row (the application's ID) is locked so that two
		// PATCHes cannot each write back what the other did not see.
		if err := tx.LockUser(ctx, id); errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("application %d: %w", id, ErrUnknownApplication)
		} else if err != nil {
			return err
		}
		var err error
		a, err = tx.Application(ctx, id)
		// The bot itself may set its own endpoint (PATCH
		// /applications/@me), nothing else.
		botOwnURL := a.ID == p.User.ID && !up.Name.Set && !up.Description.Set && !up.Flags.Set && !up.BotPublic.Set
		if errors.Is(err, storage.ErrNotFound) || err == nil && a.OwnerID != p.User.ID && !botOwnURL {
			return fmt.Errorf("application %d: %w", id, ErrUnknownApplication)
		}
		if err != nil {
			return err
		}
		if up.Name.Set {
			a.Name = up.Name.Value
		}
		if up.Description.Set {
			a.Description = up.Description.Value
		}
		if up.Flags.Set {
			a.Flags = a.Flags&^appIntentFlags | int64(up.Flags.Value)&appIntentFlags
		}
		if up.BotPublic.Set {
			a.BotPublic = up.BotPublic.Value
		}
		if up.InteractionsURL.Set {
			a.InteractionsURL = up.InteractionsURL.Value
		}
		return tx.UpdateApplication(ctx, a)
	})
	if err != nil {
		return discord.Application{}, domainErr("update application", err)
	}
	return h.shapeApplication(ctx, a)
}

// BotTokenTTL is how long a bot token lasts: bots run unattended, so in
// practice until it is reset.
const BotTokenTTL = 100 * 365 * 24 * time.Hour

// ResetBotToken ends every session of the application's bot (live gateway
// connections included) and returns a new token; only the owner may.
func (h *Homeserver) ResetBotToken(ctx context.Context, p Principal, id snowflake.ID) (string, error) {
	a, err := h.application(ctx, p, id)
	if err != nil {
		return "", err
	}
	if a.OwnerID != p.User.ID {
		return "", fmt.Errorf("application %d: %w", id, ErrUnknownApplication)
	}
	now := h.now()
	s := storage.Session{ID: h.cfg.IDs.Next(), UserID: a.ID, CreatedAt: now, LastUsed: now, Client: "bot"}
	var ended []snowflake.ID
	err = h.update(ctx, func(tx storage.Tx, _ *events) error {
		ids, err := tx.DeleteUserSessions(ctx, a.ID, 0)
		if err != nil {
			return err
		}
		ended = ids
		return tx.CreateSession(ctx, s)
	})
	if err != nil {
		return "", storeErr("reset bot token", err)
	}
	for _, id := range ended {
		h.sessions.Remove(id)
	}
	h.sessionsEnded(a.ID, ended)
	return h.tokenFor(a.ID, s.ID, now, BotTokenTTL)
}

// Privileged gateway intents, Discord's bits.
const (
	IntentGuildMembers   = 1 << 1
	IntentGuildPresences = 1 << 8
	IntentMessageContent = 1 << 15
	// PrivilegedIntents are the three.
	PrivilegedIntents = IntentGuildMembers | IntentGuildPresences | IntentMessageContent
)

// AllowedIntents reports which privileged gateway intents a user may ask
// for, and the flags of its application (0 for a user who is not an
// application's bot, who may ask for all).
func (h *Homeserver) AllowedIntents(ctx context.Context, userID snowflake.ID) (intents, appFlags int64, err error) {
	a, err := h.store.Application(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return PrivilegedIntents, 0, nil
	}
	if err != nil {
		return 0, 0, storeErr("application intents", err)
	}
	if a.Flags&(AppGatewayPresence|AppGatewayPresenceLimited) != 0 {
		intents |= IntentGuildPresences
	}
	if a.Flags&(AppGatewayGuildMembers|AppGatewayGuildMembersLimited) != 0 {
		intents |= IntentGuildMembers
	}
	if a.Flags&(AppGatewayMessageContent|AppGatewayMessageContentLimited) != 0 {
		intents |= IntentMessageContent
	}
	return intents, a.Flags, nil
}

// AuthorizeBot adds an application's bot to a guild, as Discord's OAuth2
// bot authorisation does: the caller needs MANAGE_GUILD there and every
// permission they grant; a private application's bot is added only by its
// owner. With permissions, the bot gets a managed role of its name holding
// them. Adding a bot that is in the guild already changes nothing.
func (h *Homeserver) AuthorizeBot(ctx context.Context, p Principal, appID, guildID snowflake.ID, perms permission.Set) (discord.Member, error) {
	return do(ctx, h, write[discord.Member]{op: "authorize bot", guild: guildID,
		here: func(ctx context.Context) (discord.Member, error) {
			return h.authorizeBotHere(ctx, p, appID, guildID, perms)
		}})
}

// authorizeBotHere carries out AuthorizeBot on this server's own log.
func (h *Homeserver) authorizeBotHere(ctx context.Context, p Principal, appID, guildID snowflake.ID, perms permission.Set) (discord.Member, error) {
	if p.User.Bot {
		return discord.Member{}, ErrBotsForbidden
	}
	a, err := h.store.Application(ctx, appID)
	if errors.Is(err, storage.ErrNotFound) || err == nil && !a.BotPublic && a.OwnerID != p.User.ID {
		return discord.Member{}, fmt.Errorf("application %d: %w", appID, ErrUnknownApplication)
	}
	if err != nil {
		return discord.Member{}, storeErr("authorize bot", err)
	}
	if perms&^permission.All != 0 {
		return discord.Member{}, Invalid("permissions", "NUMBER_TYPE_MAX", "Unknown permission bits.")
	}
	var out discord.Member
	err = h.update(ctx, func(tx storage.Tx, ev *events) error {
		// Serialised on the bot's row, as joins are (see join).
		if err := tx.LockUser(ctx, a.ID); err != nil {
			return err
		}
		acc, err := h.loadAccess(ctx, tx, guildID, p.User.ID)
		if err != nil {
			return err
		}
		if err := acc.require(permission.ManageGuild); err != nil {
			return err
		}
		if !acc.canGrant(perms) {
			return fmt.Errorf("granting %d: %w", perms, ErrMissingPermission)
		}
		if _, err := tx.Ban(ctx, guildID, a.ID); err == nil {
			return fmt.Errorf("bot %d: %w", a.ID, ErrBanned)
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		bot, err := tx.UserByID(ctx, a.ID)
		if err != nil {
			return err
		}
		if m, err := tx.Member(ctx, guildID, a.ID); err == nil {
			out = discordMember(m, bot)
			return nil
		}
		m := storage.Member{GuildID: guildID, UserID: a.ID, JoinedAt: h.now()}
		if perms != 0 {
			if len(acc.roles) >= MaxRolesPerGuild {
				return ErrMaxRoles
			}
			r := storage.Role{ID: h.cfg.IDs.Next(), GuildID: guildID, Name: clip(a.Name, 100), Position: 1,
				Permissions: int64(perms), Managed: true, CreatedAt: h.now()}
			if err := makeRoomAtBottom(ctx, tx, acc); err != nil {
				return err
			}
			if err := tx.CreateRole(ctx, r); err != nil {
				return err
			}
			if err := ev.Append(ctx, guildID, "GUILD_ROLE_CREATE", discord.RoleEvent{GuildID: guildID, Role: discordRole(r)}); err != nil {
				return err
			}
			m.Roles = []snowflake.ID{r.ID}
		}
		if err := tx.AddMember(ctx, m); err != nil {
			return err
		}
		out = discordMember(m, bot)
		if err := h.audit(ctx, ev, guildID, p.User.ID, AuditBotAdd, a.ID, nil, nil); err != nil {
			return err
		}
		gid := guildID
		payload := out
		payload.GuildID = &gid
		return ev.Append(ctx, guildID, "GUILD_MEMBER_ADD", payload)
	})
	return out, domainErr("authorize bot", err)
}

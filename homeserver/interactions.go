package homeserver

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"hearth/discord"
	"hearth/homeserver/permission"
	"hearth/snowflake"
	"hearth/storage"
)

// Interactions: a person uses an application (a command, a component of
// one of its messages, autocomplete, a modal it opened), the application
// hears of it on its gateway and answers through the interaction's token,
// as on Discord. The interaction's row decides, in the database, whether
// an answer is the first and in time, so that several processes on one
// database agree; the process that created an interaction fails it when
// its application stays silent.

// Interaction errors.
var (
	// ErrUnknownInteraction: no live interaction has that ID and token
	// (never one, or its window to answer has passed).
	ErrUnknownInteraction = errors.New("unknown interaction")
	// ErrInteractionAcknowledged: the interaction has its initial
	// response already.
	ErrInteractionAcknowledged = errors.New("interaction has already been acknowledged")
	// ErrInteractionFailed: the application did not answer in time.
	ErrInteractionFailed = errors.New("the application did not respond")
	// ErrUnknownInteractionWebhook: an interaction token that cannot be
	// followed up (unknown, unanswered, or past its 15 minutes).
	ErrUnknownInteractionWebhook = errors.New("unknown interaction webhook")
)

// Interaction timing and bounds, Discord's where Discord has them.
const (
	// InteractionAnswerWindow is how long an application has for its
	// initial response.
	InteractionAnswerWindow = 3 * time.Second
	// InteractionTokenTTL is how long follow-ups may use the token.
	InteractionTokenTTL = 15 * time.Minute
	// interactionLimit per interactionWindow bounds one person's
	// interactions.
	interactionLimit  = 30
	interactionWindow = 10 * time.Second
	interactionKeys   = 100_000
	// interactionQueue bounds the interactions waiting for an answer
	// that this process watches; past it new ones are refused.
	interactionQueue = 4096
	maxAutocomplete  = 25
)

// Dispatches of Discord's client protocol that tell the person how their
// interaction went.
const (
	dispatchInteractionCreate  = "INTERACTION_CREATE"
	dispatchInteractionSuccess = "INTERACTION_SUCCESS"
	dispatchInteractionFailure = "INTERACTION_FAILURE"
	dispatchModalCreate        = "INTERACTION_MODAL_CREATE"
	dispatchAutocomplete       = "APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE"
)

// interactionState is what the domain keeps in an interaction's row.
type interactionState struct {
	Nonce       string `json:"nonce,omitempty"`
	Session     string `json:"session,omitempty"`
	Name        string `json:"name,omitempty"`
	CommandType int    `json:"command_type,omitempty"`
	// TargetUser and TargetMessage are a context menu command's target.
	TargetUser    snowflake.ID `json:"target_user,omitempty"`
	TargetMessage snowflake.ID `json:"target_message,omitempty"`
	// Ephemeral: the original response is seen only by the person.
	Ephemeral bool `json:"ephemeral,omitempty"`
	// Loading: the original is a deferred response not yet filled in.
	Loading bool `json:"loading,omitempty"`
	// Modal is the modal the application answered with (callback 9).
	Modal *discord.Modal `json:"modal,omitempty"`
	// ModalSubmitted: the person has submitted Modal.
	ModalSubmitted bool `json:"modal_submitted,omitempty"`
	// Followups lists the ephemeral follow-ups' IDs.
	Followups []snowflake.ID `json:"followups,omitempty"`
	// EphemeralOf is, for a component of an ephemeral message, the
	// interaction that message is kept with: its edits go there.
	EphemeralOf snowflake.ID `json:"ephemeral_of,omitempty"`
}

func readState(i storage.Interaction) interactionState {
	var s interactionState
	_ = json.Unmarshal(i.Data, &s) // written by this package
	return s
}

func (s interactionState) encode() []byte {
	b, _ := json.Marshal(s) // plain data: cannot fail
	return b
}

// pendingInteraction is one interaction waiting for its answer.
type pendingInteraction struct {
	id, user snowflake.ID
	guild    snowflake.ID
	nonce    string
	session  string
	deadline time.Time
}

// interactionWatch holds the interactions this process created and must
// fail when unanswered. Their deadlines grow in creation order, so a
// queue is enough.
type interactionWatch struct {
	due    chan pendingInteraction
	limits *windowLimiter
	// notices are what people of other homeservers are to hear of their
	// interactions, in order.
	notices chan noticeJob
}

func newInteractionWatch() interactionWatch {
	return interactionWatch{
		due:     make(chan pendingInteraction, interactionQueue),
		limits:  newWindowLimiter(interactionLimit, interactionWindow, interactionKeys),
		notices: make(chan noticeJob, interactionNoticeQueue),
	}
}

// watchInteractions fails each interaction its application has not
// answered by its deadline, and forgets interactions past their token's
// life. RunMaintenance owns it and stops it with ctx.
func (h *Homeserver) watchInteractions(ctx context.Context) {
	prune := time.NewTicker(time.Minute)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-prune.C:
			h.pruneInteractions(ctx)
		case p := <-h.interactions.due:
			if wait := p.deadline.Sub(h.now()); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
			h.expireInteraction(ctx, p)
		}
	}
}

func (h *Homeserver) pruneInteractions(ctx context.Context) {
	var n int64
	err := h.update(ctx, func(tx storage.Tx, _ *events) (err error) {
		n, err = tx.DeleteInteractionsBefore(ctx, h.now().Add(-InteractionTokenTTL))
		return err
	})
	if err != nil {
		h.log.Warn("pruning interactions failed", "err", err)
	} else if n > 0 {
		h.log.Debug("pruned interactions", "interactions", n)
	}
}

func (h *Homeserver) expireInteraction(ctx context.Context, p pendingInteraction) {
	err := h.update(ctx, func(tx storage.Tx, _ *events) error { return tx.FailInteraction(ctx, p.id) })
	if errors.Is(err, storage.ErrNotFound) {
		return // answered in time
	}
	if err != nil {
		h.log.Warn("failing an unanswered interaction", "interaction_id", p.id, "err", err)
		return
	}
	h.tellInvoker(ctx, p.guild, p.user, p.session, dispatchInteractionFailure, map[string]any{"id": p.id, "nonce": p.nonce})
}

// tellSession sends a dispatch to one gateway session of a user (every
// session when session is empty).
func (h *Homeserver) tellSession(userID snowflake.ID, session, typ string, d any) {
	data, err := json.Marshal(d)
	if err != nil {
		return
	}
	b, err := json.Marshal(UserDispatchPayload{UserID: userID, Type: typ, Data: data, Session: session})
	if err != nil {
		return
	}
	h.publishEphemeral(storage.Event{Type: UserDispatch, Payload: b, CreatedAt: h.now()})
}

// InteractionCreate is what a person's client sends to interact.
type InteractionCreate struct {
	Type          int
	ApplicationID snowflake.ID
	GuildID       snowflake.ID
	ChannelID     snowflake.ID
	MessageID     snowflake.ID
	Nonce         string
	SessionID     string
	Data          json.RawMessage
	// Files are the files the person uploads with a command, by the id
	// that data.attachments and the command's attachment options name
	// them with (Discord's client sends files[n] and names them "n").
	Files map[string]Upload
}

// givenOption is an option value as the person's client sends it.
type givenOption struct {
	Type    int             `json:"type"`
	Name    string          `json:"name"`
	Value   json.RawMessage `json:"value,omitempty"`
	Options []givenOption   `json:"options,omitempty"`
	Focused bool            `json:"focused,omitempty"`
}

// commandData is the data of a command or autocomplete interaction.
type commandData struct {
	ID       snowflake.ID  `json:"id"`
	Name     string        `json:"name"`
	Type     int           `json:"type"`
	GuildID  *snowflake.ID `json:"guild_id,omitempty"`
	Options  []givenOption `json:"options,omitempty"`
	TargetID *snowflake.ID `json:"target_id,omitempty"`
	Resolved *resolvedData `json:"resolved,omitempty"`
	Version  *snowflake.ID `json:"version,omitempty"`
}

// componentData is the data of a component interaction.
type componentData struct {
	CustomID      string        `json:"custom_id"`
	ComponentType int           `json:"component_type"`
	Values        []string      `json:"values,omitempty"`
	Resolved      *resolvedData `json:"resolved,omitempty"`
}

// modalData is the data of a modal submit.
type modalData struct {
	ID         snowflake.ID        `json:"id,omitempty"`
	CustomID   string              `json:"custom_id"`
	Components []discord.Component `json:"components"`
}

// memberWithPermissions is a resolved or invoking member, with the
// permissions Discord adds.
type memberWithPermissions struct {
	discord.Member
	Permissions string `json:"permissions"`
}

// resolvedData is the objects an interaction's options name.
type resolvedData struct {
	Users    map[snowflake.ID]discord.User          `json:"users,omitempty"`
	Members  map[snowflake.ID]memberWithPermissions `json:"members,omitempty"`
	Roles    map[snowflake.ID]discord.Role          `json:"roles,omitempty"`
	Channels map[snowflake.ID]discord.Channel       `json:"channels,omitempty"`
	Messages map[snowflake.ID]discord.Message       `json:"messages,omitempty"`
	// Attachments are the files of attachment options.
	Attachments map[snowflake.ID]discord.Attachment `json:"attachments,omitempty"`
}

func (r *resolvedData) empty() bool {
	return len(r.Users)+len(r.Members)+len(r.Roles)+len(r.Channels)+len(r.Messages)+len(r.Attachments) == 0
}

// interactionCtx is what checking and shaping an interaction needs.
type interactionCtx struct {
	p   Principal
	pl  *place
	app storage.Application
	bot storage.User
	res resolvedData
	// files are the uploads the interaction came with; attached are those
	// its attachment options use (by upload key), as they are stored.
	files    map[string]Upload
	attached map[string]storage.Attachment
	// ephemeralOf is the interaction that keeps the ephemeral message a
	// component interaction was used on (0: a channel message).
	ephemeralOf snowflake.ID
}

// uploadList lists the uploads of an interaction, to discard them.
func uploadList(m map[string]Upload) []Upload {
	out := make([]Upload, 0, len(m))
	for _, u := range m {
		out = append(out, u)
	}
	return out
}

// CreateInteraction checks a person's interaction (their permissions,
// the command's options, the component or modal they answer) and hands
// it to the application. The person hears INTERACTION_CREATE now, and
// INTERACTION_SUCCESS or INTERACTION_FAILURE when the application answers
// or does not.
func (h *Homeserver) CreateInteraction(ctx context.Context, p Principal, in InteractionCreate) error {
	// Files stay only if the interaction takes them (a promoted file's
	// staged copy is gone, and discarding it does nothing).
	defer h.DiscardUploads(uploadList(in.Files))
	if p.User.Bot {
		return ErrBotsForbidden
	}
	// Not a write to the channel's log, but asked of a replica guild's
	// origin as the writes are: the guild's applications are there.
	return doErr(ctx, h, write[none]{op: "interaction", channel: in.ChannelID, guildOnly: true,
		here: func(ctx context.Context) (none, error) { return nothing(h.createInteraction(ctx, p, in)) },
		there: func(ctx context.Context, rl replicaLog) (none, error) {
			if len(in.Files) > 0 {
				// The act that carries an interaction to the guild's origin
				// carries no files.
				return nothing(Invalid("data.attachments", "APPLICATION_COMMAND_OPTION_TYPE",
					"Files cannot be sent with interactions in guilds of other homeservers."))
			}
			return nothing(h.forwardInteraction(ctx, p, rl, in))
		}})
}

// createInteraction is CreateInteraction in a guild or DM of this server.
func (h *Homeserver) createInteraction(ctx context.Context, p Principal, in InteractionCreate) error {
	if p.User.Bot {
		return ErrBotsForbidden
	}
	if err := h.interactions.limits.take(p.User.ID.String(), h.now()); err != nil {
		return err
	}
	switch in.Type {
	case discord.InteractionApplicationCommand, discord.InteractionMessageComponent,
		discord.InteractionAutocomplete, discord.InteractionModalSubmit:
	default:
		return Invalid("type", "BASE_TYPE_CHOICES", "Value must be one of (2, 3, 4, 5).")
	}
	if len(in.Nonce) > NonceMax {
		return Invalid("nonce", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
	}
	pl, err := h.placeOf(ctx, h.store, in.ChannelID, p.User.ID)
	if err != nil {
		return err
	}
	if !pl.perms.Has(permission.ViewChannel) {
		return fmt.Errorf("channel %d: %w", in.ChannelID, ErrMissingAccess)
	}
	if in.GuildID != 0 && (pl.guild == nil || pl.guild.guild.ID != in.GuildID) {
		return Invalid("guild_id", "CHANNEL_NOT_IN_GUILD", "The channel is not in this guild.")
	}
	app, err := h.store.Application(ctx, in.ApplicationID)
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("application %d: %w", in.ApplicationID, ErrUnknownApplication)
	} else if err != nil {
		return storeErr("interaction application", err)
	}
	if pl.guild != nil {
		if _, err := h.store.Member(ctx, pl.guild.guild.ID, app.ID); errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("application %d not in the guild: %w", app.ID, ErrUnknownApplication)
		} else if err != nil {
			return storeErr("interaction application", err)
		}
	} else if !slices.Contains(pl.ch.Recipients, app.ID) {
		return fmt.Errorf("application %d not in the DM: %w", app.ID, ErrUnknownApplication)
	}
	bot, err := h.store.UserByID(ctx, app.ID)
	if err != nil {
		return storeErr("interaction bot", err)
	}
	ic := &interactionCtx{p: p, pl: pl, app: app, bot: bot, files: in.Files, attached: map[string]storage.Attachment{}}
	id := h.cfg.IDs.Next()
	state := interactionState{Nonce: in.Nonce, Session: in.SessionID}
	var data any
	var message *discord.Message
	switch in.Type {
	case discord.InteractionApplicationCommand, discord.InteractionAutocomplete:
		d, err := h.checkCommandInteraction(ctx, ic, in)
		if err != nil {
			return err
		}
		state.Name, state.CommandType = d.Name, d.Type
		if d.TargetID != nil {
			if d.Type == discord.CommandUser {
				state.TargetUser = *d.TargetID
			} else {
				state.TargetMessage = *d.TargetID
			}
		}
		data = d
	case discord.InteractionMessageComponent:
		d, m, err := h.checkComponentInteraction(ctx, ic, in)
		if err != nil {
			return err
		}
		data, message = d, &m
		state.EphemeralOf = ic.ephemeralOf
	case discord.InteractionModalSubmit:
		d, m, err := h.checkModalSubmit(ctx, ic, in)
		if err != nil {
			return err
		}
		data, message = d, m
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return fmt.Errorf("interaction token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString([]byte(interactionTokenPrefix + id.String() + ":" + base64.RawURLEncoding.EncodeToString(secret)))
	now := h.now()
	row := storage.Interaction{ID: id, ApplicationID: app.ID, TokenHash: tokenHash(token), Type: in.Type, UserID: p.User.ID,
		ChannelID: in.ChannelID, MessageID: in.MessageID, Data: state.encode(), CreatedAt: now}
	if pl.guild != nil {
		row.GuildID = pl.guild.guild.ID
	}
	payload, err := h.interactionPayload(ctx, ic, row, token, data, message)
	if err != nil {
		return err
	}
	pending := pendingInteraction{id: id, user: p.User.ID, guild: row.GuildID, nonce: in.Nonce, session: in.SessionID, deadline: now.Add(InteractionAnswerWindow)}
	files := make([]storage.Attachment, 0, len(ic.attached))
	for key, a := range ic.attached {
		if err := h.cfg.Blobs.Promote(ctx, in.Files[key].staged); err != nil {
			return storeErr("interaction file", err)
		}
		files = append(files, a)
	}
	if err := h.update(ctx, func(tx storage.Tx, _ *events) error {
		if err := tx.CreateInteraction(ctx, row); err != nil {
			return err
		}
		if len(files) == 0 {
			return nil
		}
		return tx.AddInteractionFiles(ctx, id, files)
	}); err != nil {
		return domainErr("create interaction", err)
	}
	select {
	case h.interactions.due <- pending:
	default:
		// Too many waiting: fail it at once rather than keep it unwatched.
		h.expireInteraction(ctx, pending)
		return &RateLimitedError{RetryAfter: InteractionAnswerWindow}
	}
	h.tellInvoker(ctx, row.GuildID, p.User.ID, in.SessionID, dispatchInteractionCreate, map[string]any{"id": id, "nonce": in.Nonce})
	if app.InteractionsURL != "" && h.poster != nil {
		h.tasks.Add(1)
		go func() { // ends within the answer window; RunMaintenance waits for it
			defer h.tasks.Done()
			h.deliverHTTP(app, id, token, payload)
		}()
		return nil
	}
	h.tellUser(app.ID, dispatchInteractionCreate, payload)
	return nil
}

// interactionPayload is the interaction as the application receives it.
func (h *Homeserver) interactionPayload(ctx context.Context, ic *interactionCtx, row storage.Interaction, token string, data any, message *discord.Message) (map[string]any, error) {
	botPerms := permission.Set(0)
	if bp, err := h.placeOf(ctx, h.store, row.ChannelID, ic.app.ID); err == nil {
		botPerms = bp.perms
	}
	ch := discordChannel(ic.pl.ch)
	ch.Permissions = ic.pl.perms.String()
	out := map[string]any{
		"id": row.ID, "application_id": ic.app.ID, "type": row.Type, "data": data, "channel": ch, "channel_id": row.ChannelID,
		"token": token, "version": 1, "app_permissions": botPerms.String(), "locale": discordLocaleEN,
		"entitlements": []any{}, "attachment_size_limit": h.cfg.MaxUploadSize,
	}
	if message != nil {
		out["message"] = message
	}
	if ic.pl.guild != nil {
		g := ic.pl.guild.guild
		u := ic.p.User.Discord()
		m := discordMember(ic.pl.guild.member, storage.User{})
		m.User = &u
		out["guild_id"] = g.ID
		out["guild"] = map[string]any{"id": g.ID, "locale": discordLocaleEN, "features": []string{}}
		out["guild_locale"] = discordLocaleEN
		out["member"] = memberWithPermissions{Member: m, Permissions: ic.pl.perms.String()}
		out["authorizing_integration_owners"] = map[string]snowflake.ID{"0": g.ID}
		out["context"] = ContextGuild
	} else {
		out["user"] = ic.p.User.Discord()
		out["authorizing_integration_owners"] = map[string]snowflake.ID{"0": 0}
		out["context"] = ContextBotDM
	}
	return out, nil
}

// discordLocaleEN is the locale interactions carry: Hearth keeps none per
// person.
const discordLocaleEN = "en-US"

// interactionTokenPrefix begins every interaction token before encoding;
// twelve bytes, so its encoding is a prefix of the token's.
const interactionTokenPrefix = "interaction:"

// IsInteractionToken reports whether tok has an interaction token's form
// (not whether it is valid): follow-ups share their routes with webhook
// execution, and the token tells which is meant.
func IsInteractionToken(tok string) bool {
	return strings.HasPrefix(tok, base64.RawURLEncoding.EncodeToString([]byte(interactionTokenPrefix)))
}

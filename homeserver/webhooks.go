package homeserver

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"hearth/discord"
	"hearth/homeserver/permission"
	"hearth/snowflake"
	"hearth/storage"
)

// Webhooks (spec/client-api.md, "Webhooks"). A webhook is an object of
// the guild's origin: it is made, changed and executed only there, and a
// replica refuses those writes with REMOTE_GUILD (its members manage a
// remote guild's webhooks on the guild's own homeserver). Its messages are
// ordinary messages of the log, authored by a user row whose ID is the
// webhook's, so history, search and federation carry them unchanged.

// Webhook limits and shapes.
const (
	WebhookNameMax = 80
	// WebhookAvatarMax bounds a webhook avatar, as a user's.
	WebhookAvatarMax  = AvatarMax
	webhookTokenBytes = 51 // 68 characters of base64url, as long as Discord's
	webhookIncoming   = 1  // Discord's webhook type: incoming
	// webhookApplication is Discord's type of the webhook an
	// interaction's token is (follow-ups go through it).
	webhookApplication = 3
	// WebhooksUpdate is the gateway dispatch that tells a guild's channel
	// that its webhooks changed.
	WebhooksUpdate = "WEBHOOKS_UPDATE"
	// Audit log action types of webhooks, Discord's numbers.
	AuditWebhookCreate = 50
	AuditWebhookUpdate = 51
	AuditWebhookDelete = 52
)

// Webhook errors with codes of their own.
var (
	// ErrUnknownWebhook: no such webhook, or a wrong token (which is not
	// told apart, so that a token cannot be probed).
	ErrUnknownWebhook = errors.New("unknown webhook")
	// ErrWebhookThreadName: thread_name names a thread to make, which
	// only a forum channel allows.
	ErrWebhookThreadName = errors.New("webhooks can only create threads in forum channels")
	// ErrWebhookForumThread: a forum holds posts only, so an execute into
	// one names a post (thread_id) or starts one (thread_name).
	ErrWebhookForumThread = errors.New("webhooks posted to forum channels must have a thread_name or thread_id")
	// ErrWebhookThreadBoth: thread_name and thread_id together.
	ErrWebhookThreadBoth = errors.New("webhooks posted to forum channels cannot have both a thread_name and thread_id")
	// ErrWebhookServiceForum: the Slack and GitHub forms have no
	// thread_name, so they cannot start a post.
	ErrWebhookServiceForum = errors.New("webhook services cannot be used in forum channels")
)

// WebhookIn is what a webhook is made or changed with. Avatar is a data
// URI; ChannelID moves a webhook (0 keeps it).
type WebhookIn struct {
	Name      Optional[string]
	Avatar    Optional[string]
	ChannelID snowflake.ID
}

// WebhookMessage is a message to post through a webhook: the send and the
// name and avatar it appears under. AvatarImage is the bytes of an image
// the adapter fetched from avatar_url (nil to use the webhook's own).
type WebhookMessage struct {
	MessageCreate
	Username    string
	AvatarImage []byte
	ThreadID    snowflake.ID
	ThreadName  string
	// Service is set by the Slack and GitHub forms, which cannot start
	// a forum post.
	Service bool
}

// webhookAuthor is who a webhook's message is shown as.
type webhookAuthor struct {
	id     snowflake.ID
	name   string
	avatar string
}

// validWebhookName checks a webhook's name, or a message's username, as
// Discord does: 1 to 80 characters, not "clyde" nor "discord" in any case.
// "hearth" is allowed: no system user of Hearth carries the name.
func validWebhookName(v *ValidationError, field, name string) {
	n := utf8.RuneCountInString(strings.TrimSpace(name))
	switch {
	case n < 1 || utf8.RuneCountInString(name) > WebhookNameMax:
		v.Add(field, "BASE_TYPE_BAD_LENGTH", fmt.Sprintf("Must be between 1 and %d in length.", WebhookNameMax))
	case strings.Contains(strings.ToLower(name), "clyde"):
		v.Add(field, "USERNAME_INVALID_CONTAINS", `Username cannot contain "clyde"`)
	case strings.Contains(strings.ToLower(name), "discord"):
		v.Add(field, "USERNAME_INVALID_CONTAINS", `Username cannot contain "discord"`)
	}
}

func newWebhookToken() (string, error) {
	b := make([]byte, webhookTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("webhook token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// webhookUsername is the username of the user row that authors a
// webhook's messages: no person can look it up (lookupUser).
func webhookUsername(id snowflake.ID) string {
	return "webhook-" + strconv.FormatUint(uint64(id), 10)
}

// discordWebhook is Discord's webhook object as a manager (viewer set)
// or the holder of its token (nil) sees it: its creator only for a
// manager, its token and URL only for a manager, and of a webhook an
// application made, only for that application, as Discord.
func (h *Homeserver) discordWebhook(ctx context.Context, r storage.Reader, w storage.Webhook, viewer *Principal) discord.Webhook {
	out := discord.Webhook{
		ID: w.ID, Type: webhookIncoming, GuildID: discord.NullableID(w.GuildID), ChannelID: w.ChannelID,
		Name: discord.Nullable(w.Name), Avatar: discord.Nullable(w.Avatar), ApplicationID: discord.NullableID(w.ApplicationID),
	}
	if viewer == nil {
		return out
	}
	if w.ApplicationID == 0 || viewer.User.ID == w.ApplicationID {
		out.Token = w.Token
		out.URL = fmt.Sprintf("%s/api/webhooks/%d/%s", h.cfg.PublicURL, w.ID, w.Token)
	}
	if u, err := r.UserByID(ctx, w.CreatorID); err == nil {
		du := discordUser(u)
		out.User = &du
	}
	return out
}

// webhookChannel checks MANAGE_WEBHOOKS in a channel of this server's guild
// and answers the channel (a thread is no webhook's channel).
func (h *Homeserver) webhookChannel(ctx context.Context, r storage.Reader, p Principal, channelID snowflake.ID) (*place, error) {
	pl, err := h.placeOf(ctx, r, channelID, p.User.ID)
	if err != nil {
		return nil, err
	}
	if pl.guild == nil || storage.IsThread(pl.ch.Type) || pl.ch.Type == ChannelCategory || pl.ch.Type == ChannelVoice {
		return nil, Invalid("channel_id", "CHANNEL_TYPE_INVALID", "Webhooks can only be made in guild text channels.")
	}
	if err := pl.require(permission.ManageWebhooks); err != nil {
		return nil, err
	}
	return pl, nil
}

// CreateWebhook makes a webhook in a channel (MANAGE_WEBHOOKS).
func (h *Homeserver) CreateWebhook(ctx context.Context, p Principal, channelID snowflake.ID, in WebhookIn) (discord.Webhook, error) {
	return do(ctx, h, write[discord.Webhook]{op: "create webhook", channel: channelID, guildOnly: true,
		here: func(ctx context.Context) (discord.Webhook, error) { return h.createWebhookHere(ctx, p, channelID, in) }})
}

func (h *Homeserver) createWebhookHere(ctx context.Context, p Principal, channelID snowflake.ID, in WebhookIn) (discord.Webhook, error) {
	v := &ValidationError{}
	if !in.Name.Set || in.Name.Null {
		v.Add("name", "BASE_TYPE_REQUIRED", "This field is required")
	} else {
		validWebhookName(v, "name", in.Name.Value)
	}
	avatar, hash, err := h.webhookAvatar(v, in.Avatar)
	if err != nil {
		return discord.Webhook{}, err
	}
	if err := v.Err(); err != nil {
		return discord.Webhook{}, err
	}
	if _, err := h.webhookChannel(ctx, h.hot, p, channelID); err != nil {
		return discord.Webhook{}, domainErr("create webhook", err)
	}
	if err := h.storeWebhookAvatar(ctx, avatar); err != nil {
		return discord.Webhook{}, err
	}
	token, err := newWebhookToken()
	if err != nil {
		return discord.Webhook{}, err
	}
	var out discord.Webhook
	err = h.update(ctx, func(tx storage.Tx, ev *events) error {
		pl, err := h.webhookChannel(ctx, tx, p, channelID)
		if err != nil {
			return err
		}
		now := h.now()
		id := h.cfg.IDs.Next()
		// The user row's name is never shown (messages carry their own)
		// and must not take a name from the people of this server.
		if err := tx.CreateUser(ctx, storage.User{ID: id, Username: webhookUsername(id), Bot: true, CreatedAt: now}); err != nil {
			return err
		}
		w := storage.Webhook{ID: id, GuildID: pl.ch.GuildID, ChannelID: channelID, CreatorID: p.User.ID,
			Name: in.Name.Value, Avatar: hash, Token: token, CreatedAt: now}
		if p.User.Bot {
			// A bot is its application's user (same ID): the webhook is
			// the application's, as Discord's application_id says.
			w.ApplicationID = p.User.ID
		}
		if err := tx.CreateWebhook(ctx, w); err != nil {
			return err
		}
		if hash != "" {
			if err := tx.AddWebhookAvatar(ctx, id, hash); err != nil {
				return err
			}
		}
		out = h.discordWebhook(ctx, tx, w, &p)
		if err := h.audit(ctx, ev, w.GuildID, p.User.ID, AuditWebhookCreate, id, []discord.AuditLogChange{
			change("name", nil, w.Name), change("channel_id", nil, strconv.FormatUint(uint64(channelID), 10)), change("type", nil, webhookIncoming),
		}, nil); err != nil {
			return err
		}
		return webhooksChanged(ev, w.GuildID, channelID)
	})
	return out, domainErr("create webhook", err)
}

// webhooksChanged tells the channel's viewers, as Discord's
// WEBHOOKS_UPDATE; it is not logged (nothing of a webhook is replicated).
func webhooksChanged(ev *events, guildID, channelID snowflake.ID) error {
	return ev.Ephemeral(guildID, WebhooksUpdate, map[string]snowflake.ID{"guild_id": guildID, "channel_id": channelID})
}

// webhookAvatar decodes an avatar data URI of a create or change: its bytes
// and hash, or nothing (hash "") when it is left out or cleared.
func (h *Homeserver) webhookAvatar(v *ValidationError, in Optional[string]) ([]byte, string, error) {
	if !in.Set || in.Null || in.Value == "" {
		return nil, "", nil
	}
	b, hash, err := decodeImage(in.Value, WebhookAvatarMax)
	if err != nil {
		v.Add("avatar", "AVATAR_INVALID", err.Error())
		return nil, "", nil
	}
	return b, hash, nil
}

func (h *Homeserver) storeWebhookAvatar(ctx context.Context, b []byte) error {
	if b == nil {
		return nil
	}
	if _, _, err := h.cfg.Blobs.Put(ctx, bytesReader(b), WebhookAvatarMax); err != nil {
		return storeErr("store webhook avatar", err)
	}
	return nil
}

// ChannelWebhooks lists a channel's webhooks (MANAGE_WEBHOOKS). In a
// replica the list is empty: a guild's webhooks live on its origin.
func (h *Homeserver) ChannelWebhooks(ctx context.Context, p Principal, channelID snowflake.ID) ([]discord.Webhook, error) {
	if _, err := h.webhookChannel(ctx, h.hot, p, channelID); err != nil {
		return nil, domainErr("channel webhooks", err)
	}
	ws, err := h.store.ChannelWebhooks(ctx, channelID)
	if err != nil {
		return nil, storeErr("channel webhooks", err)
	}
	out := make([]discord.Webhook, 0, len(ws))
	for _, w := range ws {
		out = append(out, h.discordWebhook(ctx, h.store, w, &p))
	}
	return out, nil
}

// GuildWebhooks lists a guild's webhooks (MANAGE_WEBHOOKS in the guild).
func (h *Homeserver) GuildWebhooks(ctx context.Context, p Principal, guildID snowflake.ID) ([]discord.Webhook, error) {
	a, err := h.loadAccess(ctx, h.hot, guildID, p.User.ID)
	if err != nil {
		return nil, domainErr("guild webhooks", err)
	}
	if !a.base.Has(permission.ManageWebhooks) {
		return nil, fmt.Errorf("guild webhooks: %w", ErrMissingPermission)
	}
	ws, err := h.store.GuildWebhooks(ctx, guildID)
	if err != nil {
		return nil, storeErr("guild webhooks", err)
	}
	out := make([]discord.Webhook, 0, len(ws))
	for _, w := range ws {
		out = append(out, h.discordWebhook(ctx, h.store, w, &p))
	}
	return out, nil
}

// webhookFor finds a webhook for its manager (p set: MANAGE_WEBHOOKS in
// its channel) or for the holder of its token (p nil). A webhook the
// caller may not see, and a wrong token, are ErrUnknownWebhook.
func (h *Homeserver) webhookFor(ctx context.Context, r storage.Reader, p *Principal, id snowflake.ID, token string) (storage.Webhook, error) {
	w, err := r.Webhook(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return w, fmt.Errorf("webhook %d: %w", id, ErrUnknownWebhook)
	}
	if err != nil {
		return w, storeErr("webhook", err)
	}
	if p == nil {
		if subtle.ConstantTimeCompare([]byte(w.Token), []byte(token)) != 1 {
			return storage.Webhook{}, fmt.Errorf("webhook %d: wrong token: %w", id, ErrUnknownWebhook)
		}
		return w, nil
	}
	if _, err := h.webhookChannel(ctx, r, *p, w.ChannelID); err != nil {
		if errors.Is(err, ErrUnknownChannel) || errors.Is(err, ErrMissingAccess) {
			return storage.Webhook{}, fmt.Errorf("webhook %d: %w", id, ErrUnknownWebhook)
		}
		return storage.Webhook{}, err
	}
	return w, nil
}

// Webhook answers a webhook: with its token for a manager (p set), without
// for the holder of its token (p nil), as Discord.
func (h *Homeserver) Webhook(ctx context.Context, p *Principal, id snowflake.ID, token string) (discord.Webhook, error) {
	w, err := h.webhookFor(ctx, h.store, p, id, token)
	if err != nil {
		return discord.Webhook{}, domainErr("webhook", err)
	}
	return h.discordWebhook(ctx, h.store, w, p), nil
}

// UpdateWebhook changes a webhook's name, avatar or (for a manager only)
// channel.
func (h *Homeserver) UpdateWebhook(ctx context.Context, p *Principal, id snowflake.ID, token string, in WebhookIn) (discord.Webhook, error) {
	w, err := h.store.Webhook(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return discord.Webhook{}, fmt.Errorf("update webhook %d: %w", id, ErrUnknownWebhook)
	}
	if err != nil {
		return discord.Webhook{}, storeErr("update webhook", err)
	}
	return do(ctx, h, write[discord.Webhook]{op: "update webhook", guild: w.GuildID, guildOnly: true,
		here: func(ctx context.Context) (discord.Webhook, error) { return h.updateWebhookHere(ctx, p, id, token, in) }})
}

func (h *Homeserver) updateWebhookHere(ctx context.Context, p *Principal, id snowflake.ID, token string, in WebhookIn) (discord.Webhook, error) {
	v := &ValidationError{}
	if in.Name.Set {
		if in.Name.Null {
			v.Add("name", "BASE_TYPE_REQUIRED", "This field is required")
		} else {
			validWebhookName(v, "name", in.Name.Value)
		}
	}
	if in.ChannelID != 0 && p == nil {
		v.Add("channel_id", "BASE_TYPE_INVALID", "A webhook's token cannot move it.")
	}
	avatar, hash, err := h.webhookAvatar(v, in.Avatar)
	if err != nil {
		return discord.Webhook{}, err
	}
	if err := v.Err(); err != nil {
		return discord.Webhook{}, err
	}
	if _, err := h.webhookFor(ctx, h.store, p, id, token); err != nil {
		return discord.Webhook{}, domainErr("update webhook", err)
	}
	if err := h.storeWebhookAvatar(ctx, avatar); err != nil {
		return discord.Webhook{}, err
	}
	var out discord.Webhook
	err = h.update(ctx, func(tx storage.Tx, ev *events) error {
		w, err := h.webhookFor(ctx, tx, p, id, token)
		if err != nil {
			return err
		}
		old := w
		var changes []discord.AuditLogChange
		if in.Name.Set && in.Name.Value != w.Name {
			changes = append(changes, change("name", w.Name, in.Name.Value))
			w.Name = in.Name.Value
		}
		if in.Avatar.Set && hash != w.Avatar {
			changes = append(changes, change("avatar_hash", discord.Nullable(w.Avatar), discord.Nullable(hash)))
			w.Avatar = hash
		}
		if in.ChannelID != 0 && in.ChannelID != w.ChannelID {
			if _, err := h.webhookChannel(ctx, tx, *p, in.ChannelID); err != nil {
				return err
			}
			changes = append(changes, change("channel_id", strconv.FormatUint(uint64(w.ChannelID), 10), strconv.FormatUint(uint64(in.ChannelID), 10)))
			w.ChannelID = in.ChannelID
		}
		if err := tx.UpdateWebhook(ctx, w); err != nil {
			return err
		}
		if hash != "" {
			if err := tx.AddWebhookAvatar(ctx, id, hash); err != nil {
				return err
			}
		}
		out = h.discordWebhook(ctx, tx, w, p)
		if len(changes) == 0 {
			return nil
		}
		actor := w.ID // through its token, the webhook acts itself
		if p != nil {
			actor = p.User.ID
		}
		if err := h.audit(ctx, ev, w.GuildID, actor, AuditWebhookUpdate, id, changes, nil); err != nil {
			return err
		}
		if old.ChannelID != w.ChannelID {
			if err := webhooksChanged(ev, w.GuildID, old.ChannelID); err != nil {
				return err
			}
		}
		return webhooksChanged(ev, w.GuildID, w.ChannelID)
	})
	return out, domainErr("update webhook", err)
}

// DeleteWebhook removes a webhook; its token stops working at once. Its
// messages stay.
func (h *Homeserver) DeleteWebhook(ctx context.Context, p *Principal, id snowflake.ID, token string) error {
	w, err := h.store.Webhook(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("delete webhook %d: %w", id, ErrUnknownWebhook)
	}
	if err != nil {
		return storeErr("delete webhook", err)
	}
	return doErr(ctx, h, write[none]{op: "delete webhook", guild: w.GuildID, guildOnly: true,
		here: func(ctx context.Context) (none, error) {
			err := h.update(ctx, func(tx storage.Tx, ev *events) error {
				w, err := h.webhookFor(ctx, tx, p, id, token)
				if err != nil {
					return err
				}
				if err := tx.DeleteWebhook(ctx, w.GuildID, w.ID); err != nil {
					return err
				}
				actor := w.ID
				if p != nil {
					actor = p.User.ID
				}
				if err := h.audit(ctx, ev, w.GuildID, actor, AuditWebhookDelete, id,
					[]discord.AuditLogChange{change("name", w.Name, nil)}, nil); err != nil {
					return err
				}
				return webhooksChanged(ev, w.GuildID, w.ChannelID)
			})
			return nothing(domainErr("delete webhook", err))
		}})
}

// webhookPlace is where a webhook posts: its channel, or a thread of it,
// with every permission (a webhook's messages are bounded by who may make
// webhooks, as on Discord).
func (h *Homeserver) webhookPlace(ctx context.Context, r storage.Reader, w storage.Webhook, channelID snowflake.ID) (*place, error) {
	c, err := r.ChannelByID(ctx, channelID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && c.GuildID != w.GuildID) {
		return nil, fmt.Errorf("channel %d: %w", channelID, ErrUnknownChannel)
	}
	if err != nil {
		return nil, err
	}
	if c.ID != w.ChannelID && !(storage.IsThread(c.Type) && c.ParentID == w.ChannelID) {
		return nil, fmt.Errorf("channel %d is not the webhook's: %w", channelID, ErrUnknownChannel)
	}
	g, err := r.GuildByID(ctx, w.GuildID)
	if err != nil {
		return nil, err
	}
	roles, err := r.GuildRoles(ctx, w.GuildID)
	if err != nil {
		return nil, err
	}
	a := &access{guild: g, roles: roles, byID: make(map[snowflake.ID]storage.Role, len(roles)), userID: w.ID, base: permission.All}
	for _, role := range roles {
		a.byID[role.ID] = role
	}
	return &place{ch: c, guild: a, perms: permission.All}, nil
}

// ExecuteWebhook posts a message through a webhook's token. The message
// goes through the guild's log as any other.
func (h *Homeserver) ExecuteWebhook(ctx context.Context, id snowflake.ID, token string, in WebhookMessage) (discord.Message, error) {
	w, err := h.webhookFor(ctx, h.store, nil, id, token)
	if err != nil {
		h.DiscardUploads(in.Files)
		return discord.Message{}, domainErr("execute webhook", err)
	}
	v := &ValidationError{}
	if in.Username != "" {
		validWebhookName(v, "username", in.Username)
	}
	if err := v.Err(); err != nil {
		h.DiscardUploads(in.Files)
		return discord.Message{}, err
	}
	if err := h.checkWebhookThread(ctx, w, in); err != nil {
		h.DiscardUploads(in.Files)
		return discord.Message{}, err
	}
	channelID := w.ChannelID
	if in.ThreadID != 0 {
		channelID = in.ThreadID
	}
	author := &webhookAuthor{id: w.ID, name: w.Name, avatar: w.Avatar}
	if in.Username != "" {
		author.name = in.Username
	}
	if in.AvatarImage != nil {
		b, hash, err := decodeImage(dataURI(in.AvatarImage), WebhookAvatarMax)
		if err != nil {
			h.DiscardUploads(in.Files)
			return discord.Message{}, Invalid("avatar_url", "AVATAR_INVALID", err.Error())
		}
		if err := h.storeWebhookAvatar(ctx, b); err != nil {
			h.DiscardUploads(in.Files)
			return discord.Message{}, err
		}
		if err := h.update(ctx, func(tx storage.Tx, _ *events) error { return tx.AddWebhookAvatar(ctx, w.ID, hash) }); err != nil {
			h.DiscardUploads(in.Files)
			return discord.Message{}, storeErr("execute webhook", err)
		}
		author.avatar = hash
	}
	mc := in.MessageCreate
	mc.webhook = author
	mc.webhookOf = &w
	mc.Flags &= discord.FlagSuppressEmbeds | discord.FlagSuppressNotifications
	p := Principal{User: User{ID: w.ID, Bot: true}}
	return do(ctx, h, write[discord.Message]{op: "execute webhook", channel: channelID, guildOnly: true,
		here: func(ctx context.Context) (discord.Message, error) {
			target := channelID
			if in.ThreadName != "" {
				id, err := h.webhookForumPost(ctx, w, in.ThreadName)
				if err != nil {
					h.DiscardUploads(in.Files)
					return discord.Message{}, err
				}
				target = id
			}
			return h.sendMessageHere(ctx, p, target, mc)
		}})
}

// checkWebhookThread checks an execute's thread_id and thread_name
// against its webhook's channel, with Discord's codes: a forum channel
// takes one of them, any other channel no thread_name, never both.
func (h *Homeserver) checkWebhookThread(ctx context.Context, w storage.Webhook, in WebhookMessage) error {
	c, err := h.store.ChannelByID(ctx, w.ChannelID)
	if err != nil {
		return storeErr("webhook channel", err)
	}
	forum := c.Type == ChannelForum
	switch {
	case in.ThreadName != "" && in.ThreadID != 0:
		return ErrWebhookThreadBoth
	case in.ThreadName != "" && !forum:
		return ErrWebhookThreadName
	case forum && in.ThreadID == 0 && in.Service:
		return ErrWebhookServiceForum
	case forum && in.ThreadID == 0 && in.ThreadName == "":
		return ErrWebhookForumThread
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(in.ThreadName)); in.ThreadName != "" && (n < 1 || n > ChannelNameMax) {
		return Invalid("thread_name", "BASE_TYPE_BAD_LENGTH", fmt.Sprintf("Must be between 1 and %d in length.", ChannelNameMax))
	}
	if in.ThreadName != "" && strings.TrimSpace(in.Content) == "" && len(in.Embeds) == 0 && len(in.Files) == 0 {
		// Checked before the post is made, so that a refused message
		// leaves no empty post behind.
		return ErrEmptyMessage
	}
	return nil
}

// webhookForumPost starts a post (a public thread) in the webhook's forum
// channel, owned by the webhook, as Discord does for thread_name; the
// message then goes into it. Unlike Discord's, the post's first message
// has an ID of its own (a message's ID is given in its log's queue).
func (h *Homeserver) webhookForumPost(ctx context.Context, w storage.Webhook, name string) (snowflake.ID, error) {
	var id snowflake.ID
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		c, err := tx.ChannelByID(ctx, w.ChannelID)
		if err != nil {
			return err
		}
		if c.GuildID != w.GuildID || c.Type != ChannelForum {
			return ErrWebhookThreadName
		}
		t := storage.Channel{ID: h.cfg.IDs.Next(), GuildID: c.GuildID, Type: storage.ChannelPublicThread, Name: strings.TrimSpace(name),
			ParentID: c.ID, OwnerID: w.ID, CreatedAt: h.now(), Thread: &storage.ThreadMeta{AutoArchive: 4320, Invitable: true}}
		if err := tx.CreateChannel(ctx, t); err != nil {
			return err
		}
		id = t.ID
		created := h.renderThread(ctx, tx, t, 0)
		created.NewlyCreated = true
		created.Member = nil
		return ev.Append(ctx, t.GuildID, "THREAD_CREATE", created)
	})
	return id, domainErr("forum post", err)
}

// dataURI wraps image bytes as a data URI for decodeImage, which checks
// them the same way as an uploaded avatar.
func dataURI(b []byte) string {
	return "data:application/octet-stream;base64," + base64.StdEncoding.EncodeToString(b)
}

// webhookMessage finds a message the webhook posted, in its channel or the
// thread named.
func (h *Homeserver) webhookMessage(ctx context.Context, r storage.Reader, w storage.Webhook, threadID, messageID snowflake.ID) (storage.Message, *place, error) {
	channelID := w.ChannelID
	if threadID != 0 {
		channelID = threadID
	}
	pl, err := h.webhookPlace(ctx, r, w, channelID)
	if err != nil {
		return storage.Message{}, nil, err
	}
	m, err := r.Message(ctx, channelID, messageID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && m.WebhookID != w.ID) {
		return storage.Message{}, nil, fmt.Errorf("message %d: %w", messageID, ErrUnknownMessage)
	}
	return m, pl, err
}

// WebhookMessageGet answers a message the webhook posted.
func (h *Homeserver) WebhookMessageGet(ctx context.Context, id snowflake.ID, token string, threadID, messageID snowflake.ID) (discord.Message, error) {
	w, err := h.webhookFor(ctx, h.store, nil, id, token)
	if err != nil {
		return discord.Message{}, domainErr("webhook message", err)
	}
	m, _, err := h.webhookMessage(ctx, h.store, w, threadID, messageID)
	if err != nil {
		return discord.Message{}, domainErr("webhook message", err)
	}
	out, err := h.renderMessage(ctx, h.store, m, w.ID, false)
	return out, domainErr("webhook message", err)
}

// WebhookMessageEdit changes a message the webhook posted, as its author.
func (h *Homeserver) WebhookMessageEdit(ctx context.Context, id snowflake.ID, token string, threadID, messageID snowflake.ID, e MessageEdit) (discord.Message, error) {
	w, err := h.webhookFor(ctx, h.store, nil, id, token)
	if err != nil {
		return discord.Message{}, domainErr("edit webhook message", err)
	}
	if _, _, err := h.webhookMessage(ctx, h.store, w, threadID, messageID); err != nil {
		return discord.Message{}, domainErr("edit webhook message", err)
	}
	channelID := w.ChannelID
	if threadID != 0 {
		channelID = threadID
	}
	p := Principal{User: User{ID: w.ID, Bot: true}}
	return do(ctx, h, write[discord.Message]{op: "edit webhook message", channel: channelID, guildOnly: true,
		here: func(ctx context.Context) (discord.Message, error) {
			return h.editMessageAs(ctx, p, channelID, messageID, e, func(r storage.Reader) (*place, error) {
				return h.webhookPlace(ctx, r, w, channelID)
			})
		}})
}

// WebhookMessageDelete deletes a message the webhook posted.
func (h *Homeserver) WebhookMessageDelete(ctx context.Context, id snowflake.ID, token string, threadID, messageID snowflake.ID) error {
	w, err := h.webhookFor(ctx, h.store, nil, id, token)
	if err != nil {
		return domainErr("delete webhook message", err)
	}
	if _, _, err := h.webhookMessage(ctx, h.store, w, threadID, messageID); err != nil {
		return domainErr("delete webhook message", err)
	}
	channelID := w.ChannelID
	if threadID != 0 {
		channelID = threadID
	}
	p := Principal{User: User{ID: w.ID, Bot: true}}
	return doErr(ctx, h, write[none]{op: "delete webhook message", channel: channelID, guildOnly: true,
		here: func(ctx context.Context) (none, error) {
			return nothing(h.deleteMessageAs(ctx, p, channelID, messageID, func(r storage.Reader) (*place, error) {
				return h.webhookPlace(ctx, r, w, channelID)
			}))
		}})
}

// webhookAvatarFile opens an avatar a webhook used, for /avatars/{id}/{hash}:
// a webhook's messages keep the avatar they were posted with.
func (h *Homeserver) webhookAvatarFile(ctx context.Context, id snowflake.ID, hash string) (File, bool, error) {
	ok, err := h.store.WebhookHasAvatar(ctx, id, hash)
	if err != nil || !ok {
		return File{}, false, err
	}
	f, err := h.openImage(ctx, trimAnimated(hash))
	return f, err == nil, err
}

// AllowedMentions is Discord's allowed_mentions: which of the mentions in
// a message's text notify. Parse holds "users", "roles", "everyone"; Users
// and Roles allow single IDs.
type AllowedMentions struct {
	Parse []string
	Users []snowflake.ID
	Roles []snowflake.ID
}

// apply keeps only the mentions am allows (all of them when am is nil).
func (am *AllowedMentions) apply(m *storage.Message) {
	if am == nil {
		return
	}
	parse := func(kind string) bool { return slices.Contains(am.Parse, kind) }
	if !parse("users") {
		m.Mentions = slices.DeleteFunc(m.Mentions, func(id snowflake.ID) bool { return !slices.Contains(am.Users, id) })
	}
	if !parse("roles") {
		m.MentionRoles = slices.DeleteFunc(m.MentionRoles, func(id snowflake.ID) bool { return !slices.Contains(am.Roles, id) })
	}
	if !parse("everyone") {
		m.MentionEveryone = false
	}
}

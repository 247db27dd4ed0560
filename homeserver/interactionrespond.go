package homeserver

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"hearth/discord"
	"hearth/snowflake"
	"hearth/storage"
)

// An application's answers to interactions: the initial response at the
// callback route, then follow-ups and edits through the interaction's
// token while it lives. A response message is a message of the bot that
// goes through the channel's log like any other, except an ephemeral
// one, which only the person who interacted ever receives: it is kept
// with the interaction (for its edits), never in the channel's history,
// and leaves this server only in a notice to the person's own server when
// they are a user of another homeserver.

// InteractionReply is a message an application sends or edits through an
// interaction; unset fields are left as they are by an edit.
type InteractionReply struct {
	Content    Optional[string]
	Embeds     Optional[[]json.RawMessage]
	Components Optional[[]discord.Component]
	Flags      Optional[int]
	TTS        bool
	// Files are uploads to attach (multipart files[n]); an edit adds them
	// to the message's files.
	Files []Upload
}

// InteractionResponse is an application's initial response.
type InteractionResponse struct {
	Type    int
	Message InteractionReply
	Choices []discord.CommandChoice
	Modal   discord.Modal
}

// InteractionCallback is what the callback answers with with_response.
type InteractionCallback struct {
	Interaction struct {
		ID                       snowflake.ID  `json:"id"`
		Type                     int           `json:"type"`
		ResponseMessageID        *snowflake.ID `json:"response_message_id,omitempty"`
		ResponseMessageLoading   *bool         `json:"response_message_loading,omitempty"`
		ResponseMessageEphemeral *bool         `json:"response_message_ephemeral,omitempty"`
	} `json:"interaction"`
	Resource *struct {
		Type    int              `json:"type"`
		Message *discord.Message `json:"message,omitempty"`
	} `json:"resource,omitempty"`
}

// interactionByToken finds the interaction a token names, comparing the
// token in constant time.
func (h *Homeserver) interactionByToken(ctx context.Context, token string) (storage.Interaction, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return storage.Interaction{}, false
	}
	parts := strings.SplitN(string(raw), ":", 3)
	if len(parts) != 3 || parts[0] != "interaction" {
		return storage.Interaction{}, false
	}
	id, err := snowflake.Parse(parts[1])
	if err != nil {
		return storage.Interaction{}, false
	}
	it, err := h.store.Interaction(ctx, id)
	if err != nil || subtle.ConstantTimeCompare([]byte(it.TokenHash), []byte(tokenHash(token))) != 1 {
		return storage.Interaction{}, false
	}
	return it, true
}

// allowedResponses are the callback types each interaction type takes.
var allowedResponses = map[int][]int{
	discord.InteractionApplicationCommand: {discord.CallbackChannelMessage, discord.CallbackDeferredChannelMessage, discord.CallbackModal},
	discord.InteractionMessageComponent: {discord.CallbackChannelMessage, discord.CallbackDeferredChannelMessage,
		discord.CallbackDeferredUpdateMessage, discord.CallbackUpdateMessage, discord.CallbackModal},
	discord.InteractionAutocomplete: {discord.CallbackAutocompleteResult},
	discord.InteractionModalSubmit: {discord.CallbackChannelMessage, discord.CallbackDeferredChannelMessage,
		discord.CallbackDeferredUpdateMessage, discord.CallbackUpdateMessage},
}

// validateReply checks a message an application sends (create: it must
// say something) or edits.
func (h *Homeserver) validateReply(v *ValidationError, prefix string, r InteractionReply, create bool) {
	if r.Content.Set && utf8.RuneCountInString(r.Content.Value) > h.cfg.MaxMessageLength {
		v.Add(prefix+"content", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", h.cfg.MaxMessageLength))
	}
	if len(r.Embeds.Value) > MaxEmbeds {
		v.Add(prefix+"embeds", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", MaxEmbeds))
	}
	if r.Components.Set {
		ValidateComponents(v, prefix+"components", r.Components.Value)
	}
	if len(r.Files) > MaxFiles {
		v.Add(prefix+"attachments", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", MaxFiles))
	}
}

func replyEmpty(r InteractionReply) bool {
	return strings.TrimSpace(r.Content.Value) == "" && len(r.Embeds.Value) == 0 && len(r.Components.Value) == 0 && len(r.Files) == 0
}

// replyFiles stores a reply's uploads and describes them as files of the
// interaction's channel, with new IDs.
func (h *Homeserver) replyFiles(ctx context.Context, it storage.Interaction, ups []Upload) ([]storage.Attachment, error) {
	out := make([]storage.Attachment, 0, len(ups))
	for _, up := range ups {
		if err := h.cfg.Blobs.Promote(ctx, up.staged); err != nil {
			return nil, storeErr("interaction reply file", err)
		}
		out = append(out, storage.Attachment{ID: h.cfg.IDs.Next(), ChannelID: it.ChannelID, Filename: up.Filename,
			Description: clipRunes(up.Description, AttachmentDescriptionMax), ContentType: up.ContentType, Size: up.Size, Hash: up.Hash, Width: up.Width, Height: up.Height})
	}
	return out, nil
}

// ephemeralOwner is the interaction that keeps an ephemeral message its
// token reaches: itself, or, for a component used on an ephemeral message
// (which the token edits as its original), that message's interaction.
func ephemeralOwner(it storage.Interaction, msgID snowflake.ID) snowflake.ID {
	if st := readState(it); st.EphemeralOf != 0 && msgID == it.MessageID {
		return st.EphemeralOf
	}
	return it.ID
}

// RespondInteraction takes an application's initial response: the first
// within the answer window, once.
func (h *Homeserver) RespondInteraction(ctx context.Context, id snowflake.ID, token string, r InteractionResponse) (InteractionCallback, error) {
	// Files stay only if a message takes them (see CreateInteraction).
	defer h.DiscardUploads(r.Message.Files)
	var cb InteractionCallback
	it, ok := h.interactionByToken(ctx, token)
	if !ok || it.ID != id {
		return cb, fmt.Errorf("interaction %d: %w", id, ErrUnknownInteraction)
	}
	st := readState(it)
	allowed := allowedResponses[it.Type]
	if r.Type == discord.CallbackPong || !containsInt(allowed, r.Type) ||
		it.Type == discord.InteractionModalSubmit && it.MessageID == 0 && (r.Type == discord.CallbackUpdateMessage || r.Type == discord.CallbackDeferredUpdateMessage) {
		return cb, Invalid("type", "INTERACTION_RESPONSE_TYPE_INVALID", "This response type is not valid for this interaction.")
	}
	v := &ValidationError{}
	switch r.Type {
	case discord.CallbackChannelMessage, discord.CallbackUpdateMessage:
		h.validateReply(v, "data.", r.Message, true)
		if r.Type == discord.CallbackChannelMessage && replyEmpty(r.Message) {
			return cb, ErrEmptyMessage
		}
	case discord.CallbackAutocompleteResult:
		if len(r.Choices) > maxAutocomplete {
			v.Add("data.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
		}
		for i, c := range r.Choices {
			if n := utf8.RuneCountInString(c.Name); n < 1 || n > choiceNameMax {
				v.Add(fmt.Sprintf("data.choices.%d.name", i), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
			}
			if len(c.Value) == 0 || len(c.Value) > choiceStringMax+2 {
				v.Add(fmt.Sprintf("data.choices.%d.value", i), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
			}
		}
	case discord.CallbackModal:
		ValidateModal(v, "data", r.Modal)
	}
	if err := v.Err(); err != nil {
		return cb, err
	}
	ephemeral := r.Message.Flags.Value&discord.FlagEphemeral != 0
	switch r.Type {
	case discord.CallbackChannelMessage, discord.CallbackDeferredChannelMessage:
		st.Ephemeral, st.Loading = ephemeral, r.Type == discord.CallbackDeferredChannelMessage
	case discord.CallbackModal:
		m := r.Modal
		st.Modal = &m
	}
	err := h.update(ctx, func(tx storage.Tx, _ *events) error {
		return tx.AnswerInteraction(ctx, it.ID, h.now().Add(-InteractionAnswerWindow), r.Type, st.encode())
	})
	if errors.Is(err, storage.ErrNotFound) {
		if now, err := h.store.Interaction(ctx, it.ID); err == nil && now.State == storage.InteractionAnswered {
			return cb, fmt.Errorf("interaction %d: %w", id, ErrInteractionAcknowledged)
		}
		return cb, fmt.Errorf("interaction %d: %w", id, ErrUnknownInteraction)
	}
	if err != nil {
		return cb, domainErr("respond to interaction", err)
	}
	it.State, it.ResponseType = storage.InteractionAnswered, r.Type
	cb.Interaction.ID, cb.Interaction.Type = it.ID, it.Type
	var msg *discord.Message
	switch r.Type {
	case discord.CallbackChannelMessage, discord.CallbackDeferredChannelMessage:
		reply := r.Message
		flags := reply.Flags.Value
		if r.Type == discord.CallbackDeferredChannelMessage {
			reply = InteractionReply{}
			flags |= discord.FlagLoading
		}
		m, err := h.sendReply(ctx, it, st, reply, flags)
		if err != nil {
			return cb, err
		}
		msg = &m
		if err := h.update(ctx, func(tx storage.Tx, _ *events) error {
			return tx.SetInteractionOriginal(ctx, it.ID, m.ID, st.encode())
		}); err != nil {
			return cb, domainErr("respond to interaction", err)
		}
		loading := st.Loading
		cb.Interaction.ResponseMessageID, cb.Interaction.ResponseMessageLoading, cb.Interaction.ResponseMessageEphemeral = &m.ID, &loading, &ephemeral
	case discord.CallbackDeferredUpdateMessage, discord.CallbackUpdateMessage:
		if err := h.update(ctx, func(tx storage.Tx, _ *events) error {
			return tx.SetInteractionOriginal(ctx, it.ID, it.MessageID, st.encode())
		}); err != nil {
			return cb, domainErr("respond to interaction", err)
		}
		if r.Type == discord.CallbackUpdateMessage {
			m, err := h.editReply(ctx, it, it.MessageID, r.Message)
			if err != nil {
				return cb, err
			}
			msg = &m
		}
	case discord.CallbackAutocompleteResult:
		choices := r.Choices
		if choices == nil {
			choices = []discord.CommandChoice{}
		}
		h.tellInvoker(ctx, it.GuildID, it.UserID, st.Session, dispatchAutocomplete, map[string]any{"choices": choices, "nonce": st.Nonce})
	case discord.CallbackModal:
		app, err := h.store.Application(ctx, it.ApplicationID)
		if err != nil {
			return cb, storeErr("modal application", err)
		}
		h.tellInvoker(ctx, it.GuildID, it.UserID, st.Session, dispatchModalCreate, map[string]any{
			"id": it.ID, "nonce": st.Nonce, "channel_id": it.ChannelID, "custom_id": r.Modal.CustomID, "title": r.Modal.Title,
			"components": r.Modal.Components, "application": map[string]any{"id": app.ID, "name": app.Name, "icon": nil},
		})
	}
	h.tellInvoker(ctx, it.GuildID, it.UserID, st.Session, dispatchInteractionSuccess, map[string]any{"id": it.ID, "nonce": st.Nonce})
	if msg != nil || r.Type != discord.CallbackDeferredUpdateMessage {
		cb.Resource = &struct {
			Type    int              `json:"type"`
			Message *discord.Message `json:"message,omitempty"`
		}{Type: r.Type, Message: msg}
	}
	return cb, nil
}

func containsInt(list []int, x int) bool {
	for _, y := range list {
		if y == x {
			return true
		}
	}
	return false
}

// messageType is the type of a message answering an interaction.
func messageType(it storage.Interaction, st interactionState) int {
	switch {
	case it.Type != discord.InteractionApplicationCommand:
		return discord.MessageDefault
	case st.CommandType == discord.CommandChatInput:
		return discord.MessageChatInputCommand
	default:
		return discord.MessageContextMenuCommand
	}
}

// interactionMeta is what a response message says of its interaction.
func (h *Homeserver) interactionMeta(ctx context.Context, it storage.Interaction, st interactionState) (discord.InteractionMetadata, error) {
	u, err := h.store.UserByID(ctx, it.UserID)
	if err != nil {
		return discord.InteractionMetadata{}, storeErr("interaction user", err)
	}
	meta := discord.InteractionMetadata{ID: it.ID, Type: it.Type, User: discordUser(u), Name: st.Name,
		AuthorizingIntegrationOwners: map[string]snowflake.ID{"0": it.GuildID}}
	if it.MessageID != 0 {
		mid := it.MessageID
		meta.InteractedMessageID = &mid
	}
	if st.TargetUser != 0 {
		if tu, err := h.store.UserByID(ctx, st.TargetUser); err == nil {
			d := discordUser(tu)
			meta.TargetUser = &d
		}
	}
	if st.TargetMessage != 0 {
		tm := st.TargetMessage
		meta.TargetMessageID = &tm
	}
	return meta, nil
}

// sendReply posts a response or follow-up message: to the invoker alone
// when ephemeral, else to the channel through its log.
func (h *Homeserver) sendReply(ctx context.Context, it storage.Interaction, st interactionState, r InteractionReply, flags int) (discord.Message, error) {
	meta, err := h.interactionMeta(ctx, it, st)
	if err != nil {
		return discord.Message{}, err
	}
	bot, err := h.store.UserByID(ctx, it.ApplicationID)
	if err != nil {
		return discord.Message{}, storeErr("interaction bot", err)
	}
	flags &= discord.FlagEphemeral | discord.FlagLoading | discord.FlagSuppressEmbeds
	comps := r.Components.Value
	if comps == nil {
		comps = []discord.Component{}
	}
	files, err := h.replyFiles(ctx, it, r.Files)
	if err != nil {
		return discord.Message{}, err
	}
	if flags&discord.FlagEphemeral != 0 {
		m := discord.Message{
			ID: h.cfg.IDs.Next(), ChannelID: it.ChannelID, Author: discordUser(bot), Content: r.Content.Value,
			Timestamp: discord.Timestamp(h.now()), Mentions: []discord.User{}, MentionRoles: []snowflake.ID{},
			Attachments: []discord.Attachment{}, Embeds: r.Embeds.Value, Type: messageType(it, st), Flags: flags,
			Components: componentsAny(comps), ApplicationID: &it.ApplicationID, InteractionMetadata: &meta,
			Interaction: legacyInteraction(meta),
		}
		if m.Embeds == nil {
			m.Embeds = []json.RawMessage{}
		}
		for _, f := range files {
			m.Attachments = append(m.Attachments, h.renderAttachment(f))
		}
		if it.GuildID != 0 {
			g := it.GuildID
			m.GuildID = &g
		}
		return m, h.putEphemeral(ctx, it, it.ID, m, "MESSAGE_CREATE", files)
	}
	compJSON, err := json.Marshal(comps)
	if err != nil {
		return discord.Message{}, fmt.Errorf("encode components: %w", err)
	}
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return discord.Message{}, fmt.Errorf("encode interaction metadata: %w", err)
	}
	return do(ctx, h, write[discord.Message]{op: "interaction response", channel: it.ChannelID,
		here: func(ctx context.Context) (discord.Message, error) {
			var out discord.Message
			err := h.update(ctx, func(tx storage.Tx, ev *events) error {
				pl, err := h.placeOf(ctx, tx, it.ChannelID, it.ApplicationID)
				if err != nil {
					return err
				}
				m := storage.Message{ID: h.cfg.IDs.Next(), ChannelID: it.ChannelID, GuildID: it.GuildID, AuthorID: it.ApplicationID,
					Type: messageType(it, st), Content: r.Content.Value, TTS: r.TTS, Flags: flags, CreatedAt: h.now(), Attachments: files}
				if len(r.Embeds.Value) > 0 {
					if m.Embeds, err = json.Marshal(r.Embeds.Value); err != nil {
						return err
					}
				}
				if err := h.parseMentions(ctx, tx, pl, &m); err != nil {
					return err
				}
				if err := tx.CreateMessage(ctx, pl.scope(), m); err != nil {
					return err
				}
				if err := tx.SetMessageComponents(ctx, storage.MessageComponents{MessageID: m.ID, Components: compJSON, Interaction: metaJSON}); err != nil {
					return err
				}
				if out, err = h.renderMessage(ctx, tx, m, it.ApplicationID, true); err != nil {
					return err
				}
				return ev.Append(ctx, pl.logID(), "MESSAGE_CREATE", out)
			})
			return out, domainErr("interaction response", err)
		}})
}

func componentsAny(cs []discord.Component) []any {
	out := make([]any, len(cs))
	for i, c := range cs {
		out[i] = c
	}
	return out
}

func legacyInteraction(meta discord.InteractionMetadata) *discord.MessageInteraction {
	return &discord.MessageInteraction{ID: meta.ID, Type: meta.Type, Name: meta.Name, User: meta.User}
}

// addMessageExtras adds a bot's message's components and interaction to
// its rendering.
func addMessageExtras(ctx context.Context, r storage.Reader, out *discord.Message, authorID snowflake.ID) {
	mc, err := r.MessageComponents(ctx, out.ID)
	if err != nil {
		return
	}
	out.Components = componentsAny(decodeComponents(mc.Components))
	if mc.Interaction != nil {
		var meta discord.InteractionMetadata
		if json.Unmarshal(mc.Interaction, &meta) == nil {
			app := authorID
			out.ApplicationID, out.InteractionMetadata, out.Interaction = &app, &meta, legacyInteraction(meta)
		}
	}
}

// editReply edits a message of the interaction's application: an
// ephemeral one of the interaction, or one in the channel. A deferred
// message stops loading.
func (h *Homeserver) editReply(ctx context.Context, it storage.Interaction, msgID snowflake.ID, r InteractionReply) (discord.Message, error) {
	files, err := h.replyFiles(ctx, it, r.Files)
	if err != nil {
		return discord.Message{}, err
	}
	owner := ephemeralOwner(it, msgID)
	if em, err := h.store.InteractionMessage(ctx, owner, msgID); err == nil {
		var m discord.Message
		if err := json.Unmarshal(em.Data, &m); err != nil {
			return m, fmt.Errorf("decode ephemeral message: %w", err)
		}
		if r.Content.Set {
			m.Content = r.Content.Value
		}
		if r.Embeds.Set {
			m.Embeds = r.Embeds.Value
			if m.Embeds == nil {
				m.Embeds = []json.RawMessage{}
			}
		}
		if r.Components.Set {
			m.Components = componentsAny(r.Components.Value)
		}
		for _, f := range files {
			m.Attachments = append(m.Attachments, h.renderAttachment(f))
		}
		if m.Flags&discord.FlagLoading == 0 {
			m.EditedTimestamp = discord.TimePtr(h.now())
		}
		m.Flags &^= discord.FlagLoading
		if strings.TrimSpace(m.Content) == "" && len(m.Embeds) == 0 && len(m.Components) == 0 && len(m.Attachments) == 0 {
			return m, ErrEmptyMessage
		}
		return m, h.putEphemeral(ctx, it, owner, m, "MESSAGE_UPDATE", files)
	} else if !errors.Is(err, storage.ErrNotFound) {
		return discord.Message{}, storeErr("ephemeral message", err)
	}
	return do(ctx, h, write[discord.Message]{op: "edit interaction message", channel: it.ChannelID,
		here: func(ctx context.Context) (discord.Message, error) {
			var out discord.Message
			err := h.update(ctx, func(tx storage.Tx, ev *events) error {
				pl, err := h.placeOf(ctx, tx, it.ChannelID, it.ApplicationID)
				if err != nil {
					return err
				}
				m, err := messageIn(ctx, tx, it.ChannelID, msgID)
				if err != nil {
					return err
				}
				if m.AuthorID != it.ApplicationID {
					return fmt.Errorf("message %d: %w", msgID, ErrUnknownMessage)
				}
				mc, err := tx.MessageComponents(ctx, m.ID)
				if err != nil && !errors.Is(err, storage.ErrNotFound) {
					return err
				}
				if !belongsTo(it, m.ID, mc) {
					return fmt.Errorf("message %d: %w", msgID, ErrUnknownMessage)
				}
				if err := h.keepRevision(ctx, tx, pl.scope(), m, it.ApplicationID, false); err != nil {
					return err
				}
				if r.Content.Set {
					m.Content, m.Mentions, m.MentionRoles, m.MentionEveryone = r.Content.Value, nil, nil, false
					if err := h.parseMentions(ctx, tx, pl, &m); err != nil {
						return err
					}
				}
				if r.Embeds.Set {
					m.Embeds = nil
					if len(r.Embeds.Value) > 0 {
						if m.Embeds, err = json.Marshal(r.Embeds.Value); err != nil {
							return err
						}
					}
				}
				if r.Flags.Set {
					m.Flags = m.Flags&^discord.FlagSuppressEmbeds | r.Flags.Value&discord.FlagSuppressEmbeds
				}
				if m.Flags&discord.FlagLoading == 0 {
					m.EditedAt = h.now()
				}
				m.Flags &^= discord.FlagLoading
				comps := mc.Components
				if r.Components.Set {
					if comps, err = json.Marshal(r.Components.Value); err != nil {
						return err
					}
				}
				m.Attachments = append(m.Attachments, files...)
				if strings.TrimSpace(m.Content) == "" && len(m.Embeds) == 0 && len(m.Attachments) == 0 && len(decodeComponents(comps)) == 0 {
					return ErrEmptyMessage
				}
				if err := tx.UpdateMessage(ctx, pl.scope(), m); err != nil {
					return err
				}
				if len(files) > 0 {
					if err := tx.AddAttachments(ctx, pl.scope(), m.ID, files); err != nil {
						return err
					}
				}
				if err := tx.SetMessageComponents(ctx, storage.MessageComponents{MessageID: m.ID, Components: comps, Interaction: mc.Interaction}); err != nil {
					return err
				}
				if out, err = h.renderMessage(ctx, tx, m, it.ApplicationID, false); err != nil {
					return err
				}
				return ev.Append(ctx, pl.logID(), "MESSAGE_UPDATE", out)
			})
			return out, domainErr("edit interaction message", err)
		}})
}

// belongsTo reports whether a channel message is the interaction's: its
// original (the component's message, for an update), or a message that
// answers it.
func belongsTo(it storage.Interaction, msgID snowflake.ID, mc storage.MessageComponents) bool {
	if msgID == it.OriginalID || msgID == it.MessageID && it.MessageID != 0 {
		return true
	}
	var meta struct {
		ID snowflake.ID `json:"id"`
	}
	return mc.Interaction != nil && json.Unmarshal(mc.Interaction, &meta) == nil && meta.ID == it.ID
}

// followup finds the interaction of an application's token while follow-
// ups may use it: answered, and under 15 minutes old.
func (h *Homeserver) followup(ctx context.Context, appID snowflake.ID, token string) (storage.Interaction, interactionState, error) {
	it, ok := h.interactionByToken(ctx, token)
	if !ok || it.ApplicationID != appID || it.State != storage.InteractionAnswered || h.now().Sub(it.CreatedAt) > InteractionTokenTTL {
		return it, interactionState{}, ErrUnknownInteractionWebhook
	}
	return it, readState(it), nil
}

// InteractionWebhook is the webhook an interaction's token names while
// follow-ups may use it, as GET /webhooks/{application}/{token} answers
// it on Discord: of type 3 (Application), with the application's ID, name
// and its bot's avatar, in the interaction's channel.
func (h *Homeserver) InteractionWebhook(ctx context.Context, appID snowflake.ID, token string) (discord.Webhook, error) {
	it, _, err := h.followup(ctx, appID, token)
	if err != nil {
		return discord.Webhook{}, err
	}
	app, err := h.store.Application(ctx, appID)
	if err != nil {
		return discord.Webhook{}, storeErr("interaction webhook", err)
	}
	bot, err := h.store.UserByID(ctx, appID)
	if err != nil {
		return discord.Webhook{}, storeErr("interaction webhook", err)
	}
	return discord.Webhook{ID: appID, Type: webhookApplication, GuildID: discord.NullableID(it.GuildID), ChannelID: it.ChannelID,
		Name: discord.Nullable(app.Name), Avatar: discord.Nullable(bot.Avatar), ApplicationID: &appID}, nil
}

// FollowupCreate sends a follow-up message. The first one after a
// deferred response fills in the deferred message instead, as on Discord.
func (h *Homeserver) FollowupCreate(ctx context.Context, appID snowflake.ID, token string, r InteractionReply) (discord.Message, error) {
	defer h.DiscardUploads(r.Files)
	it, st, err := h.followup(ctx, appID, token)
	if err != nil {
		return discord.Message{}, err
	}
	v := &ValidationError{}
	h.validateReply(v, "", r, true)
	if err := v.Err(); err != nil {
		return discord.Message{}, err
	}
	if replyEmpty(r) {
		return discord.Message{}, ErrEmptyMessage
	}
	if st.Loading && it.OriginalID != 0 {
		m, err := h.editReply(ctx, it, it.OriginalID, r)
		if err != nil {
			return m, err
		}
		st.Loading = false
		err = h.update(ctx, func(tx storage.Tx, _ *events) error {
			return tx.SetInteractionOriginal(ctx, it.ID, it.OriginalID, st.encode())
		})
		return m, domainErr("follow-up", err)
	}
	return h.sendReply(ctx, it, st, r, r.Flags.Value)
}

// FollowupMessage returns a message of the interaction (0: the original).
func (h *Homeserver) FollowupMessage(ctx context.Context, appID snowflake.ID, token string, msgID snowflake.ID) (discord.Message, error) {
	it, _, err := h.followup(ctx, appID, token)
	if err != nil {
		return discord.Message{}, err
	}
	if msgID == 0 {
		msgID = it.OriginalID
	}
	if em, err := h.store.InteractionMessage(ctx, ephemeralOwner(it, msgID), msgID); err == nil {
		var m discord.Message
		return m, json.Unmarshal(em.Data, &m)
	}
	m, err := messageIn(ctx, h.store, it.ChannelID, msgID)
	if err != nil {
		return discord.Message{}, err
	}
	mc, _ := h.store.MessageComponents(ctx, m.ID)
	if m.AuthorID != appID || !belongsTo(it, m.ID, mc) {
		return discord.Message{}, fmt.Errorf("message %d: %w", msgID, ErrUnknownMessage)
	}
	return h.renderMessage(ctx, h.store, m, appID, true)
}

// FollowupEdit edits a message of the interaction (0: the original).
func (h *Homeserver) FollowupEdit(ctx context.Context, appID snowflake.ID, token string, msgID snowflake.ID, r InteractionReply) (discord.Message, error) {
	defer h.DiscardUploads(r.Files)
	it, st, err := h.followup(ctx, appID, token)
	if err != nil {
		return discord.Message{}, err
	}
	v := &ValidationError{}
	h.validateReply(v, "", r, false)
	if err := v.Err(); err != nil {
		return discord.Message{}, err
	}
	original := msgID == 0 || msgID == it.OriginalID
	if msgID == 0 {
		msgID = it.OriginalID
	}
	if msgID == 0 {
		return discord.Message{}, fmt.Errorf("no original: %w", ErrUnknownMessage)
	}
	m, err := h.editReply(ctx, it, msgID, r)
	if err != nil {
		return m, err
	}
	if original && st.Loading {
		st.Loading = false
		err = h.update(ctx, func(tx storage.Tx, _ *events) error {
			return tx.SetInteractionOriginal(ctx, it.ID, it.OriginalID, st.encode())
		})
	}
	return m, domainErr("edit follow-up", err)
}

// FollowupDelete deletes a message of the interaction (0: the original).
func (h *Homeserver) FollowupDelete(ctx context.Context, appID snowflake.ID, token string, msgID snowflake.ID) error {
	it, _, err := h.followup(ctx, appID, token)
	if err != nil {
		return err
	}
	if msgID == 0 {
		msgID = it.OriginalID
	}
	if em, err := h.store.InteractionMessage(ctx, ephemeralOwner(it, msgID), msgID); err == nil {
		if err := h.update(ctx, func(tx storage.Tx, _ *events) error {
			return tx.DeleteInteractionMessage(ctx, em.InteractionID, em.ID)
		}); err != nil {
			return domainErr("delete ephemeral message", err)
		}
		d := discord.MessageDeleteEvent{ID: em.ID, ChannelID: it.ChannelID}
		if it.GuildID != 0 {
			g := it.GuildID
			d.GuildID = &g
		}
		h.tellInvoker(ctx, it.GuildID, it.UserID, "", "MESSAGE_DELETE", d)
		return nil
	}
	return doErr(ctx, h, write[none]{op: "delete interaction message", channel: it.ChannelID,
		here: func(ctx context.Context) (none, error) {
			err := h.update(ctx, func(tx storage.Tx, ev *events) error {
				pl, err := h.placeOf(ctx, tx, it.ChannelID, it.ApplicationID)
				if err != nil {
					return err
				}
				m, err := messageIn(ctx, tx, it.ChannelID, msgID)
				if err != nil {
					return err
				}
				mc, _ := tx.MessageComponents(ctx, m.ID)
				if m.AuthorID != appID || !belongsTo(it, m.ID, mc) {
					return fmt.Errorf("message %d: %w", msgID, ErrUnknownMessage)
				}
				if err := h.keepRevision(ctx, tx, pl.scope(), m, appID, true); err != nil {
					return err
				}
				if _, err := tx.DeleteMessages(ctx, pl.scope(), it.ChannelID, []snowflake.ID{msgID}); err != nil {
					return err
				}
				return ev.Append(ctx, pl.logID(), "MESSAGE_DELETE", discord.MessageDeleteEvent{ID: msgID, ChannelID: it.ChannelID, GuildID: pl.guildID()})
			})
			return nothing(domainErr("delete interaction message", err))
		}})
}

// putEphemeral keeps an ephemeral message with the interaction owner (see
// ephemeralOwner), with its new files, and sends it, as dispatch, to the
// sessions of the person who interacted only.
func (h *Homeserver) putEphemeral(ctx context.Context, it storage.Interaction, owner snowflake.ID, m discord.Message, dispatch string, files []storage.Attachment) error {
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode ephemeral message: %w", err)
	}
	if err := h.update(ctx, func(tx storage.Tx, _ *events) error {
		if err := tx.PutInteractionMessage(ctx, storage.InteractionMessage{ID: m.ID, InteractionID: owner, Data: data}); err != nil {
			return err
		}
		if len(files) == 0 {
			return nil
		}
		return tx.AddInteractionFiles(ctx, owner, files)
	}); err != nil {
		return domainErr("ephemeral message", err)
	}
	h.tellInvoker(ctx, it.GuildID, it.UserID, "", dispatch, m)
	return nil
}

// InteractionTokenHolds reports whether token is interaction id's token
// (app 0), or an application's follow-up token while follow-ups may use
// it (id 0). The routes that take files ask it before storing any, so
// that a body sent with a wrong token costs no disk; the operation checks
// again.
func (h *Homeserver) InteractionTokenHolds(ctx context.Context, id, app snowflake.ID, token string) bool {
	if app != 0 {
		_, _, err := h.followup(ctx, app, token)
		return err == nil
	}
	it, ok := h.interactionByToken(ctx, token)
	return ok && it.ID == id
}

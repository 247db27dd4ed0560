package clientapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/gin-gonic/gin"

	"hearth/discord"
	"hearth/homeserver"
	"hearth/snowflake"
)

func (a *API) routesInteractions(r *gin.RouterGroup) {
	r.POST("/interactions", a.auth, a.createInteraction)
	// The callback is authorised by the interaction's token alone, as on
	// Discord.
	r.POST("/interactions/:interaction/:token/callback", a.interactionCallback)

}

// readPayload reads a JSON body, or multipart's payload_json (files in
// interaction answers are not supported: they are ignored).
func readPayload(c *gin.Context) ([]byte, error) {
	limitedBody(c)
	ct, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if ct != "multipart/form-data" {
		body, err := io.ReadAll(c.Request.Body)
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return nil, errBodyTooLarge
			}
			return nil, fmt.Errorf("%w: %w", errMalformedJSON, err)
		}
		if len(bytes.TrimSpace(body)) == 0 {
			return []byte("{}"), nil
		}
		return body, nil
	}
	mr, err := c.Request.MultipartReader()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errMalformedJSON, err)
	}
	payload := []byte("{}")
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return payload, nil
		}
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return nil, errBodyTooLarge
			}
			return nil, fmt.Errorf("%w: %w", errMalformedJSON, err)
		}
		if part.FormName() == "payload_json" {
			if payload, err = io.ReadAll(part); err != nil {
				var tooLarge *http.MaxBytesError
				if errors.As(err, &tooLarge) {
					return nil, errBodyTooLarge
				}
				return nil, fmt.Errorf("%w: %w", errMalformedJSON, err)
			}
			continue
		}
		if _, err := io.Copy(io.Discard, part); err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return nil, errBodyTooLarge
			}
			return nil, fmt.Errorf("%w: %w", errMalformedJSON, err)
		}
	}
}

// createInteraction is the client's POST /interactions: 204 once the
// interaction is with its application.
func (a *API) createInteraction(c *gin.Context) {
	body, err := readPayload(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	var in struct {
		Type          int             `json:"type"`
		ApplicationID snowflake.ID    `json:"application_id"`
		GuildID       *snowflake.ID   `json:"guild_id"`
		ChannelID     snowflake.ID    `json:"channel_id"`
		MessageID     *snowflake.ID   `json:"message_id"`
		Nonce         json.RawMessage `json:"nonce"`
		SessionID     string          `json:"session_id"`
		Data          json.RawMessage `json:"data"`
	}
	if err := decodeJSON(body, &in); err != nil {
		a.fail(c, err)
		return
	}
	v := &homeserver.ValidationError{}
	if in.ApplicationID == 0 {
		v.Add("application_id", "BASE_TYPE_REQUIRED", "This field is required")
	}
	if in.ChannelID == 0 {
		v.Add("channel_id", "BASE_TYPE_REQUIRED", "This field is required")
	}
	if len(in.Data) == 0 {
		v.Add("data", "BASE_TYPE_REQUIRED", "This field is required")
	}
	if err := v.Err(); err != nil {
		a.fail(c, err)
		return
	}
	var nonce string
	if len(in.Nonce) > 0 && !isNull(in.Nonce) {
		if json.Unmarshal(in.Nonce, &nonce) != nil {
			var n json.Number
			if json.Unmarshal(in.Nonce, &n) != nil {
				a.fail(c, homeserver.Invalid("nonce", "BASE_TYPE_STRING", "Must be a string."))
				return
			}
			nonce = n.String()
		}
	}
	req := homeserver.InteractionCreate{Type: in.Type, ApplicationID: in.ApplicationID, ChannelID: in.ChannelID,
		Nonce: nonce, SessionID: in.SessionID, Data: in.Data}
	if in.GuildID != nil {
		req.GuildID = *in.GuildID
	}
	if in.MessageID != nil {
		req.MessageID = *in.MessageID
	}
	if in.Type == discord.InteractionMessageComponent && req.MessageID == 0 {
		a.fail(c, homeserver.Invalid("message_id", "BASE_TYPE_REQUIRED", "This field is required"))
		return
	}
	a.reply(c, http.StatusNoContent, nil, a.hs.CreateInteraction(reqCtx(c), principal(c), req))
}

// replyBody is a message in an interaction answer or follow-up.
type replyBody struct {
	Content    *string              `json:"content"`
	Embeds     *[]json.RawMessage   `json:"embeds"`
	Components *[]discord.Component `json:"components"`
	Flags      *int                 `json:"flags"`
	TTS        bool                 `json:"tts"`
}

func (b replyBody) reply() homeserver.InteractionReply {
	var r homeserver.InteractionReply
	if b.Content != nil {
		r.Content = homeserver.Optional[string]{Set: true, Value: *b.Content}
	}
	if b.Embeds != nil {
		r.Embeds = homeserver.Optional[[]json.RawMessage]{Set: true, Value: *b.Embeds}
	}
	if b.Components != nil {
		r.Components = homeserver.Optional[[]discord.Component]{Set: true, Value: *b.Components}
	}
	if b.Flags != nil {
		r.Flags = homeserver.Optional[int]{Set: true, Value: *b.Flags}
	}
	r.TTS = b.TTS
	return r
}

// interactionCallback takes an application's initial response: 204, or
// with with_response the interaction callback response.
func (a *API) interactionCallback(c *gin.Context) {
	id, err := pathID(c, "interaction")
	if err != nil {
		a.fail(c, homeserver.ErrUnknownInteraction)
		return
	}
	body, err := readPayload(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	var in struct {
		Type int             `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	if err := decodeJSON(body, &in); err != nil {
		a.fail(c, err)
		return
	}
	resp := homeserver.InteractionResponse{Type: in.Type}
	if len(in.Data) > 0 && !isNull(in.Data) {
		var err error
		switch in.Type {
		case discord.CallbackAutocompleteResult:
			var d struct {
				Choices []discord.CommandChoice `json:"choices"`
			}
			err = decodeJSON(in.Data, &d)
			resp.Choices = d.Choices
		case discord.CallbackModal:
			err = decodeJSON(in.Data, &resp.Modal)
		default:
			var d replyBody
			err = decodeJSON(in.Data, &d)
			resp.Message = d.reply()
		}
		if err != nil {
			a.fail(c, err)
			return
		}
	}
	cb, err := a.hs.RespondInteraction(reqCtx(c), id, c.Param("token"), resp)
	if err != nil {
		a.fail(c, err)
		return
	}
	if queryBool(c, "with_response") {
		c.JSON(http.StatusOK, cb)
		return
	}
	c.Status(http.StatusNoContent)
}

// followupApp reads the application ID of a follow-up route.
func (a *API) followupApp(c *gin.Context) (snowflake.ID, bool) {
	id, err := pathID(c, "webhook")
	if err != nil {
		a.fail(c, homeserver.ErrUnknownInteractionWebhook)
		return 0, false
	}
	return id, true
}

// followupTarget reads the application and the message of a follow-up
// message route: message 0 for @original.
func (a *API) followupTarget(c *gin.Context) (app, message snowflake.ID, ok bool) {
	if app, ok = a.followupApp(c); !ok {
		return 0, 0, false
	}
	if c.Param("message") == "@original" {
		return app, 0, true
	}
	id, err := pathID(c, "message")
	if err != nil {
		a.fail(c, err)
		return 0, 0, false
	}
	return app, id, true
}

func (a *API) followupBody(c *gin.Context) (homeserver.InteractionReply, bool) {
	body, err := readPayload(c)
	if err != nil {
		a.fail(c, err)
		return homeserver.InteractionReply{}, false
	}
	var b replyBody
	if err := decodeJSON(body, &b); err != nil {
		a.fail(c, err)
		return homeserver.InteractionReply{}, false
	}
	return b.reply(), true
}

// followupCreate is POST /webhooks/{application}/{token} with an
// interaction's token.
func (a *API) followupCreate(c *gin.Context) {
	app, ok := a.followupApp(c)
	if !ok {
		return
	}
	r, ok := a.followupBody(c)
	if !ok {
		return
	}
	m, err := a.hs.FollowupCreate(reqCtx(c), app, c.Param("token"), r)
	a.reply(c, http.StatusOK, m, err)
}

func (a *API) followupMessage(c *gin.Context) {
	app, mid, ok := a.followupTarget(c)
	if !ok {
		return
	}
	m, err := a.hs.FollowupMessage(reqCtx(c), app, c.Param("token"), mid)
	a.reply(c, http.StatusOK, m, err)
}

func (a *API) followupMessageEdit(c *gin.Context) {
	app, mid, ok := a.followupTarget(c)
	if !ok {
		return
	}
	r, ok := a.followupBody(c)
	if !ok {
		return
	}
	m, err := a.hs.FollowupEdit(reqCtx(c), app, c.Param("token"), mid, r)
	a.reply(c, http.StatusOK, m, err)
}

func (a *API) followupMessageDelete(c *gin.Context) {
	app, mid, ok := a.followupTarget(c)
	if !ok {
		return
	}
	a.reply(c, http.StatusNoContent, nil, a.hs.FollowupDelete(reqCtx(c), app, c.Param("token"), mid))
}

package clientapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"

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

// readPayload reads a JSON body, or multipart's payload_json and its
// files (files[n], stored as uploads by n). A multipart body may be as
// large as a send with files; a JSON one has the route's limit.
func (a *API) readPayload(c *gin.Context) (payload []byte, files map[int]homeserver.Upload, err error) {
	ct, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if ct != "multipart/form-data" {
		body, err := readBody(c)
		if err != nil {
			return nil, nil, err
		}
		if len(bytes.TrimSpace(body)) == 0 {
			return []byte("{}"), nil, nil
		}
		return body, nil, nil
	}
	c.Set(maxBodyKey, homeserver.MaxFiles*a.maxUpload+(2<<20))
	limitedBody(c)
	mr, err := c.Request.MultipartReader()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errMalformedJSON, err)
	}
	files = map[int]homeserver.Upload{}
	defer func() {
		if err != nil {
			a.hs.DiscardUploads(uploadsOf(files, nil))
			files = nil
		}
	}()
	payload = []byte("{}")
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return payload, files, nil
		}
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return nil, files, errBodyTooLarge
			}
			return nil, files, fmt.Errorf("%w: %w", errMalformedJSON, err)
		}
		if m := filesField.FindStringSubmatch(part.FormName()); m != nil && part.FileName() != "" {
			if len(files) >= homeserver.MaxFiles {
				return nil, files, homeserver.Invalid("files", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", homeserver.MaxFiles))
			}
			n, _ := strconv.Atoi(m[1] + m[2])
			up, err := a.storePart(part)
			if err != nil {
				return nil, files, err
			}
			if prev, dup := files[n]; dup {
				a.hs.DiscardUploads([]homeserver.Upload{prev})
			}
			files[n] = up
			continue
		}
		if part.FormName() == "payload_json" {
			if payload, err = io.ReadAll(part); err != nil {
				var tooLarge *http.MaxBytesError
				if errors.As(err, &tooLarge) {
					return nil, files, errBodyTooLarge
				}
				return nil, files, fmt.Errorf("%w: %w", errMalformedJSON, err)
			}
			continue
		}
		if _, err := io.Copy(io.Discard, part); err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return nil, files, errBodyTooLarge
			}
			return nil, files, fmt.Errorf("%w: %w", errMalformedJSON, err)
		}
	}
}

// uploadsOf orders uploads by n and names them as the payload's
// attachments ({id: n, filename, description}) say.
func uploadsOf(files map[int]homeserver.Upload, meta []attachmentMeta) []homeserver.Upload {
	order := make([]int, 0, len(files))
	for n := range files {
		order = append(order, n)
	}
	slices.Sort(order)
	out := make([]homeserver.Upload, 0, len(order))
	for _, n := range order {
		out = append(out, namedUpload(files[n], n, meta))
	}
	return out
}

func namedUpload(up homeserver.Upload, n int, meta []attachmentMeta) homeserver.Upload {
	for _, m := range meta {
		if m.ID.String() == strconv.Itoa(n) {
			if m.Filename != "" {
				up.Filename = homeserver.SanitiseFilename(m.Filename)
			}
			up.Description = m.Description
		}
	}
	return up
}

// createInteraction is the client's POST /interactions: 204 once the
// interaction is with its application.
func (a *API) createInteraction(c *gin.Context) {
	body, files, err := a.readPayload(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	// Every path below hands the files to the domain or discards them.
	discard := func() { a.hs.DiscardUploads(uploadsOf(files, nil)) }
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
		discard()
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
		discard()
		a.fail(c, err)
		return
	}
	var nonce string
	if len(in.Nonce) > 0 && !isNull(in.Nonce) {
		if json.Unmarshal(in.Nonce, &nonce) != nil {
			var n json.Number
			if json.Unmarshal(in.Nonce, &n) != nil {
				discard()
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
	if len(files) > 0 {
		var d struct {
			Attachments []attachmentMeta `json:"attachments"`
		}
		_ = json.Unmarshal(in.Data, &d) // the domain reads data itself
		req.Files = make(map[string]homeserver.Upload, len(files))
		for n, up := range files {
			req.Files[strconv.Itoa(n)] = namedUpload(up, n, d.Attachments)
		}
	}
	if in.Type == discord.InteractionMessageComponent && req.MessageID == 0 {
		discard()
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
	// Attachments name the multipart files (files[n]).
	Attachments []attachmentMeta `json:"attachments"`
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
	if !a.hs.InteractionTokenHolds(c.Request.Context(), id, 0, c.Param("token")) {
		a.fail(c, homeserver.ErrUnknownInteraction)
		return
	}
	body, files, err := a.readPayload(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	var in struct {
		Type int             `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	if err := decodeJSON(body, &in); err != nil {
		a.hs.DiscardUploads(uploadsOf(files, nil))
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
			resp.Message.Files = uploadsOf(files, d.Attachments)
			files = nil
		}
		if err != nil {
			a.hs.DiscardUploads(resp.Message.Files)
			a.hs.DiscardUploads(uploadsOf(files, nil))
			a.fail(c, err)
			return
		}
	}
	// Files with no message to take them go now.
	a.hs.DiscardUploads(uploadsOf(files, nil))
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
	if app, err := pathID(c, "webhook"); err != nil || !a.hs.InteractionTokenHolds(c.Request.Context(), 0, app, c.Param("token")) {
		a.fail(c, homeserver.ErrUnknownInteractionWebhook)
		return homeserver.InteractionReply{}, false
	}
	body, files, err := a.readPayload(c)
	if err != nil {
		a.fail(c, err)
		return homeserver.InteractionReply{}, false
	}
	var b replyBody
	if err := decodeJSON(body, &b); err != nil {
		a.hs.DiscardUploads(uploadsOf(files, nil))
		a.fail(c, err)
		return homeserver.InteractionReply{}, false
	}
	r := b.reply()
	r.Files = uploadsOf(files, b.Attachments)
	return r, true
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

// followupWebhook is GET /webhooks/{application}/{token} with an
// interaction's token: the Application webhook (type 3) behind follow-ups.
func (a *API) followupWebhook(c *gin.Context) {
	app, ok := a.followupApp(c)
	if !ok {
		return
	}
	w, err := a.hs.InteractionWebhook(reqCtx(c), app, c.Param("token"))
	a.reply(c, http.StatusOK, w, err)
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

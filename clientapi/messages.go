package clientapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"hearth/discord"
	"hearth/homeserver"
	"hearth/snowflake"
)

func (a *API) routesMessages(r *gin.RouterGroup) {
	r.POST("/channels/:channel/messages", a.auth, a.uploadLimit, a.sendMessage)
	r.GET("/channels/:channel/messages", a.auth, a.messages)
	r.GET("/channels/:channel/messages/:message", a.auth, a.message)
	r.PATCH("/channels/:channel/messages/:message", a.auth, a.editMessage)
	r.DELETE("/channels/:channel/messages/:message", a.auth, a.deleteMessage)
	r.POST("/channels/:channel/messages/bulk-delete", a.auth, a.bulkDelete)
	r.GET("/channels/:channel/messages/:message/history", a.auth, a.messageHistory)

	r.PUT("/channels/:channel/messages/:message/reactions/:emoji/:user", a.auth, a.react)
	r.DELETE("/channels/:channel/messages/:message/reactions/:emoji/:user", a.auth, a.unreact)
	r.GET("/channels/:channel/messages/:message/reactions/:emoji", a.auth, a.reactionUsers)
	r.DELETE("/channels/:channel/messages/:message/reactions/:emoji", a.auth, a.clearEmoji)
	r.DELETE("/channels/:channel/messages/:message/reactions", a.auth, a.clearReactions)

	r.GET("/channels/:channel/pins", a.auth, a.pins)
	r.PUT("/channels/:channel/pins/:message", a.auth, a.pin)
	r.DELETE("/channels/:channel/pins/:message", a.auth, a.unpin)
	r.POST("/channels/:channel/typing", a.auth, a.typing)

	r.GET("/guilds/:guild/messages/search", a.auth, a.search)

	r.POST("/users/@me/channels", a.auth, a.openDM)
	r.GET("/users/@me/channels", a.auth, a.dmChannels)
	r.PUT("/channels/:channel/recipients/:user", a.auth, a.addRecipient)
	r.DELETE("/channels/:channel/recipients/:user", a.auth, a.removeRecipient)
}

// uploadLimit lets a send carry its files: ten of the largest size, plus
// the JSON.
func (a *API) uploadLimit(c *gin.Context) {
	c.Set(maxBodyKey, homeserver.MaxFiles*a.maxUpload+(2<<20))
	c.Next()
}

// messageBody reads the JSON of a send (the body, or multipart's
// payload_json) into a MessageCreate.
func messageBody(f *form) homeserver.MessageCreate {
	in := homeserver.MessageCreate{
		Content: f.String("content", false).Value, TTS: f.Bool("tts").Value,
		EnforceNonce: f.Bool("enforce_nonce").Value, Flags: f.Int("flags").Value,
	}
	if raw, ok := f.fields["nonce"]; ok && !isNull(raw) {
		var n json.Number
		if err := json.Unmarshal(raw, &n); err == nil {
			in.Nonce, in.NonceIsInt = n.String(), true
		} else if s := f.String("nonce", false); s.Set {
			in.Nonce = s.Value
		}
	}
	if raw, ok := f.fields["embeds"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &in.Embeds); err != nil {
			f.v.Add("embeds", "BASE_TYPE_ARRAY", "Must be an array.")
		}
	} else if raw, ok := f.fields["embed"]; ok && !isNull(raw) {
		in.Embeds = []json.RawMessage{raw} // the v6 single embed, still sent by old libraries
	}
	if raw, ok := f.fields["components"]; ok && !isNull(raw) {
		if err := decodeJSON(raw, &in.Components); err != nil {
			f.v.Add("components", "BASE_TYPE_ARRAY", "Must be an array of components.")
		}
	}
	if raw, ok := f.fields["message_reference"]; ok && !isNull(raw) {
		var ref struct {
			MessageID       snowflake.ID `json:"message_id"`
			FailIfNotExists *bool        `json:"fail_if_not_exists"`
		}
		if err := json.Unmarshal(raw, &ref); err != nil {
			f.v.Add("message_reference", "MODEL_TYPE_CONVERT", "Invalid message reference.")
		}
		in.ReplyTo = ref.MessageID
		in.FailIfNotExists = ref.FailIfNotExists == nil || *ref.FailIfNotExists
	}
	// A reply pings its author unless allowed_mentions is given without
	// replied_user: true, as on Discord.
	if raw, ok := f.fields["allowed_mentions"]; ok && !isNull(raw) {
		var am struct {
			RepliedUser bool           `json:"replied_user"`
			Parse       []string       `json:"parse"`
			Users       []snowflake.ID `json:"users"`
			Roles       []snowflake.ID `json:"roles"`
		}
		if err := json.Unmarshal(raw, &am); err != nil {
			f.v.Add("allowed_mentions", "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType.")
		}
		in.NoReplyPing = !am.RepliedUser
		in.AllowedMentions = &homeserver.AllowedMentions{Parse: am.Parse, Users: am.Users, Roles: am.Roles}
	}
	return in
}

var filesField = regexp.MustCompile(`^files\[(\d+)\]$|^file(\d*)$`)

// attachmentMeta is payload_json's description of an uploaded file.
type attachmentMeta struct {
	ID          json.Number `json:"id"`
	Filename    string      `json:"filename"`
	Description string      `json:"description"`
}

func (a *API) sendMessage(c *gin.Context) {
	ids, ok := a.ids(c, "channel")
	if !ok {
		return
	}
	ct, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	var in homeserver.MessageCreate
	if ct == "multipart/form-data" {
		if err := a.hs.CanUpload(reqCtx(c), principal(c), ids[0]); err != nil {
			a.fail(c, err)
			return
		}
		var err error
		if in, err = a.readMultipart(c); err != nil {
			a.fail(c, err)
			return
		}
	} else {
		f, ok := a.form(c)
		if !ok {
			return
		}
		in = messageBody(f)
		if err := f.Err(); err != nil {
			a.fail(c, err)
			return
		}
	}
	m, err := a.hs.SendMessage(reqCtx(c), principal(c), ids[0], in)
	a.reply(c, http.StatusOK, m, err)
}

// readMultipart streams a multipart send: payload_json (or plain content
// fields) and files[n], each file straight to the data dir.
func (a *API) readMultipart(c *gin.Context) (in homeserver.MessageCreate, err error) {
	return a.readMultipartWith(c, nil)
}

// readMultipartWith is readMultipart that also hands the send's JSON to
// extra (a webhook's username, avatar_url...), when extra is set.
func (a *API) readMultipartWith(c *gin.Context, extra func(*form)) (in homeserver.MessageCreate, err error) {
	limitedBody(c)
	mr, err := c.Request.MultipartReader()
	if err != nil {
		return homeserver.MessageCreate{}, fmt.Errorf("%w: %w", errMalformedJSON, err)
	}
	var (
		meta  []attachmentMeta
		files = map[int]homeserver.Upload{}
		order []int
		plain = &form{fields: map[string]json.RawMessage{}}
	)
	defer func() {
		if err != nil {
			// The send will not happen: its uploads go.
			for _, up := range files {
				a.hs.DiscardUploads([]homeserver.Upload{up})
			}
		}
	}()
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return in, errBodyTooLarge
			}
			return in, fmt.Errorf("%w: %w", errMalformedJSON, err)
		}
		name := part.FormName()
		if m := filesField.FindStringSubmatch(name); m != nil && part.FileName() != "" {
			if len(files) >= homeserver.MaxFiles {
				return in, homeserver.Invalid("files", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", homeserver.MaxFiles))
			}
			n, _ := strconv.Atoi(m[1] + m[2])
			up, err := a.storePart(part)
			if err != nil {
				return in, err
			}
			if prev, dup := files[n]; !dup {
				order = append(order, n)
			} else {
				a.hs.DiscardUploads([]homeserver.Upload{prev})
			}
			files[n] = up
			continue
		}
		value, err := io.ReadAll(io.LimitReader(part, 1<<20))
		if err != nil {
			return in, fmt.Errorf("%w: %w", errMalformedJSON, err)
		}
		if name == "payload_json" {
			f := &form{fields: map[string]json.RawMessage{}}
			if err := json.Unmarshal(value, &f.fields); err != nil || f.fields == nil {
				return in, errMalformedJSON
			}
			in = messageBody(f)
			if extra != nil {
				extra(f)
			}
			if raw, ok := f.fields["attachments"]; ok {
				_ = json.Unmarshal(raw, &meta)
			}
			if err := f.Err(); err != nil {
				return in, err
			}
			continue
		}
		b, _ := json.Marshal(string(value))
		plain.fields[name] = b
	}
	if in.Content == "" && in.Nonce == "" && len(plain.fields) > 0 {
		in = messageBody(plain)
		if extra != nil {
			extra(plain)
		}
	}
	for _, n := range order {
		up := files[n]
		for _, m := range meta {
			if m.ID.String() == strconv.Itoa(n) {
				if m.Filename != "" {
					up.Filename = homeserver.SanitiseFilename(m.Filename)
				}
				up.Description = m.Description
			}
		}
		in.Files = append(in.Files, up)
	}
	return in, nil
}

// readErrors passes reads through and remembers the first error other
// than io.EOF: the request body's failure, told apart from the failures of
// what reads it.
type readErrors struct {
	r   io.Reader
	err error
}

// storePart stores a multipart body's file part. A body that breaks off
// mid-file is the client's fault, not the store's (FuzzRESTMultipartRaw
// found it answered 500), and one over the limit too large; a store that
// fails on a whole file is the server's.
func (a *API) storePart(part *multipart.Part) (homeserver.Upload, error) {
	body := &readErrors{r: part}
	up, err := a.hs.StoreUpload(body, part.FileName())
	if err == nil {
		return up, nil
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) || errors.As(body.err, &tooLarge) {
		return up, errBodyTooLarge
	}
	if body.err != nil {
		return up, fmt.Errorf("%w: %w", errMalformedJSON, body.err)
	}
	return up, err
}

func (r *readErrors) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

func (a *API) messages(c *gin.Context) {
	ids, ok := a.ids(c, "channel")
	if !ok {
		return
	}
	var q homeserver.HistoryQuery
	var err error
	if q.Before, err = queryID(c, "before"); err == nil {
		if q.After, err = queryID(c, "after"); err == nil {
			if q.Around, err = queryID(c, "around"); err == nil {
				q.Limit, err = queryInt(c, "limit", 50)
			}
		}
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	ms, err := a.hs.Messages(reqCtx(c), principal(c), ids[0], q)
	a.reply(c, http.StatusOK, ms, err)
}

func (a *API) message(c *gin.Context) {
	a.run(c, http.StatusOK, func(ids []snowflake.ID) (any, error) {
		return a.hs.Message(reqCtx(c), principal(c), ids[0], ids[1])
	}, "channel", "message")
}

func (a *API) editMessage(c *gin.Context) {
	a.runForm(c, http.StatusOK, func(ids []snowflake.ID, f *form) func() (any, error) {
		e := messageEditOf(f)
		if raw, ok := f.fields["components"]; ok {
			var comps []discord.Component
			if !isNull(raw) {
				if err := decodeJSON(raw, &comps); err != nil {
					f.v.Add("components", "BASE_TYPE_ARRAY", "Must be an array of components.")
				}
			}
			e.Components = homeserver.Optional[[]discord.Component]{Set: true, Value: comps}
		}
		return func() (any, error) { return a.hs.EditMessage(reqCtx(c), principal(c), ids[0], ids[1], e) }
	}, "channel", "message")
}

// messageEditOf reads an edit's body (a message's, or a webhook
// message's).
func messageEditOf(f *form) homeserver.MessageEdit {
	e := homeserver.MessageEdit{Content: f.String("content", false), Flags: f.Int("flags")}
	if e.Content.Null {
		e.Content = homeserver.Optional[string]{Set: true}
	}
	if raw, ok := f.fields["embeds"]; ok {
		var embeds []json.RawMessage
		if !isNull(raw) {
			if err := json.Unmarshal(raw, &embeds); err != nil {
				f.v.Add("embeds", "BASE_TYPE_ARRAY", "Must be an array.")
			}
		}
		e.Embeds = homeserver.Optional[[]json.RawMessage]{Set: true, Value: embeds}
	}
	if items, ok := f.Objects("attachments"); ok {
		keep := make([]snowflake.ID, 0, len(items))
		for _, it := range items {
			keep = append(keep, it.ID("id").Value)
		}
		e.Attachments = homeserver.Optional[[]snowflake.ID]{Set: true, Value: keep}
	}
	return e
}

func (a *API) deleteMessage(c *gin.Context) {
	a.run(c, http.StatusNoContent, func(ids []snowflake.ID) (any, error) {
		return nil, a.hs.DeleteMessage(reqCtx(c), principal(c), ids[0], ids[1])
	}, "channel", "message")
}

func (a *API) bulkDelete(c *gin.Context) {
	a.runForm(c, http.StatusNoContent, func(ids []snowflake.ID, f *form) func() (any, error) {
		msgs := f.IDs("messages")
		if !msgs.Set || msgs.Null {
			f.v.Add("messages", "BASE_TYPE_REQUIRED", "This field is required")
		}
		return func() (any, error) { return nil, a.hs.BulkDelete(reqCtx(c), principal(c), ids[0], msgs.Value) }
	}, "channel")
}

func (a *API) messageHistory(c *gin.Context) {
	a.run(c, http.StatusOK, func(ids []snowflake.ID) (any, error) {
		return a.hs.MessageHistory(reqCtx(c), principal(c), ids[0], ids[1])
	}, "channel", "message")
}

// emojiParam is the {emoji} of a reaction route, URL-decoded once more in
// case a client encoded it twice.
func emojiParam(c *gin.Context) string {
	e := c.Param("emoji")
	if dec, err := url.PathUnescape(e); err == nil {
		e = dec
	}
	return e
}

func (a *API) react(c *gin.Context) {
	ids, ok := a.ids(c, "channel", "message")
	if !ok {
		return
	}
	if c.Param("user") != "@me" {
		notFound(c)
		return
	}
	a.reply(c, http.StatusNoContent, nil, reactionErr(a.hs.React(reqCtx(c), principal(c), ids[0], ids[1], emojiParam(c))))
}

func (a *API) unreact(c *gin.Context) {
	a.run(c, http.StatusNoContent, func(ids []snowflake.ID) (any, error) {
		return nil, reactionErr(a.hs.Unreact(reqCtx(c), principal(c), ids[0], ids[1], emojiParam(c), ids[2]))
	}, "channel", "message", "user")
}

func (a *API) reactionUsers(c *gin.Context) {
	ids, ok := a.ids(c, "channel", "message")
	if !ok {
		return
	}
	after, limit, ok := a.page(c, 25)
	if !ok {
		return
	}
	us, err := a.hs.ReactionUsers(reqCtx(c), principal(c), ids[0], ids[1], emojiParam(c), after, limit)
	a.reply(c, http.StatusOK, us, reactionErr(err))
}

func (a *API) clearEmoji(c *gin.Context) {
	a.run(c, http.StatusNoContent, func(ids []snowflake.ID) (any, error) {
		return nil, reactionErr(a.hs.ClearReactions(reqCtx(c), principal(c), ids[0], ids[1], emojiParam(c)))
	}, "channel", "message")
}

func (a *API) clearReactions(c *gin.Context) {
	a.run(c, http.StatusNoContent, func(ids []snowflake.ID) (any, error) {
		return nil, a.hs.ClearReactions(reqCtx(c), principal(c), ids[0], ids[1], "")
	}, "channel", "message")
}

func (a *API) pins(c *gin.Context) {
	a.run(c, http.StatusOK, func(ids []snowflake.ID) (any, error) {
		return a.hs.Pins(reqCtx(c), principal(c), ids[0])
	}, "channel")
}

func (a *API) pin(c *gin.Context) {
	a.run(c, http.StatusNoContent, func(ids []snowflake.ID) (any, error) {
		return nil, a.hs.Pin(reqCtx(c), principal(c), ids[0], ids[1])
	}, "channel", "message")
}

func (a *API) unpin(c *gin.Context) {
	a.run(c, http.StatusNoContent, func(ids []snowflake.ID) (any, error) {
		return nil, a.hs.Unpin(reqCtx(c), principal(c), ids[0], ids[1])
	}, "channel", "message")
}

func (a *API) typing(c *gin.Context) {
	a.run(c, http.StatusNoContent, func(ids []snowflake.ID) (any, error) {
		return nil, a.hs.Typing(reqCtx(c), principal(c), ids[0])
	}, "channel")
}

// search is Discord's guild search: content, author_id, channel_id
// (repeatable), has=file|link, min_id/max_id or Hearth's before/after
// dates, offset, limit.
func (a *API) search(c *gin.Context) {
	ids, ok := a.ids(c, "guild")
	if !ok {
		return
	}
	q := homeserver.SearchQuery{Text: clipValueN(c.Query("content"), 512)}
	var err error
	fail := func(e error) bool {
		if e != nil && err == nil {
			err = e
		}
		return err != nil
	}
	q.AuthorID, err = queryID(c, "author_id")
	for _, raw := range c.QueryArray("channel_id") {
		id, e := snowflake.Parse(raw)
		if fail(e) {
			break
		}
		q.ChannelIDs = append(q.ChannelIDs, id)
	}
	for _, has := range c.QueryArray("has") {
		switch has {
		case "file", "attachment", "image":
			q.HasFile = true
		case "link":
			q.HasLink = true
		default:
			fail(homeserver.Invalid("has", "BASE_TYPE_CHOICES", "Value must be one of {file, link}."))
		}
	}
	if v, e := queryID(c, "max_id"); !fail(e) {
		q.Before = v
	}
	if v, e := queryID(c, "min_id"); !fail(e) {
		q.After = v
	}
	for _, bound := range []struct {
		name string
		into *snowflake.ID
	}{{"before", &q.Before}, {"after", &q.After}} {
		if raw := c.Query(bound.name); raw != "" {
			t, e := time.Parse(time.RFC3339, raw)
			if e != nil {
				t, e = time.Parse("2006-01-02", raw)
			}
			if e != nil {
				fail(homeserver.Invalid(bound.name, "DATE_TIME_TYPE_PARSE", "Use an ISO 8601 date."))
				continue
			}
			id := snowflake.FromTime(t)
			if id == 0 && bound.name == "before" {
				id = 1 // before Discord's epoch: nothing can match
			}
			*bound.into = id
		}
	}
	if v, e := queryInt(c, "offset", 0); !fail(e) {
		q.Offset = v
	}
	if v, e := queryInt(c, "limit", 25); !fail(e) {
		q.Limit = v
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	res, err := a.hs.Search(reqCtx(c), principal(c), ids[0], q)
	a.reply(c, http.StatusOK, res, err)
}

func clipValueN(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func (a *API) openDM(c *gin.Context) {
	f, ok := a.form(c)
	if !ok {
		return
	}
	recipient := f.ID("recipient_id")
	recipients := f.IDs("recipients")
	name := f.String("name", false)
	// Hearth's extension: "recipient": "name@server", for a user one has
	// no ID of yet (on another homeserver, typically).
	handle := f.String("recipient", false)
	// And "recipient_handles": ["name@server", ...] for a group DM with
	// such people, besides or instead of "recipients".
	handles := f.Strings("recipient_handles", false)
	if err := f.Err(); err != nil {
		a.fail(c, err)
		return
	}
	switch {
	case handle.Set && handle.Value != "":
		ch, err := a.hs.OpenDMWith(reqCtx(c), principal(c), handle.Value)
		a.reply(c, http.StatusOK, ch, err)
	case recipient.Set && !recipient.Null:
		ch, err := a.hs.OpenDM(reqCtx(c), principal(c), recipient.Value)
		a.reply(c, http.StatusOK, ch, err)
	case recipients.Set && len(recipients.Value) == 1 && len(handles) == 0 && !name.Set:
		ch, err := a.hs.OpenDM(reqCtx(c), principal(c), recipients.Value[0])
		a.reply(c, http.StatusOK, ch, err)
	case recipients.Set || len(handles) > 0:
		ch, err := a.hs.CreateGroupDM(reqCtx(c), principal(c), homeserver.GroupDMCreate{Recipients: recipients.Value, Handles: handles, Name: name.Value})
		a.reply(c, http.StatusOK, ch, err)
	default:
		a.fail(c, homeserver.Invalid("recipient_id", "BASE_TYPE_REQUIRED", "This field is required"))
	}
}

func (a *API) dmChannels(c *gin.Context) {
	cs, err := a.hs.DMChannels(reqCtx(c), principal(c))
	a.reply(c, http.StatusOK, cs, err)
}

func (a *API) addRecipient(c *gin.Context) {
	a.run(c, http.StatusNoContent, func(ids []snowflake.ID) (any, error) {
		return nil, a.hs.AddRecipient(reqCtx(c), principal(c), ids[0], ids[1])
	}, "channel", "user")
}

func (a *API) removeRecipient(c *gin.Context) {
	a.run(c, http.StatusNoContent, func(ids []snowflake.ID) (any, error) {
		return nil, a.hs.RemoveRecipient(reqCtx(c), principal(c), ids[0], ids[1])
	}, "channel", "user")
}

// attachment serves /attachments/{channel}/{attachment}/{filename}: the
// type read from the bytes at upload; images, audio, video and plain text
// inline, everything else as a download; never sniffed by the browser and
// never able to run script; images scaled when the request asks
// (serveScaled).
func (a *API) attachment(c *gin.Context) {
	ch, err1 := snowflake.Parse(c.Param("channel"))
	id, err2 := snowflake.Parse(c.Param("attachment"))
	if err1 != nil || err2 != nil {
		notFound(c)
		return
	}
	f, name, err := a.hs.AttachmentFile(c.Request.Context(), ch, id, c.Query("hm"))
	if err != nil {
		if errors.Is(err, homeserver.ErrNotFound) {
			notFound(c)
			return
		}
		a.fail(c, err)
		return
	}
	defer f.Close()
	headers := func(h http.Header, contentType string) {
		h.Set("Content-Type", contentType)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
		h.Set("Cache-Control", "public, max-age=86400")
	}
	if a.serveScaled(c, f, func(h http.Header, contentType string) {
		headers(h, contentType)
		h.Set("Content-Disposition", attachmentDisposition(contentType, scaledName(name, contentType)))
	}) {
		return
	}
	headers(c.Writer.Header(), f.ContentType)
	c.Writer.Header().Set("Content-Disposition", attachmentDisposition(f.ContentType, name))
	http.ServeContent(c.Writer, c.Request, "", time.Time{}, f)
}

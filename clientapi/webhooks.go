package clientapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"hearth/homeserver"
	"hearth/snowflake"
)

// Per-webhook rate limit of the token routes, counted per webhook whoever
// calls (Discord's headers; bucket "webhook:<id>").
const (
	webhookLimit  = 10
	webhookWindow = 2 * time.Second
)

// routesWebhooks registers every webhook route, in one place.
//
// The token routes (/webhooks/:webhook/:token and below) are also those of
// interaction follow-ups (/webhooks/{application}/{token},
// .../messages/@original), as on Discord: the token's form decides which
// is meant (byToken), and a follow-up is not counted against a webhook.
func (a *API) routesWebhooks(r *gin.RouterGroup) {
	r.POST("/channels/:channel/webhooks", a.auth, a.bodyLimit(profileMaxBody), a.webhookCreate)
	r.GET("/channels/:channel/webhooks", a.auth, a.channelWebhooks)
	r.GET("/guilds/:guild/webhooks", a.auth, a.guildWebhooks)
	r.GET("/webhooks/:webhook", a.auth, a.webhookGet)
	r.PATCH("/webhooks/:webhook", a.auth, a.bodyLimit(profileMaxBody), a.webhookUpdate)
	r.DELETE("/webhooks/:webhook", a.auth, a.webhookDelete)

	r.GET("/webhooks/:webhook/:token", byToken(a.followupWebhook, a.limitWebhook, a.webhookTokenGet))
	r.PATCH("/webhooks/:webhook/:token", a.limitWebhook, a.bodyLimit(profileMaxBody), a.webhookTokenUpdate)
	r.DELETE("/webhooks/:webhook/:token", a.limitWebhook, a.webhookTokenDelete)
	r.POST("/webhooks/:webhook/:token", byToken(a.followupCreate, a.limitWebhook, a.uploadLimit, a.webhookExecute))
	r.POST("/webhooks/:webhook/:token/slack", a.limitWebhook, a.webhookExecuteSlack)
	// GitHub's events carry whole commit lists and bodies: a larger bound.
	r.POST("/webhooks/:webhook/:token/github", a.limitWebhook, a.bodyLimit(githubMaxBody), a.webhookExecuteGitHub)
	r.GET("/webhooks/:webhook/:token/messages/:message", byToken(a.followupMessage, a.limitWebhook, a.webhookMessageGet))
	r.PATCH("/webhooks/:webhook/:token/messages/:message", byToken(a.followupMessageEdit, a.limitWebhook, a.webhookMessageEdit))
	r.DELETE("/webhooks/:webhook/:token/messages/:message", byToken(a.followupMessageDelete, a.limitWebhook, a.webhookMessageDelete))
}

// byToken serves a route shared by interaction follow-ups and webhooks:
// an interaction token goes to followup, any other token through the
// webhook's handlers in order (each may end the request).
func byToken(followup gin.HandlerFunc, webhook ...gin.HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		if homeserver.IsInteractionToken(c.Param("token")) {
			followup(c)
			return
		}
		for _, h := range webhook {
			h(c)
			if c.IsAborted() {
				return
			}
		}
	}
}

// limitWebhook counts a token route against its webhook, as Discord does,
// so that a webhook's URL handed to many senders is limited as one.
func (a *API) limitWebhook(c *gin.Context) {
	if !a.rateLimit {
		c.Next()
		return
	}
	key := "webhook:" + c.Param("webhook")
	res := a.webhookLimits.Take(key)
	writeRateLimit(c, res, key)
	if !res.Allowed {
		tooManyRequests(c, res, "shared")
		return
	}
	c.Next()
}

// webhookIn reads a webhook's create or change body.
func webhookIn(f *form) homeserver.WebhookIn {
	in := homeserver.WebhookIn{Name: f.String("name", false), Avatar: f.String("avatar", false)}
	if id := f.ID("channel_id"); id.Set {
		in.ChannelID = id.Value
	}
	return in
}

func (a *API) webhookCreate(c *gin.Context) {
	a.runForm(c, http.StatusOK, func(ids []snowflake.ID, f *form) func() (any, error) {
		in := webhookIn(f)
		return func() (any, error) { return a.hs.CreateWebhook(reqCtx(c), principal(c), ids[0], in) }
	}, "channel")
}

func (a *API) channelWebhooks(c *gin.Context) {
	a.run(c, http.StatusOK, func(ids []snowflake.ID) (any, error) {
		return a.hs.ChannelWebhooks(reqCtx(c), principal(c), ids[0])
	}, "channel")
}

func (a *API) guildWebhooks(c *gin.Context) {
	a.run(c, http.StatusOK, func(ids []snowflake.ID) (any, error) {
		return a.hs.GuildWebhooks(reqCtx(c), principal(c), ids[0])
	}, "guild")
}

func (a *API) webhookGet(c *gin.Context) {
	a.run(c, http.StatusOK, func(ids []snowflake.ID) (any, error) {
		p := principal(c)
		return a.hs.Webhook(reqCtx(c), &p, ids[0], "")
	}, "webhook")
}

func (a *API) webhookUpdate(c *gin.Context) {
	a.runForm(c, http.StatusOK, func(ids []snowflake.ID, f *form) func() (any, error) {
		in := webhookIn(f)
		return func() (any, error) {
			p := principal(c)
			return a.hs.UpdateWebhook(reqCtx(c), &p, ids[0], "", in)
		}
	}, "webhook")
}

func (a *API) webhookDelete(c *gin.Context) {
	a.run(c, http.StatusNoContent, func(ids []snowflake.ID) (any, error) {
		p := principal(c)
		return nil, a.hs.DeleteWebhook(reqCtx(c), &p, ids[0], "")
	}, "webhook")
}

func (a *API) webhookTokenGet(c *gin.Context) {
	a.run(c, http.StatusOK, func(ids []snowflake.ID) (any, error) {
		return a.hs.Webhook(reqCtx(c), nil, ids[0], c.Param("token"))
	}, "webhook")
}

func (a *API) webhookTokenUpdate(c *gin.Context) {
	a.runForm(c, http.StatusOK, func(ids []snowflake.ID, f *form) func() (any, error) {
		in := webhookIn(f)
		return func() (any, error) { return a.hs.UpdateWebhook(reqCtx(c), nil, ids[0], c.Param("token"), in) }
	}, "webhook")
}

func (a *API) webhookTokenDelete(c *gin.Context) {
	a.run(c, http.StatusNoContent, func(ids []snowflake.ID) (any, error) {
		return nil, a.hs.DeleteWebhook(reqCtx(c), nil, ids[0], c.Param("token"))
	}, "webhook")
}

// webhookExtras reads the fields of an execute beyond a send's.
type webhookExtras struct {
	username, avatarURL, threadName string
	// service: the Slack or GitHub form.
	service bool
}

func readWebhookExtras(f *form, x *webhookExtras) {
	x.username = f.String("username", false).Value
	x.avatarURL = f.String("avatar_url", false).Value
	x.threadName = f.String("thread_name", false).Value
}

// executeTarget reads an execute's webhook and its ?thread_id= (0 for
// none); on a bad one it has answered the request.
func (a *API) executeTarget(c *gin.Context) (ids []snowflake.ID, threadID snowflake.ID, ok bool) {
	if ids, ok = a.ids(c, "webhook"); !ok {
		return nil, 0, false
	}
	threadID, err := queryID(c, "thread_id")
	if err != nil {
		a.fail(c, err)
		return nil, 0, false
	}
	return ids, threadID, true
}

// webhookExecute posts through a webhook: JSON, or multipart with
// payload_json and files[n]. ?wait=true answers the message; without it
// the answer is 204, as on Discord.
func (a *API) webhookExecute(c *gin.Context) {
	ids, threadID, ok := a.executeTarget(c)
	if !ok {
		return
	}
	var x webhookExtras
	var in homeserver.MessageCreate
	ct, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if ct == "multipart/form-data" {
		// The token is checked before any file is stored.
		if _, err := a.hs.Webhook(reqCtx(c), nil, ids[0], c.Param("token")); err != nil {
			a.fail(c, err)
			return
		}
		var err error
		if in, err = a.readMultipartWith(c, func(f *form) { readWebhookExtras(f, &x) }); err != nil {
			a.fail(c, err)
			return
		}
	} else {
		f, ok := a.form(c)
		if !ok {
			return
		}
		in = messageBody(f)
		readWebhookExtras(f, &x)
		if err := f.Err(); err != nil {
			a.fail(c, err)
			return
		}
	}
	a.execute(c, ids[0], threadID, in, x)
}

// execute finishes an execute: the avatar fetched, the message posted.
func (a *API) execute(c *gin.Context, id, threadID snowflake.ID, in homeserver.MessageCreate, x webhookExtras) {
	wm := homeserver.WebhookMessage{MessageCreate: in, Username: x.username, ThreadID: threadID, ThreadName: x.threadName, Service: x.service}
	if x.avatarURL != "" {
		img, err := a.executeAvatar(c, id, x.avatarURL)
		if err != nil {
			a.hs.DiscardUploads(in.Files)
			a.fail(c, err)
			return
		}
		wm.AvatarImage = img
	}
	m, err := a.hs.ExecuteWebhook(reqCtx(c), id, c.Param("token"), wm)
	if err != nil {
		a.fail(c, err)
		return
	}
	if queryBool(c, "wait") {
		c.JSON(http.StatusOK, m)
		return
	}
	c.Status(http.StatusNoContent)
}

// executeAvatar fetches an execute's avatar_url once the webhook's token
// is known good: no one without it makes this server fetch what they name.
func (a *API) executeAvatar(c *gin.Context, id snowflake.ID, raw string) ([]byte, error) {
	if _, err := a.hs.Webhook(reqCtx(c), nil, id, c.Param("token")); err != nil {
		return nil, err
	}
	return a.fetchAvatar(c, raw)
}

// fetchAvatar fetches an execute's avatar_url through the client that
// refuses private and loopback addresses unless the operator allows them
// (--insecure-federation), bounded in size. The image is stored as the
// homeserver's own file: clients are never sent to the URL.
func (a *API) fetchAvatar(c *gin.Context, raw string) ([]byte, error) {
	bad := homeserver.Invalid("avatar_url", "URL_TYPE_INVALID_URL", "Not a well formed URL.")
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, bad
	}
	if a.fetch == nil {
		return nil, homeserver.Invalid("avatar_url", "AVATAR_INVALID", "This homeserver does not fetch avatars.")
	}
	req, err := http.NewRequestWithContext(c.Request.Context(), http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, bad
	}
	resp, err := a.fetch.Do(req)
	if err != nil {
		a.log.Info("webhook avatar fetch failed", "url", clipValueN(raw, 200), "err", err)
		return nil, homeserver.Invalid("avatar_url", "AVATAR_INVALID", "The avatar could not be fetched.")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, homeserver.Invalid("avatar_url", "AVATAR_INVALID", fmt.Sprintf("The avatar URL answered %d.", resp.StatusCode))
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, homeserver.WebhookAvatarMax+1))
	if err != nil || len(b) > homeserver.WebhookAvatarMax {
		return nil, homeserver.Invalid("avatar_url", "AVATAR_INVALID", "The avatar is too large or could not be read.")
	}
	return b, nil
}

// slackAttachment is one attachment of a Slack incoming webhook, the
// fields Discord maps to an embed.
type slackAttachment struct {
	Fallback   string `json:"fallback"`
	Color      string `json:"color"`
	Pretext    string `json:"pretext"`
	AuthorName string `json:"author_name"`
	AuthorLink string `json:"author_link"`
	AuthorIcon string `json:"author_icon"`
	Title      string `json:"title"`
	TitleLink  string `json:"title_link"`
	Text       string `json:"text"`
	Fields     []struct {
		Title string `json:"title"`
		Value string `json:"value"`
		Short bool   `json:"short"`
	} `json:"fields"`
	ImageURL   string          `json:"image_url"`
	ThumbURL   string          `json:"thumb_url"`
	Footer     string          `json:"footer"`
	FooterIcon string          `json:"footer_icon"`
	TS         json.RawMessage `json:"ts"`
}

// slackEmbed maps a Slack attachment to a Discord embed as Discord does:
// title and link, text as description, the hex colour, author, fields
// (short ones inline), image, thumbnail, footer and timestamp.
func slackEmbed(at slackAttachment) json.RawMessage {
	e := map[string]any{"type": "rich"}
	set := func(k, v string) {
		if v != "" {
			e[k] = v
		}
	}
	set("title", at.Title)
	set("url", at.TitleLink)
	desc := at.Text
	if desc == "" && at.Title == "" && len(at.Fields) == 0 {
		desc = at.Fallback
	}
	set("description", desc)
	if c := strings.TrimPrefix(at.Color, "#"); c != "" {
		if n, err := strconv.ParseInt(c, 16, 32); err == nil {
			e["color"] = n
		}
	}
	if at.AuthorName != "" {
		author := map[string]any{"name": at.AuthorName}
		if at.AuthorLink != "" {
			author["url"] = at.AuthorLink
		}
		if at.AuthorIcon != "" {
			author["icon_url"] = at.AuthorIcon
		}
		e["author"] = author
	}
	if len(at.Fields) > 0 {
		fields := make([]map[string]any, 0, len(at.Fields))
		for _, f := range at.Fields {
			fields = append(fields, map[string]any{"name": f.Title, "value": f.Value, "inline": f.Short})
		}
		e["fields"] = fields
	}
	if at.ImageURL != "" {
		e["image"] = map[string]any{"url": at.ImageURL}
	}
	if at.ThumbURL != "" {
		e["thumbnail"] = map[string]any{"url": at.ThumbURL}
	}
	if at.Footer != "" {
		footer := map[string]any{"text": at.Footer}
		if at.FooterIcon != "" {
			footer["icon_url"] = at.FooterIcon
		}
		e["footer"] = footer
	}
	if len(at.TS) > 0 {
		var ts float64
		var s string
		if json.Unmarshal(at.TS, &ts) != nil && json.Unmarshal(at.TS, &s) == nil {
			ts, _ = strconv.ParseFloat(s, 64)
		}
		if ts > 0 {
			e["timestamp"] = time.UnixMilli(int64(ts * 1000)).UTC().Format(time.RFC3339Nano)
		}
	}
	b, _ := json.Marshal(e) // maps of strings, numbers and bools always marshal
	return b
}

// readBody reads a request's body within the route's limit.
func readBody(c *gin.Context) ([]byte, error) {
	limitedBody(c)
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, errBodyTooLarge
		}
		return nil, fmt.Errorf("%w: %w", errMalformedJSON, err)
	}
	return body, nil
}

// serviceBody reads the JSON of a Slack or GitHub execute: the body, or,
// as both services may also send it, the form field named payload.
func serviceBody(c *gin.Context) ([]byte, error) {
	body, err := readBody(c)
	if err != nil {
		return nil, err
	}
	if ct, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type")); ct == "application/x-www-form-urlencoded" {
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, errMalformedJSON
		}
		body = []byte(vals.Get("payload"))
	}
	return body, nil
}

// webhookExecuteSlack is the Slack-compatible execute: text, username,
// icon_url and attachments (as embeds). It answers "ok" as Slack does
// (with ?wait=true, the message, as Discord).
func (a *API) webhookExecuteSlack(c *gin.Context) {
	ids, threadID, ok := a.executeTarget(c)
	if !ok {
		return
	}
	body, err := serviceBody(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	var msg struct {
		Text        string            `json:"text"`
		Username    string            `json:"username"`
		IconURL     string            `json:"icon_url"`
		Attachments []slackAttachment `json:"attachments"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		a.fail(c, errMalformedJSON)
		return
	}
	in := homeserver.MessageCreate{Content: msg.Text}
	for _, at := range msg.Attachments {
		in.Embeds = append(in.Embeds, slackEmbed(at))
	}
	x := webhookExtras{username: msg.Username, avatarURL: msg.IconURL, service: true}
	if queryBool(c, "wait") {
		a.execute(c, ids[0], threadID, in, x)
		return
	}
	wm := homeserver.WebhookMessage{MessageCreate: in, Username: x.username, ThreadID: threadID, Service: true}
	if x.avatarURL != "" {
		img, err := a.executeAvatar(c, ids[0], x.avatarURL)
		if err != nil {
			a.fail(c, err)
			return
		}
		wm.AvatarImage = img
	}
	if _, err := a.hs.ExecuteWebhook(reqCtx(c), ids[0], c.Param("token"), wm); err != nil {
		a.fail(c, err)
		return
	}
	c.Data(http.StatusOK, "text/html; charset=utf-8", []byte("ok"))
}

func (a *API) webhookMessageGet(c *gin.Context) {
	a.run(c, http.StatusOK, func(ids []snowflake.ID) (any, error) {
		thread, err := queryID(c, "thread_id")
		if err != nil {
			return nil, err
		}
		return a.hs.WebhookMessageGet(reqCtx(c), ids[0], c.Param("token"), thread, ids[1])
	}, "webhook", "message")
}

func (a *API) webhookMessageEdit(c *gin.Context) {
	a.runForm(c, http.StatusOK, func(ids []snowflake.ID, f *form) func() (any, error) {
		e := messageEditOf(f)
		return func() (any, error) {
			thread, err := queryID(c, "thread_id")
			if err != nil {
				return nil, err
			}
			return a.hs.WebhookMessageEdit(reqCtx(c), ids[0], c.Param("token"), thread, ids[1], e)
		}
	}, "webhook", "message")
}

func (a *API) webhookMessageDelete(c *gin.Context) {
	a.run(c, http.StatusNoContent, func(ids []snowflake.ID) (any, error) {
		thread, err := queryID(c, "thread_id")
		if err != nil {
			return nil, err
		}
		return nil, a.hs.WebhookMessageDelete(reqCtx(c), ids[0], c.Param("token"), thread, ids[1])
	}, "webhook", "message")
}

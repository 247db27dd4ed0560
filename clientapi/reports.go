package clientapi

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"hearth/discord"
	"hearth/homeserver"
	"hearth/snowflake"
)

// Reports of messages and users (Hearth's own routes; spec/client-api.md,
// "Reports").

func (a *API) routesReports(r *gin.RouterGroup) {
	r.POST("/reports", a.auth, a.createReport)
	r.GET("/guilds/:guild/reports", a.auth, a.guildReports)
	r.POST("/guilds/:guild/reports/:report/resolve", a.auth, a.resolveGuildReport)
	r.GET("/admin/reports", a.auth, a.adminReports)
	r.POST("/admin/reports/:report/resolve", a.auth, a.resolveAdminReport)
}

type reportJSON struct {
	ID         snowflake.ID  `json:"id"`
	Type       string        `json:"type"`
	Reporter   *discord.User `json:"reporter"`
	TargetUser *discord.User `json:"target_user"`
	GuildID    *snowflake.ID `json:"guild_id"`
	ChannelID  *snowflake.ID `json:"channel_id"`
	MessageID  *snowflake.ID `json:"message_id"`
	Reason     string        `json:"reason"`
	Content    *string       `json:"content"`
	CreatedAt  string        `json:"created_at"`
	ResolvedAt *string       `json:"resolved_at"`
	ResolvedBy *snowflake.ID `json:"resolved_by"`
	Resolution string        `json:"resolution"`
}

func idOrNil(id snowflake.ID) *snowflake.ID {
	if id == 0 {
		return nil
	}
	return &id
}

func (a *API) reportOut(ctx context.Context, r homeserver.Report) reportJSON {
	user := func(id snowflake.ID) *discord.User {
		u, err := a.hs.User(ctx, id)
		if err != nil {
			return nil
		}
		d := u.Discord()
		return &d
	}
	out := reportJSON{ID: r.ID, Type: r.Kind, Reporter: user(r.ReporterID), TargetUser: user(r.TargetUserID),
		GuildID: idOrNil(r.GuildID), ChannelID: idOrNil(r.ChannelID), MessageID: idOrNil(r.MessageID), Reason: r.Reason,
		CreatedAt: r.CreatedAt.UTC().Format(time.RFC3339Nano), ResolvedBy: idOrNil(r.ResolvedBy), Resolution: r.Resolution}
	if r.MessageID != 0 {
		c := r.Content
		out.Content = &c
	}
	if !r.ResolvedAt.IsZero() {
		at := r.ResolvedAt.UTC().Format(time.RFC3339Nano)
		out.ResolvedAt = &at
	}
	return out
}

func (a *API) reportsOut(ctx context.Context, rs []homeserver.Report) []reportJSON {
	out := make([]reportJSON, 0, len(rs))
	for _, r := range rs {
		out = append(out, a.reportOut(ctx, r))
	}
	return out
}

func (a *API) createReport(c *gin.Context) {
	f, err := readForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	channel, message, user := f.ID("channel_id"), f.ID("message_id"), f.ID("user_id")
	reason := f.String("reason", true)
	if err := f.Err(); err != nil {
		a.fail(c, err)
		return
	}
	r, err := a.hs.CreateReport(c.Request.Context(), principal(c), homeserver.ReportInput{
		ChannelID: channel.Value, MessageID: message.Value, UserID: user.Value, Reason: reason.Value})
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, a.reportOut(c.Request.Context(), r))
}

// reportQuery reads ?open=true&before=ID&limit=N (1–100, default 50).
func reportQuery(c *gin.Context) (homeserver.ReportQuery, error) {
	limit, err := queryInt(c, "limit", 50)
	if err != nil {
		return homeserver.ReportQuery{}, err
	}
	if limit < 1 || limit > 100 {
		return homeserver.ReportQuery{}, homeserver.Invalid("limit", "NUMBER_TYPE_MAX", "Must be between 1 and 100.")
	}
	before, err := queryID(c, "before")
	if err != nil {
		return homeserver.ReportQuery{}, err
	}
	return homeserver.ReportQuery{Open: c.Query("open") == "true", Before: before, Limit: limit}, nil
}

func (a *API) guildReports(c *gin.Context) {
	ids, ok := a.ids(c, "guild")
	if !ok {
		return
	}
	q, err := reportQuery(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	rs, err := a.hs.GuildReports(c.Request.Context(), principal(c), ids[0], q)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, a.reportsOut(c.Request.Context(), rs))
}

// resolution reads the optional {resolution} of a resolve.
func (a *API) resolution(c *gin.Context) (string, bool) {
	f, err := readForm(c)
	if err != nil {
		a.fail(c, err)
		return "", false
	}
	res := f.String("resolution", false)
	if err := f.Err(); err != nil {
		a.fail(c, err)
		return "", false
	}
	return res.Value, true
}

func (a *API) resolveGuildReport(c *gin.Context) {
	ids, ok := a.ids(c, "guild", "report")
	if !ok {
		return
	}
	res, ok := a.resolution(c)
	if !ok {
		return
	}
	r, err := a.hs.ResolveGuildReport(c.Request.Context(), principal(c), ids[0], ids[1], res)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, a.reportOut(c.Request.Context(), r))
}

func (a *API) adminReports(c *gin.Context) {
	adm, err := a.hs.Admin(c.Request.Context(), principal(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	q, err := reportQuery(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	rs, err := adm.Reports(c.Request.Context(), q)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, a.reportsOut(c.Request.Context(), rs))
}

func (a *API) resolveAdminReport(c *gin.Context) {
	adm, err := a.hs.Admin(c.Request.Context(), principal(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	ids, ok := a.ids(c, "report")
	if !ok {
		return
	}
	res, ok := a.resolution(c)
	if !ok {
		return
	}
	r, err := adm.ResolveReport(c.Request.Context(), ids[0], res)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, a.reportOut(c.Request.Context(), r))
}

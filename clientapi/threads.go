package clientapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"hearth/homeserver"
	"hearth/snowflake"
)

func (a *API) routesThreads(r *gin.RouterGroup) {
	r.POST("/channels/:channel/messages/:message/threads", a.auth, a.startThreadFromMessage)
	r.POST("/channels/:channel/threads", a.auth, a.startThread)
	r.GET("/channels/:channel/thread-members", a.auth, a.threadMembers)
	r.PUT("/channels/:channel/thread-members/:user", a.auth, a.joinThread)
	r.DELETE("/channels/:channel/thread-members/:user", a.auth, a.leaveThread)
	r.GET("/guilds/:guild/threads/active", a.auth, a.activeThreads)
	r.GET("/channels/:channel/threads/archived/public", a.auth, a.archivedThreads(false))
	r.GET("/channels/:channel/threads/archived/private", a.auth, a.archivedThreads(true))
}

func threadCreate(f *form) homeserver.ThreadCreate {
	in := homeserver.ThreadCreate{
		Name: f.String("name", true).Value, Type: f.Int("type").Value, AutoArchive: f.Int("auto_archive_duration").Value,
		Invitable: f.Bool("invitable"), RateLimitPerUser: f.Int("rate_limit_per_user").Value,
	}
	// A forum post's first message.
	if raw, ok := f.fields["message"]; ok && !isNull(raw) {
		sub := &form{fields: map[string]json.RawMessage{}}
		if json.Unmarshal(raw, &sub.fields) != nil || sub.fields == nil {
			f.v.Add("message", "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType.")
		} else {
			m := messageBody(sub)
			in.Message = &m
			f.merge("message.", sub)
		}
	}
	return in
}

func (a *API) startThreadFromMessage(c *gin.Context) {
	a.runForm(c, http.StatusCreated, func(ids []snowflake.ID, f *form) func() (any, error) {
		in := threadCreate(f)
		return func() (any, error) { return a.hs.StartThread(reqCtx(c), principal(c), ids[0], ids[1], in) }
	}, "channel", "message")
}

func (a *API) startThread(c *gin.Context) {
	a.runForm(c, http.StatusCreated, func(ids []snowflake.ID, f *form) func() (any, error) {
		in := threadCreate(f)
		return func() (any, error) { return a.hs.StartThread(reqCtx(c), principal(c), ids[0], 0, in) }
	}, "channel")
}

func (a *API) threadMembers(c *gin.Context) {
	a.run(c, http.StatusOK, func(ids []snowflake.ID) (any, error) {
		return a.hs.ThreadMembers(reqCtx(c), principal(c), ids[0])
	}, "channel")
}

func (a *API) joinThread(c *gin.Context) {
	a.run(c, http.StatusNoContent, func(ids []snowflake.ID) (any, error) {
		return nil, a.hs.JoinThread(reqCtx(c), principal(c), ids[0], ids[1])
	}, "channel", "user")
}

func (a *API) leaveThread(c *gin.Context) {
	a.run(c, http.StatusNoContent, func(ids []snowflake.ID) (any, error) {
		return nil, a.hs.LeaveThread(reqCtx(c), principal(c), ids[0], ids[1])
	}, "channel", "user")
}

func (a *API) activeThreads(c *gin.Context) {
	a.run(c, http.StatusOK, func(ids []snowflake.ID) (any, error) {
		return a.hs.ActiveThreads(reqCtx(c), principal(c), ids[0])
	}, "guild")
}

func (a *API) archivedThreads(private bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		ids, ok := a.ids(c, "channel")
		if !ok {
			return
		}
		limit, err := queryInt(c, "limit", 50)
		if err != nil {
			a.fail(c, err)
			return
		}
		var before time.Time
		if raw := c.Query("before"); raw != "" {
			if before, err = time.Parse(time.RFC3339Nano, raw); err != nil {
				a.fail(c, homeserver.Invalid("before", "DATE_TIME_TYPE_PARSE", "Use an ISO 8601 timestamp."))
				return
			}
		}
		l, err := a.hs.ArchivedThreads(reqCtx(c), principal(c), ids[0], private, before, limit)
		a.reply(c, http.StatusOK, l, err)
	}
}

// threadUpdate reads PATCH /channels/{id} for a thread.
func threadUpdate(f *form) homeserver.ThreadUpdate {
	return homeserver.ThreadUpdate{
		Name: f.String("name", false), Archived: f.Bool("archived"), Locked: f.Bool("locked"),
		AutoArchive: f.Int("auto_archive_duration"), Invitable: f.Bool("invitable"),
		RateLimitPerUser: f.Int("rate_limit_per_user"),
	}
}

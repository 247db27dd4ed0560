package clientapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"hearth/homeserver"
	"hearth/snowflake"
)

func (a *API) routesGuilds(r *gin.RouterGroup) {
	r.POST("/guilds", a.auth, a.bodyLimit(profileMaxBody), a.createGuild)
	r.GET("/guilds/:guild", a.auth, a.getGuild)
	r.PATCH("/guilds/:guild", a.auth, a.bodyLimit(profileMaxBody), a.updateGuild)
	r.DELETE("/guilds/:guild", a.auth, a.deleteGuild)
	r.GET("/users/@me/guilds", a.auth, a.myGuilds)
	r.DELETE("/users/@me/guilds/:guild", a.auth, a.leaveGuild)
	r.GET("/discovery/guilds", a.auth, a.discoverGuilds)

	r.GET("/guilds/:guild/channels", a.auth, a.guildChannels)
	r.POST("/guilds/:guild/channels", a.auth, a.createChannel)
	r.PATCH("/guilds/:guild/channels", a.auth, a.reorderChannels)
	r.GET("/channels/:channel", a.auth, a.getChannel)
	r.PATCH("/channels/:channel", a.auth, a.updateChannel)
	r.DELETE("/channels/:channel", a.auth, a.deleteChannel)
	r.PUT("/channels/:channel/permissions/:overwrite", a.auth, a.setOverwrite)
	r.DELETE("/channels/:channel/permissions/:overwrite", a.auth, a.deleteOverwrite)

	r.GET("/guilds/:guild/roles", a.auth, a.roles)
	r.POST("/guilds/:guild/roles", a.auth, a.bodyLimit(profileMaxBody), a.createRole)
	r.PATCH("/guilds/:guild/roles", a.auth, a.reorderRoles)
	r.PATCH("/guilds/:guild/roles/:role", a.auth, a.bodyLimit(profileMaxBody), a.updateRole)
	r.DELETE("/guilds/:guild/roles/:role", a.auth, a.deleteRole)

	r.GET("/guilds/:guild/members", a.auth, a.members)
	r.GET("/guilds/:guild/members/search", a.auth, a.searchMembers)
	r.GET("/guilds/:guild/members/:user", a.auth, a.member)
	r.PATCH("/guilds/:guild/members/:user", a.auth, a.updateMember)
	r.PUT("/guilds/:guild/members/:user", a.auth, a.joinPublicGuild)
	r.DELETE("/guilds/:guild/members/:user", a.auth, a.kick)
	r.PUT("/guilds/:guild/members/:user/roles/:role", a.auth, a.addMemberRole)
	r.DELETE("/guilds/:guild/members/:user/roles/:role", a.auth, a.removeMemberRole)

	r.GET("/guilds/:guild/bans", a.auth, a.bans)
	r.GET("/guilds/:guild/bans/:user", a.auth, a.getBan)
	r.PUT("/guilds/:guild/bans/:user", a.auth, a.ban)
	r.DELETE("/guilds/:guild/bans/:user", a.auth, a.unban)

	r.POST("/channels/:channel/invites", a.auth, a.createInvite)
	r.GET("/channels/:channel/invites", a.auth, a.channelInvites)
	r.GET("/guilds/:guild/invites", a.auth, a.guildInvites)
	r.GET("/invites/:code", a.getInvite)
	r.POST("/invites/:code", a.auth, a.acceptInvite)
	r.DELETE("/invites/:code", a.auth, a.deleteInvite)

	r.GET("/guilds/:guild/emojis", a.auth, a.emojis)
	r.POST("/guilds/:guild/emojis", a.auth, a.createEmoji)
	r.GET("/guilds/:guild/emojis/:emoji", a.auth, a.emoji)
	r.PATCH("/guilds/:guild/emojis/:emoji", a.auth, a.renameEmoji)
	r.DELETE("/guilds/:guild/emojis/:emoji", a.auth, a.deleteEmoji)

	r.GET("/guilds/:guild/audit-logs", a.auth, a.auditLog)
}

// ids reads the named path snowflakes; "@me" in a user position is the
// caller.
func (a *API) ids(c *gin.Context, names ...string) ([]snowflake.ID, bool) {
	out := make([]snowflake.ID, len(names))
	for i, n := range names {
		if (n == "user" || n == "application") && c.Param(n) == "@me" {
			// A bot's application has the bot's ID.
			out[i] = principal(c).User.ID
			continue
		}
		id, err := pathID(c, n)
		if err != nil {
			a.fail(c, err)
			return nil, false
		}
		out[i] = id
	}
	return out, true
}

// reqCtx is the request context with the audit log reason attached.
func reqCtx(c *gin.Context) context.Context {
	return homeserver.WithReason(c.Request.Context(), c.GetHeader("X-Audit-Log-Reason"))
}

// run answers a request on path IDs: it reads the named IDs ("@me" for a
// user is the caller), calls fn and answers its result with status, or its
// error.
func (a *API) run(c *gin.Context, status int, fn func(ids []snowflake.ID) (any, error), names ...string) {
	ids, ok := a.ids(c, names...)
	if !ok {
		return
	}
	v, err := fn(ids)
	a.reply(c, status, v, err)
}

// runForm is run for requests with a JSON body: parse reads the body's
// fields (recording any type errors in f) and returns the call to make
// once the body has proved valid.
func (a *API) runForm(c *gin.Context, status int, parse func(ids []snowflake.ID, f *form) func() (any, error), names ...string) {
	ids, ok := a.ids(c, names...)
	if !ok {
		return
	}
	f, ok := a.form(c)
	if !ok {
		return
	}
	call := parse(ids, f)
	if err := f.Err(); err != nil {
		a.fail(c, err)
		return
	}
	v, err := call()
	a.reply(c, status, v, err)
}

// reply answers v, or the error.
func (a *API) reply(c *gin.Context, status int, v any, err error) {
	if err != nil {
		a.fail(c, err)
		return
	}
	if status == http.StatusNoContent {
		c.Status(status)
		return
	}
	c.JSON(status, v)
}

// form reads the body, stopping the request on a malformed one.
func (a *API) form(c *gin.Context) (*form, bool) {
	f, err := readForm(c)
	if err != nil {
		a.fail(c, err)
		return nil, false
	}
	return f, true
}

func (a *API) createGuild(c *gin.Context) {
	f, ok := a.form(c)
	if !ok {
		return
	}
	in := homeserver.GuildCreate{Name: f.String("name", true).Value, Icon: f.String("icon", false).Value}
	if err := f.Err(); err != nil {
		a.fail(c, err)
		return
	}
	g, err := a.hs.CreateGuild(reqCtx(c), principal(c), in)
	a.reply(c, http.StatusCreated, g, err)
}

func (a *API) getGuild(c *gin.Context) {
	a.run(c, http.StatusOK, func(ids []snowflake.ID) (any, error) {
		return a.hs.Guild(reqCtx(c), principal(c), ids[0], homeserver.GuildOptions{WithCounts: queryBool(c, "with_counts")})
	}, "guild")
}

func (a *API) updateGuild(c *gin.Context) {
	a.runForm(c, http.StatusOK, func(ids []snowflake.ID, f *form) func() (any, error) {
		up := homeserver.GuildUpdate{
			Name: f.String("name", false), Icon: f.String("icon", false), Description: f.String("description", false),
			SystemChannelID: f.ID("system_channel_id"), VerificationLevel: f.Int("verification_level"),
			OwnerID: f.ID("owner_id"), Public: f.Bool("discoverable"),
		}
		if features, ok := f.fields["features"]; ok {
			// Discord clients send the whole feature list; DISCOVERABLE in it
			// is what makes a guild public.
			up.Public = homeserver.Optional[bool]{Set: true, Value: strings.Contains(string(features), `"DISCOVERABLE"`)}
		}
		return func() (any, error) { return a.hs.UpdateGuild(reqCtx(c), principal(c), ids[0], up) }
	}, "guild")
}

func (a *API) deleteGuild(c *gin.Context) {
	a.run(c, http.StatusNoContent, func(ids []snowflake.ID) (any, error) {
		return nil, a.hs.DeleteGuild(reqCtx(c), principal(c), ids[0])
	}, "guild")
}

func (a *API) myGuilds(c *gin.Context) {
	gs, err := a.hs.MyGuilds(reqCtx(c), principal(c), queryBool(c, "with_counts"))
	a.reply(c, http.StatusOK, gs, err)
}

func (a *API) leaveGuild(c *gin.Context) {
	a.run(c, http.StatusNoContent, func(ids []snowflake.ID) (any, error) {
		return nil, a.hs.LeaveGuild(reqCtx(c), principal(c), ids[0])
	}, "guild")
}

func (a *API) discoverGuilds(c *gin.Context) {
	after, limit, ok := a.page(c, 50)
	if !ok {
		return
	}
	gs, err := a.hs.DiscoverGuilds(reqCtx(c), c.Query("query"), after, limit)
	a.reply(c, http.StatusOK, gs, err)
}

func (a *API) joinPublicGuild(c *gin.Context) {
	if c.Param("user") != "@me" {
		// Adding another user needs OAuth2 (bots); not supported.
		a.fail(c, homeserver.ErrMissingPermission)
		return
	}
	a.run(c, http.StatusOK, func(ids []snowflake.ID) (any, error) {
		return a.hs.JoinPublicGuild(reqCtx(c), principal(c), ids[0])
	}, "guild")
}

func (a *API) auditLog(c *gin.Context) {
	ids, ok := a.ids(c, "guild")
	if !ok {
		return
	}
	var q homeserver.AuditQuery
	var err error
	if q.UserID, err = queryID(c, "user_id"); err == nil {
		if q.Before, err = queryID(c, "before"); err == nil {
			if q.After, err = queryID(c, "after"); err == nil {
				if q.ActionType, err = queryInt(c, "action_type", 0); err == nil {
					q.Limit, err = queryInt(c, "limit", 50)
				}
			}
		}
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	if q.Limit < 1 || q.Limit > 100 {
		a.fail(c, homeserver.Invalid("limit", "NUMBER_TYPE_MAX", "Must be between 1 and 100."))
		return
	}
	log, err := a.hs.AuditLog(reqCtx(c), principal(c), ids[0], q)
	a.reply(c, http.StatusOK, log, err)
}

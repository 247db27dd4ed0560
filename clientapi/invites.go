package clientapi

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"hearth/homeserver"
	"hearth/snowflake"
)

func (a *API) createInvite(c *gin.Context) {
	a.runForm(c, http.StatusOK, func(ids []snowflake.ID, f *form) func() (any, error) {
		in := homeserver.InviteCreate{
			MaxAge: f.Int("max_age"), MaxUses: f.Int("max_uses"),
			Temporary: f.Bool("temporary").Value, Unique: f.Bool("unique").Value,
		}
		return func() (any, error) { return a.hs.CreateInvite(reqCtx(c), principal(c), ids[0], in) }
	}, "channel")
}

func (a *API) channelInvites(c *gin.Context) {
	a.run(c, http.StatusOK, func(ids []snowflake.ID) (any, error) {
		return a.hs.ChannelInvites(reqCtx(c), principal(c), ids[0])
	}, "channel")
}

func (a *API) guildInvites(c *gin.Context) {
	a.run(c, http.StatusOK, func(ids []snowflake.ID) (any, error) {
		return a.hs.GuildInvites(reqCtx(c), principal(c), ids[0])
	}, "guild")
}

// getInvite previews an invite; no token is needed, as on Discord, except
// for another homeserver's (code@server), which is asked for a user.
func (a *API) getInvite(c *gin.Context) {
	var p homeserver.Principal
	if strings.Contains(c.Param("code"), "@") && c.GetHeader("Authorization") != "" {
		if !a.signIn(c) {
			return
		}
		p = principal(c)
	}
	inv, err := a.hs.GetInvite(reqCtx(c), p, c.Param("code"), queryBool(c, "with_counts"))
	a.reply(c, http.StatusOK, inv, err)
}

func (a *API) acceptInvite(c *gin.Context) {
	inv, err := a.hs.AcceptInvite(reqCtx(c), principal(c), c.Param("code"))
	a.reply(c, http.StatusOK, inv, err)
}

func (a *API) deleteInvite(c *gin.Context) {
	inv, err := a.hs.DeleteInvite(reqCtx(c), principal(c), c.Param("code"))
	a.reply(c, http.StatusOK, inv, err)
}

package clientapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"hearth/homeserver"
)

func (a *API) createInvite(c *gin.Context) {
	ids, ok := a.ids(c, "channel")
	if !ok {
		return
	}
	f, ok := a.form(c)
	if !ok {
		return
	}
	in := homeserver.InviteCreate{
		MaxAge: f.Int("max_age"), MaxUses: f.Int("max_uses"),
		Temporary: f.Bool("temporary").Value, Unique: f.Bool("unique").Value,
	}
	if err := f.Err(); err != nil {
		a.fail(c, err)
		return
	}
	inv, err := a.hs.CreateInvite(reqCtx(c), principal(c), ids[0], in)
	a.reply(c, http.StatusOK, inv, err)
}

func (a *API) channelInvites(c *gin.Context) {
	ids, ok := a.ids(c, "channel")
	if !ok {
		return
	}
	invs, err := a.hs.ChannelInvites(reqCtx(c), principal(c), ids[0])
	a.reply(c, http.StatusOK, invs, err)
}

func (a *API) guildInvites(c *gin.Context) {
	ids, ok := a.ids(c, "guild")
	if !ok {
		return
	}
	invs, err := a.hs.GuildInvites(reqCtx(c), principal(c), ids[0])
	a.reply(c, http.StatusOK, invs, err)
}

// getInvite previews an invite; no token is needed, as on Discord.
func (a *API) getInvite(c *gin.Context) {
	inv, err := a.hs.GetInvite(reqCtx(c), c.Param("code"), queryBool(c, "with_counts"))
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

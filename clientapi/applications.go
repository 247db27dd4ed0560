package clientapi

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"hearth/homeserver"
	"hearth/homeserver/permission"
	"hearth/snowflake"
)

func (a *API) routesApplications(r *gin.RouterGroup) {
	r.POST("/applications", a.auth, a.createApplication)
	r.GET("/applications", a.auth, a.applications)
	r.GET("/applications/:application", a.auth, a.application)
	r.GET("/oauth2/applications/@me", a.auth, a.ownApplication)
	r.PATCH("/applications/:application", a.auth, a.updateApplication)
	r.POST("/applications/:application/bot/reset", a.auth, a.resetBotToken)
	r.POST("/oauth2/authorize", a.auth, a.authorizeBot)
}

func (a *API) createApplication(c *gin.Context) {
	a.runForm(c, http.StatusCreated, func(_ []snowflake.ID, f *form) func() (any, error) {
		name := f.String("name", true)
		return func() (any, error) { return a.hs.CreateApplication(reqCtx(c), principal(c), name.Value) }
	})
}

func (a *API) applications(c *gin.Context) {
	apps, err := a.hs.Applications(reqCtx(c), principal(c))
	a.reply(c, http.StatusOK, apps, err)
}

// application answers GET /applications/{id}, and /applications/@me for
// a bot.
func (a *API) application(c *gin.Context) {
	a.run(c, http.StatusOK, func(ids []snowflake.ID) (any, error) {
		return a.hs.GetApplication(reqCtx(c), principal(c), ids[0])
	}, "application")
}

// ownApplication is the older name of /applications/@me that some
// libraries still call.
func (a *API) ownApplication(c *gin.Context) {
	app, err := a.hs.GetApplication(reqCtx(c), principal(c), 0)
	a.reply(c, http.StatusOK, app, err)
}

func (a *API) updateApplication(c *gin.Context) {
	a.runForm(c, http.StatusOK, func(ids []snowflake.ID, f *form) func() (any, error) {
		up := homeserver.ApplicationUpdate{
			Name: f.String("name", false), Description: f.String("description", false),
			Flags: f.Int("flags"), BotPublic: f.Bool("bot_public"),
			InteractionsURL: f.String("interactions_endpoint_url", false),
		}
		return func() (any, error) { return a.hs.UpdateApplication(reqCtx(c), principal(c), ids[0], up) }
	}, "application")
}

func (a *API) resetBotToken(c *gin.Context) {
	a.run(c, http.StatusOK, func(ids []snowflake.ID) (any, error) {
		tok, err := a.hs.ResetBotToken(reqCtx(c), principal(c), ids[0])
		return gin.H{"token": tok}, err
	}, "application")
}

// authorizeBot is the last step of Discord's OAuth2 bot authorisation:
// client_id, scope (which must hold "bot") and permissions come in the
// query, guild_id, permissions and authorize in the body.
func (a *API) authorizeBot(c *gin.Context) {
	f, ok := a.form(c)
	if !ok {
		return
	}
	appID, err := snowflake.Parse(c.Query("client_id"))
	if err != nil {
		f.v.Add("client_id", "BASE_TYPE_REQUIRED", "A valid client_id is required.")
	}
	if !strings.Contains(" "+c.Query("scope")+" ", " bot ") {
		f.v.Add("scope", "OAUTH2_SCOPE_INVALID", `Only the "bot" scope is supported.`)
	}
	perms := permission.Set(0)
	if q := c.Query("permissions"); q != "" {
		if perms, err = permission.Parse(q); err != nil {
			f.v.Add("permissions", "NUMBER_TYPE_COERCE", "Not a permission bitfield.")
		}
	}
	if p := f.Perms("permissions"); p.Set && !p.Null {
		perms = p.Value
	}
	guild := f.ID("guild_id")
	if !guild.Set || guild.Value == 0 {
		f.v.Add("guild_id", "BASE_TYPE_REQUIRED", "This field is required")
	}
	authorize := f.Bool("authorize")
	if err := f.Err(); err != nil {
		a.fail(c, err)
		return
	}
	if !authorize.Value {
		c.JSON(http.StatusOK, gin.H{"location": "/oauth2/authorized?error=access_denied"})
		return
	}
	_, err = a.hs.AuthorizeBot(reqCtx(c), principal(c), appID, guild.Value, perms)
	a.reply(c, http.StatusOK, gin.H{"location": "/oauth2/authorized"}, err)
}

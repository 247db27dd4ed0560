package clientapi

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"hearth/homeserver"
)

// Closing one's own account (Discord's routes; spec/client-api.md,
// "Closing an account").

func (a *API) routesClosure(r *gin.RouterGroup) {
	r.POST("/users/@me/delete", a.auth, a.closeMe(a.hs.DeleteAccount))
	r.POST("/users/@me/disable", a.auth, a.closeMe(a.hs.DisableAccount))
	r.GET("/users/@me/export", a.auth, a.exportMe)
}

// exportMe streams the caller's data as a zip. Once the first byte is
// sent the status is 200; a failure after that cuts the zip short (its
// directory is missing, so no reader takes it as whole) and is logged.
func (a *API) exportMe(c *gin.Context) {
	p := principal(c)
	x, err := a.hs.StartExport(c.Request.Context(), p)
	if err != nil {
		a.fail(c, err)
		return
	}
	defer x.Close()
	c.Header("Content-Type", "application/zip")
	c.Header("Content-Disposition", `attachment; filename="hearth-export-`+p.User.ID.String()+`.zip"`)
	c.Status(http.StatusOK)
	if err := x.WriteTo(c.Request.Context(), c.Writer); err != nil {
		a.log.Warn("export cut short", "user_id", p.User.ID, "err", err)
	}
}

// closeMe answers a closing with the password: 204, and the token the
// request came with no longer counts.
func (a *API) closeMe(close func(ctx context.Context, p homeserver.Principal, pw string) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		f, err := readForm(c)
		if err != nil {
			a.fail(c, err)
			return
		}
		pw := f.String("password", true)
		if err := f.Err(); err != nil {
			a.fail(c, err)
			return
		}
		closed := func() (struct{}, error) {
			return struct{}{}, close(c.Request.Context(), principal(c), pw.Value)
		}
		// A password given is a password guessed: limited as logins are.
		if _, ok := guess(a, c, passwordKey(c), closed); ok {
			c.Status(http.StatusNoContent)
		}
	}
}

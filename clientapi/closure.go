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
		if err := close(c.Request.Context(), principal(c), pw.Value); err != nil {
			a.fail(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	}
}

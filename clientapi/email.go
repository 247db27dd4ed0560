package clientapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// Email: adding an address confirmed by a mailed link, and resetting a
// forgotten password by one (spec/client-api.md, "Email").

func (a *API) routesEmail(r *gin.RouterGroup) {
	r.POST("/users/@me/email", a.auth, a.addEmail)
	r.GET("/users/@me/email", a.auth, a.myEmail)
	r.GET("/auth/email/confirm", a.confirmEmail)
	r.POST("/auth/email/confirm", a.confirmEmail)
	r.POST("/auth/forgot", a.forgotPassword)
	r.POST("/auth/reset", a.resetPassword)
}

type emailJSON struct {
	Email      string `json:"email"`
	VerifiedAt string `json:"verified_at"`
}

func (a *API) addEmail(c *gin.Context) {
	f, err := readForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	email, pw := f.String("email", true), f.String("password", true)
	if err := f.Err(); err != nil {
		a.fail(c, err)
		return
	}
	if err := a.hs.AddEmail(c.Request.Context(), principal(c), email.Value, pw.Value); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (a *API) myEmail(c *gin.Context) {
	e, err := a.hs.UserEmail(c.Request.Context(), principal(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, emailJSON{Email: e.Email, VerifiedAt: e.VerifiedAt.UTC().Format(time.RFC3339Nano)})
}

// confirmEmail takes the link's token from the query (a followed link) or
// the body.
func (a *API) confirmEmail(c *gin.Context) {
	tok := c.Query("token")
	if c.Request.Method == http.MethodPost {
		f, err := readForm(c)
		if err != nil {
			a.fail(c, err)
			return
		}
		t := f.String("token", true)
		if err := f.Err(); err != nil {
			a.fail(c, err)
			return
		}
		tok = t.Value
	}
	e, err := a.hs.ConfirmEmail(c.Request.Context(), tok)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, emailJSON{Email: e.Email, VerifiedAt: e.VerifiedAt.UTC().Format(time.RFC3339Nano)})
}

func (a *API) forgotPassword(c *gin.Context) {
	f, err := readForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	login := f.String("login", true)
	if err := f.Err(); err != nil {
		a.fail(c, err)
		return
	}
	if err := a.hs.ForgotPassword(c.Request.Context(), login.Value); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (a *API) resetPassword(c *gin.Context) {
	f, err := readForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	tok, pw := f.String("token", true), f.String("password", true)
	if err := f.Err(); err != nil {
		a.fail(c, err)
		return
	}
	key := c.ClientIP() + "\x00reset"
	if a.rateLimit {
		if res := a.logins.Take(key); !res.Allowed {
			tooManyRequests(c, res, "user")
			return
		}
	}
	t, err := a.hs.ResetPassword(c.Request.Context(), tok.Value, pw.Value, deviceOf(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	if a.rateLimit {
		a.logins.Refund(key)
	}
	c.JSON(http.StatusOK, tokenJSON{Token: t})
}

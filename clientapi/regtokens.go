package clientapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"hearth/homeserver"
	"hearth/snowflake"
)

// Registration tokens for registration by invitation (Hearth's own
// routes, with the other instance administration; spec/client-api.md).

func (a *API) routesRegistrationTokens(r *gin.RouterGroup) {
	r.GET("/admin/registration-tokens", a.auth, a.registrationTokens)
	r.POST("/admin/registration-tokens", a.auth, a.createRegistrationToken)
	r.DELETE("/admin/registration-tokens/:token", a.auth, a.revokeRegistrationToken)
}

type registrationTokenJSON struct {
	ID snowflake.ID `json:"id"`
	// Token is set only in the answer that made it.
	Token     string        `json:"token,omitempty"`
	Uses      int           `json:"uses"`
	MaxUses   int           `json:"max_uses"`
	ExpiresAt *string       `json:"expires_at"`
	CreatedAt string        `json:"created_at"`
	CreatedBy *snowflake.ID `json:"created_by"`
}

func registrationTokenOut(t homeserver.RegistrationToken, tok string) registrationTokenJSON {
	out := registrationTokenJSON{ID: t.ID, Token: tok, Uses: t.Uses, MaxUses: t.UsesAllowed, CreatedAt: t.CreatedAt.UTC().Format(time.RFC3339Nano)}
	if !t.ExpiresAt.IsZero() {
		e := t.ExpiresAt.UTC().Format(time.RFC3339Nano)
		out.ExpiresAt = &e
	}
	if t.CreatedBy != 0 {
		by := t.CreatedBy
		out.CreatedBy = &by
	}
	return out
}

func (a *API) registrationTokens(c *gin.Context) {
	adm, err := a.hs.Admin(c.Request.Context(), principal(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	ts, err := adm.RegistrationTokens(c.Request.Context())
	if err != nil {
		a.fail(c, err)
		return
	}
	out := make([]registrationTokenJSON, 0, len(ts))
	for _, t := range ts {
		out = append(out, registrationTokenOut(t, ""))
	}
	c.JSON(http.StatusOK, gin.H{"registration": a.hs.RegistrationMode(), "tokens": out})
}

func (a *API) createRegistrationToken(c *gin.Context) {
	adm, err := a.hs.Admin(c.Request.Context(), principal(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	f, err := readForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	uses, expiresIn := f.Int("max_uses"), f.Int("expires_in")
	if err := f.Err(); err != nil {
		a.fail(c, err)
		return
	}
	secs := expiresIn.Value
	if secs > int(homeserver.RegistrationTokenMaxTTL/time.Second) {
		secs = -1 // out of range, refused as such, before it could overflow
	}
	tok, t, err := adm.CreateRegistrationToken(c.Request.Context(), uses.Value, time.Duration(secs)*time.Second)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, registrationTokenOut(t, tok))
}

func (a *API) revokeRegistrationToken(c *gin.Context) {
	adm, err := a.hs.Admin(c.Request.Context(), principal(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	id, err := snowflake.Parse(c.Param("token"))
	if err != nil {
		a.fail(c, homeserver.ErrNotFound)
		return
	}
	if err := adm.RevokeRegistrationToken(c.Request.Context(), id); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

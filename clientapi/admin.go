package clientapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// Instance administration over the API (Hearth's own routes; see
// spec/client-api.md). The same operations are on the command line.

func (a *API) routesAdmin(r *gin.RouterGroup) {
	r.GET("/admin/federation-rules", a.auth, a.federationRules)
	r.PUT("/admin/federation-rules/:server", a.auth, a.setFederationRule)
	r.DELETE("/admin/federation-rules/:server", a.auth, a.deleteFederationRule)
	r.PUT("/admin/users/:user/badges/:badge", a.auth, a.setBadge(true))
	r.DELETE("/admin/users/:user/badges/:badge", a.auth, a.setBadge(false))
	a.routesRegistrationTokens(r)
}

// setBadge grants (PUT) or revokes (DELETE) one of this homeserver's
// badges; the answer is the user and their badges.
func (a *API) setBadge(on bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		adm, err := a.hs.Admin(c.Request.Context(), principal(c))
		if err != nil {
			a.fail(c, err)
			return
		}
		id, err := pathID(c, "user")
		if err != nil {
			a.fail(c, err)
			return
		}
		u, err := adm.SetBadge(c.Request.Context(), id, c.Param("badge"), on)
		if err != nil {
			a.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"user": u.Discord(), "badges": a.hs.Badges(u)})
	}
}

type federationRuleJSON struct {
	Server    string `json:"server"`
	Rule      string `json:"rule"`
	CreatedAt string `json:"created_at"`
}

func (a *API) federationRules(c *gin.Context) {
	adm, err := a.hs.Admin(c.Request.Context(), principal(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	rules, err := adm.FederationRules(c.Request.Context())
	if err != nil {
		a.fail(c, err)
		return
	}
	out := make([]federationRuleJSON, 0, len(rules))
	for _, r := range rules {
		out = append(out, federationRuleJSON{Server: r.Server, Rule: r.Rule, CreatedAt: r.CreatedAt.UTC().Format(time.RFC3339Nano)})
	}
	mode := "open"
	if a.hs.FederationAllowList() {
		mode = "allowlist"
	}
	c.JSON(http.StatusOK, gin.H{"mode": mode, "rules": out})
}

func (a *API) setFederationRule(c *gin.Context) {
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
	rule := f.String("rule", true)
	if err := f.Err(); err != nil {
		a.fail(c, err)
		return
	}
	if err := adm.SetFederationRule(c.Request.Context(), c.Param("server"), rule.Value); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (a *API) deleteFederationRule(c *gin.Context) {
	adm, err := a.hs.Admin(c.Request.Context(), principal(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	if err := adm.DeleteFederationRule(c.Request.Context(), c.Param("server")); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

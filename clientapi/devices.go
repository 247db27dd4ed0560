package clientapi

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"hearth/homeserver"
)

// A person's devices and the ways back into their account
// (spec/client-api.md, "Devices and recovery").

func (a *API) routesDevices(r *gin.RouterGroup) {
	r.GET("/auth/sessions", a.auth, a.sessions)
	r.POST("/auth/sessions/logout", a.auth, a.endSessions)
	r.POST("/auth/link-codes", a.auth, a.createLinkCode)
	r.POST("/auth/link", a.link)
	r.GET("/users/@me/recovery-codes", a.auth, a.recoveryCodesLeft)
	r.POST("/users/@me/recovery-codes", a.auth, a.createRecoveryCodes)
	r.POST("/auth/recover", a.recoverAccount)
}

// deviceOf is where a request comes from.
func deviceOf(c *gin.Context) homeserver.Device {
	return homeserver.Device{Client: c.Request.UserAgent(), Address: c.ClientIP()}
}

// sessionJSON is one of Discord's user_sessions, with Hearth's own
// client (the raw User-Agent) and current.
type sessionJSON struct {
	IDHash     string         `json:"id_hash"`
	LastUsed   string         `json:"approx_last_used_time"`
	ClientInfo clientInfoJSON `json:"client_info"`
	Client     string         `json:"client"`
	Current    bool           `json:"current"`
}

type clientInfoJSON struct {
	OS       string `json:"os"`
	Platform string `json:"platform"`
	// Location is the address the session was last used from: Hearth
	// keeps no map of addresses to places.
	Location string `json:"location"`
}

func (a *API) sessions(c *gin.Context) {
	list, err := a.hs.Sessions(c.Request.Context(), principal(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	out := make([]sessionJSON, 0, len(list))
	for _, s := range list {
		os, platform := describeClient(s.Client)
		out = append(out, sessionJSON{IDHash: s.IDHash, LastUsed: s.LastUsed.UTC().Format(time.RFC3339Nano),
			ClientInfo: clientInfoJSON{OS: os, Platform: platform, Location: s.Address}, Client: s.Client, Current: s.Current})
	}
	c.JSON(http.StatusOK, gin.H{"user_sessions": out})
}

// describeClient reads an operating system and a browser or library from
// a User-Agent, as a list of devices names them; "" when it cannot tell.
func describeClient(ua string) (os, platform string) {
	for _, o := range []struct{ marker, name string }{
		{"Android", "Android"}, {"iPhone", "iOS"}, {"iPad", "iOS"}, {"Windows", "Windows"},
		{"Mac OS X", "Mac OS X"}, {"CrOS", "Chrome OS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.marker) {
			os = o.name
			break
		}
	}
	for _, p := range []struct{ marker, name string }{
		{"Edg/", "Edge"}, {"Firefox/", "Firefox"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"},
		{"DiscordBot", "Discord bot library"}, {"discord.js", "discord.js"}, {"curl/", "curl"}, {"Go-http-client", "Go"},
	} {
		if strings.Contains(ua, p.marker) {
			platform = p.name
			break
		}
	}
	return os, platform
}

func (a *API) endSessions(c *gin.Context) {
	f, err := readForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	hashes := f.Strings("session_id_hashes", true)
	if err := f.Err(); err != nil {
		a.fail(c, err)
		return
	}
	if err := a.hs.EndSessions(c.Request.Context(), principal(c), hashes); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (a *API) createLinkCode(c *gin.Context) {
	code, expires, err := a.hs.CreateLinkCode(c.Request.Context(), principal(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"code": code, "expires_at": expires.UTC().Format(time.RFC3339Nano)})
}

// guess runs a check of a secret (a password, a link or recovery code)
// under the login limit of key. A try is counted before the check, so that
// parallel guesses cannot all slip under the limit, and given back when
// the check passes or fails for any reason but a wrong secret. guess
// answers a refusal or an error itself; ok says whether the caller
// answers with v.
func guess[T any](a *API, c *gin.Context, key string, try func() (T, error)) (v T, ok bool) {
	if a.rateLimit {
		if res := a.logins.Take(key); !res.Allowed {
			tooManyRequests(c, res, "user")
			return v, false
		}
	}
	v, err := try()
	if a.rateLimit && !wrongSecret(err) {
		a.logins.Refund(key)
	}
	if err != nil {
		a.fail(c, err)
		return v, false
	}
	return v, true
}

// wrongSecrets are the codes of the answers that say a secret was wrong:
// only those count against the limit. Any other outcome (success, a name
// taken, a field out of range, the server failing) tells nothing about
// the secret and is given back.
var wrongSecrets = map[string]bool{
	"INVALID_LOGIN": true, "PASSWORD_DOES_NOT_MATCH": true, "INVALID_RECOVERY_CODE": true,
	"INVALID_LINK_CODE": true, "INVALID_EMAIL_TOKEN": true,
}

// wrongSecret reports whether err says the secret tried was wrong.
func wrongSecret(err error) bool {
	var v *homeserver.ValidationError
	if !errors.As(err, &v) {
		return false
	}
	for _, fes := range v.Fields {
		for _, fe := range fes {
			if wrongSecrets[fe.Code] {
				return true
			}
		}
	}
	return false
}

// passwordKey is the login-limit key of the password checks a signed-in
// person makes (recovery codes, profile changes, closing the account):
// per account, so that a stolen token cannot be used to guess the
// password quickly from many addresses.
func passwordKey(c *gin.Context) string {
	return "password\x00" + principal(c).User.ID.String()
}

// guessed signs in by a secret and answers the new session's token.
func (a *API) guessed(c *gin.Context, key string, try func() (string, error)) {
	if tok, ok := guess(a, c, key, try); ok {
		c.JSON(http.StatusOK, tokenJSON{Token: tok})
	}
}

func (a *API) link(c *gin.Context) {
	f, err := readForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	code := f.String("code", true)
	if err := f.Err(); err != nil {
		a.fail(c, err)
		return
	}
	a.guessed(c, "link\x00"+c.ClientIP(), func() (string, error) {
		tok, _, err := a.hs.Link(c.Request.Context(), code.Value, deviceOf(c))
		return tok, err
	})
}

func (a *API) recoveryCodesLeft(c *gin.Context) {
	n, err := a.hs.RecoveryCodesLeft(c.Request.Context(), principal(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"remaining": n})
}

func (a *API) createRecoveryCodes(c *gin.Context) {
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
	codes, ok := guess(a, c, passwordKey(c), func() ([]string, error) {
		return a.hs.CreateRecoveryCodes(c.Request.Context(), principal(c), pw.Value)
	})
	if ok {
		c.JSON(http.StatusOK, gin.H{"codes": codes})
	}
}

func (a *API) recoverAccount(c *gin.Context) {
	f, err := readForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	username := f.String("username", true)
	code := f.String("code", true)
	newPassword := f.String("new_password", true)
	if err := f.Err(); err != nil {
		a.fail(c, err)
		return
	}
	key := c.ClientIP() + "\x00" + strings.ToLower(clipValue(username.Value))
	a.guessed(c, key, func() (string, error) {
		tok, _, err := a.hs.Recover(c.Request.Context(), username.Value, code.Value, newPassword.Value, deviceOf(c))
		return tok, err
	})
}

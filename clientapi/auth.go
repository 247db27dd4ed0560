package clientapi

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"hearth/homeserver"
	"hearth/snowflake"
)

type tokenJSON struct {
	Token string `json:"token"`
}

func (a *API) register(c *gin.Context) {
	f, err := readForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	username := f.String("username", true)
	password := f.String("password", true)
	regToken := f.String("token", false)
	if err := f.Err(); err != nil {
		a.fail(c, err)
		return
	}
	tok, _, err := a.hs.Register(c.Request.Context(), homeserver.Registration{
		Username: username.Value, Password: password.Value, Device: deviceOf(c), Token: regToken.Value,
	})
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, tokenJSON{Token: tok})
}

// loginJSON is Discord's login answer.
type loginJSON struct {
	Token        string         `json:"token"`
	UserID       snowflake.ID   `json:"user_id"`
	UserSettings map[string]any `json:"user_settings"`
}

// login checks credentials. Failed attempts are counted per address and
// login name; past the limit further attempts get 429 without a password
// check, which bounds both guessing and the CPU a flood can burn on argon2.
func (a *API) login(c *gin.Context) {
	f, err := readForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	login := f.String("login", true)
	password := f.String("password", true)
	if err := f.Err(); err != nil {
		a.fail(c, err)
		return
	}
	key := c.ClientIP() + "\x00" + strings.ToLower(clipValue(login.Value))
	type signedIn struct {
		tok string
		u   homeserver.User
	}
	in, ok := guess(a, c, key, func() (signedIn, error) {
		tok, u, err := a.hs.Login(c.Request.Context(), login.Value, password.Value, deviceOf(c))
		return signedIn{tok, u}, err
	})
	if !ok {
		return
	}
	c.JSON(http.StatusOK, loginJSON{
		Token: in.tok, UserID: in.u.ID,
		UserSettings: map[string]any{"locale": discordLocaleEN, "theme": "dark"},
	})
}

func (a *API) logout(c *gin.Context) {
	if err := a.hs.Logout(c.Request.Context(), principal(c)); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

package clientapi

import (
	"net/http"
	"path"
	"strings"

	"github.com/gin-gonic/gin"

	"hearth/homeserver"
	"hearth/snowflake"
)

// selfJSON is the user object of /users/@me, with the private fields.
type selfJSON struct {
	homeserver.SelfUser
	// Token is set only in the answer to a password change.
	Token string `json:"token,omitempty"`
}

func selfUser(u homeserver.User) selfJSON {
	s := u.Self()
	s.Locale = discordLocaleEN
	return selfJSON{SelfUser: s}
}

func (a *API) me(c *gin.Context) {
	c.JSON(http.StatusOK, selfUser(principal(c).User))
}

func (a *API) updateMe(c *gin.Context) {
	f, err := readForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	up := homeserver.ProfileUpdate{
		Username:    f.String("username", false),
		GlobalName:  f.String("global_name", false),
		Avatar:      f.String("avatar", false),
		Bio:         f.String("bio", false),
		Banner:      f.String("banner", false),
		Pronouns:    f.String("pronouns", false),
		AccentColor: f.Int("accent_color"),
		Password:    f.String("password", false).Value,
		NewPassword: f.String("new_password", false),
	}
	if err := f.Err(); err != nil {
		a.fail(c, err)
		return
	}
	type updated struct {
		u   homeserver.User
		tok string
	}
	update := func() (updated, error) {
		u, tok, err := a.hs.UpdateProfile(c.Request.Context(), principal(c), up, c.GetString(tokenKey))
		return updated{u, tok}, err
	}
	var res updated
	if up.Password != "" {
		// A password given is a password guessed: limited as logins are.
		var ok bool
		if res, ok = guess(a, c, passwordKey(c), update); !ok {
			return
		}
	} else if res, err = update(); err != nil {
		a.fail(c, err)
		return
	}
	out := selfUser(res.u)
	out.Token = res.tok
	c.JSON(http.StatusOK, out)
}

func (a *API) user(c *gin.Context) {
	id, err := pathID(c, "user")
	if err != nil {
		a.fail(c, err)
		return
	}
	u, err := a.hs.User(c.Request.Context(), id)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, u.Discord())
}

// avatar serves /avatars/{user}/{hash}.{ext} as Discord's CDN does. The
// extension is the client's wish; the bytes are served as what they are.
func (a *API) avatar(c *gin.Context) {
	id, err := snowflake.Parse(c.Param("user"))
	if err != nil {
		notFound(c)
		return
	}
	file := c.Param("file")
	hash := strings.TrimSuffix(file, path.Ext(file))
	a.serveFile(c, func() (homeserver.File, error) { return a.hs.Avatar(c.Request.Context(), id, hash) })
}

// banner serves /banners/{user}/{hash}.{ext}, as avatar.
func (a *API) banner(c *gin.Context) {
	id, err := snowflake.Parse(c.Param("user"))
	if err != nil {
		notFound(c)
		return
	}
	file := c.Param("file")
	hash := strings.TrimSuffix(file, path.Ext(file))
	a.serveFile(c, func() (homeserver.File, error) { return a.hs.Banner(c.Request.Context(), id, hash) })
}

// userProfile is GET /users/{id}/profile (and /users/@me/profile).
func (a *API) userProfile(c *gin.Context) {
	p := principal(c)
	id := p.User.ID
	if raw := c.Param("user"); raw != "" && raw != "@me" {
		var err error
		if id, err = pathID(c, "user"); err != nil {
			a.fail(c, err)
			return
		}
	}
	guildID, err := queryID(c, "guild_id")
	if err != nil {
		a.fail(c, err)
		return
	}
	q := homeserver.ProfileQuery{
		WithMutualGuilds:       queryBool(c, "with_mutual_guilds"),
		WithMutualFriends:      queryBool(c, "with_mutual_friends"),
		WithMutualFriendsCount: queryBool(c, "with_mutual_friends_count"),
		GuildID:                guildID,
	}
	out, err := a.hs.UserProfile(c.Request.Context(), p, id, q)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

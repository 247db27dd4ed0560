package clientapi

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"hearth/homeserver"
)

// relationshipMaxBody bounds the small bodies of the relationship and
// settings routes.
const relationshipMaxBody = 4 << 10

func (a *API) routesRelationships(r *gin.RouterGroup) {
	r.GET("/users/@me/relationships", a.auth, a.relationships)
	r.POST("/users/@me/relationships", a.auth, a.bodyLimit(relationshipMaxBody), a.requestFriendByName)
	r.PUT("/users/@me/relationships/:user", a.auth, a.bodyLimit(relationshipMaxBody), a.putRelationship)
	r.DELETE("/users/@me/relationships/:user", a.auth, a.deleteRelationship)
	r.PATCH("/users/@me/relationships/:user", a.auth, a.bodyLimit(relationshipMaxBody), a.patchRelationship)
	r.GET("/users/@me/settings", a.auth, a.settings)
	r.PATCH("/users/@me/settings", a.auth, a.bodyLimit(relationshipMaxBody), a.updateSettings)
}

func (a *API) relationships(c *gin.Context) {
	out, err := a.hs.Relationships(c.Request.Context(), principal(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

// requestFriendByName is POST /users/@me/relationships {username,
// discriminator}: the discriminator is ignored (Hearth has none); a person
// of another homeserver is "name@server".
func (a *API) requestFriendByName(c *gin.Context) {
	f, err := readForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	name := f.String("username", true)
	if err := f.Err(); err != nil {
		a.fail(c, err)
		return
	}
	if err := a.hs.RequestFriendByName(c.Request.Context(), principal(c), name.Value); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// putRelationship is PUT /users/@me/relationships/{id}: type 1 or none
// sends a friend request or accepts one, type 2 blocks.
func (a *API) putRelationship(c *gin.Context) {
	id, err := pathID(c, "user")
	if err != nil {
		a.fail(c, err)
		return
	}
	f, err := readForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	typ := f.Int("type")
	if err := f.Err(); err != nil {
		a.fail(c, err)
		return
	}
	ctx, p := c.Request.Context(), principal(c)
	switch {
	case !typ.Set || typ.Null || typ.Value == 1:
		err = a.hs.RequestFriend(ctx, p, id)
	case typ.Value == 2:
		err = a.hs.BlockUser(ctx, p, id)
	default:
		err = homeserver.Invalid("type", "BASE_TYPE_CHOICES", fmt.Sprintf("Value must be one of (1, 2), not %d.", typ.Value))
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// patchRelationship is PATCH /users/@me/relationships/{id} {nickname}:
// the caller's nickname for the person.
func (a *API) patchRelationship(c *gin.Context) {
	id, err := pathID(c, "user")
	if err != nil {
		a.fail(c, err)
		return
	}
	f, err := readForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	nick := f.String("nickname", false)
	if err := f.Err(); err != nil {
		a.fail(c, err)
		return
	}
	if err := a.hs.SetFriendNickname(c.Request.Context(), principal(c), id, nick); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (a *API) deleteRelationship(c *gin.Context) {
	id, err := pathID(c, "user")
	if err != nil {
		a.fail(c, err)
		return
	}
	if err := a.hs.RemoveRelationship(c.Request.Context(), principal(c), id); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (a *API) settings(c *gin.Context) {
	out, err := a.hs.Settings(c.Request.Context(), principal(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

// updateSettings is PATCH /users/@me/settings: Discord's legacy user
// settings Hearth keeps (spec/client-api.md, "User settings"), plus
// dm_friends_only; Discord's others are ignored.
func (a *API) updateSettings(c *gin.Context) {
	f, err := readForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	out, err := a.hs.UpdateSettings(c.Request.Context(), principal(c), f.fields)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

package clientapi

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"hearth/homeserver"
	"hearth/snowflake"
)

func roleFields(f *form) homeserver.RoleFields {
	return homeserver.RoleFields{
		Name: f.String("name", false), Permissions: f.Perms("permissions"), Color: f.Int("color"),
		Hoist: f.Bool("hoist"), Mentionable: f.Bool("mentionable"), UnicodeEmoji: f.String("unicode_emoji", false),
		Icon: f.String("icon", false),
	}
}

func (a *API) roles(c *gin.Context) {
	a.run(c, http.StatusOK, func(ids []snowflake.ID) (any, error) {
		return a.hs.Roles(reqCtx(c), principal(c), ids[0])
	}, "guild")
}

func (a *API) createRole(c *gin.Context) {
	a.runForm(c, http.StatusOK, func(ids []snowflake.ID, f *form) func() (any, error) {
		rf := roleFields(f)
		return func() (any, error) { return a.hs.CreateRole(reqCtx(c), principal(c), ids[0], rf) }
	}, "guild")
}

func (a *API) updateRole(c *gin.Context) {
	a.runForm(c, http.StatusOK, func(ids []snowflake.ID, f *form) func() (any, error) {
		rf := roleFields(f)
		return func() (any, error) { return a.hs.UpdateRole(reqCtx(c), principal(c), ids[0], ids[1], rf) }
	}, "guild", "role")
}

func (a *API) deleteRole(c *gin.Context) {
	a.run(c, http.StatusNoContent, func(ids []snowflake.ID) (any, error) {
		return nil, a.hs.DeleteRole(reqCtx(c), principal(c), ids[0], ids[1])
	}, "guild", "role")
}

func (a *API) reorderRoles(c *gin.Context) {
	ids, ok := a.ids(c, "guild")
	if !ok {
		return
	}
	items, err := readArray(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	v := &form{}
	moves := make([]homeserver.RolePosition, 0, len(items))
	for i, it := range items {
		id, pos := it.ID("id"), it.Int("position")
		if !id.Set || id.Null {
			it.v.Add("id", "BASE_TYPE_REQUIRED", "This field is required")
		}
		if !pos.Set || pos.Null {
			it.v.Add("position", "BASE_TYPE_REQUIRED", "This field is required")
		}
		v.merge(strconv.Itoa(i), it)
		moves = append(moves, homeserver.RolePosition{ID: id.Value, Position: pos.Value})
	}
	if err := v.Err(); err != nil {
		a.fail(c, err)
		return
	}
	rs, err := a.hs.ReorderRoles(reqCtx(c), principal(c), ids[0], moves)
	a.reply(c, http.StatusOK, rs, err)
}

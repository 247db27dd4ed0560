package clientapi

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"hearth/homeserver"
	"hearth/snowflake"
)

func roleFields(f *form) homeserver.RoleFields {
	return homeserver.RoleFields{
		Name: f.String("name", false), Permissions: f.Perms("permissions"), Color: roleColor(f),
		Hoist: f.Bool("hoist"), Mentionable: f.Bool("mentionable"), UnicodeEmoji: f.String("unicode_emoji", false),
		Icon: f.String("icon", false),
	}
}

// roleColor reads "color", or else "colors".primary_color, which
// discord.js sends since Discord added gradient roles. Hearth keeps one
// color: secondary and tertiary colors are not kept.
func roleColor(f *form) homeserver.Optional[int] {
	raw, ok := f.fields["colors"]
	if _, old := f.fields["color"]; old || !ok || isNull(raw) {
		return f.Int("color")
	}
	sub := &form{}
	if err := json.Unmarshal(raw, &sub.fields); err != nil || sub.fields == nil {
		f.v.Add("colors", "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
		return homeserver.Optional[int]{}
	}
	c := sub.Int("primary_color")
	for name, list := range sub.v.Fields {
		for _, fe := range list {
			f.v.Add("colors."+name, fe.Code, fe.Message)
		}
	}
	if c.Null {
		c = homeserver.Optional[int]{Set: true}
	}
	return c
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

package clientapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"hearth/homeserver"
	"hearth/snowflake"
)

func (a *API) members(c *gin.Context) {
	ids, ok := a.ids(c, "guild")
	if !ok {
		return
	}
	after, limit, ok := a.page(c, 1)
	if !ok {
		return
	}
	ms, err := a.hs.Members(reqCtx(c), principal(c), ids[0], after, limit)
	a.reply(c, http.StatusOK, ms, err)
}

// searchMembers is GET /guilds/{id}/members/search?query=&limit=.
func (a *API) searchMembers(c *gin.Context) {
	ids, ok := a.ids(c, "guild")
	if !ok {
		return
	}
	limit, err := queryInt(c, "limit", 1)
	if err != nil {
		a.fail(c, err)
		return
	}
	ms, err := a.hs.SearchMembers(reqCtx(c), principal(c), ids[0], c.Query("query"), limit)
	a.reply(c, http.StatusOK, ms, err)
}

func (a *API) member(c *gin.Context) {
	a.run(c, http.StatusOK, func(ids []snowflake.ID) (any, error) {
		return a.hs.Member(reqCtx(c), principal(c), ids[0], ids[1])
	}, "guild", "user")
}

func (a *API) updateMember(c *gin.Context) {
	a.runForm(c, http.StatusOK, func(ids []snowflake.ID, f *form) func() (any, error) {
		up := homeserver.MemberUpdate{
			Nick: f.String("nick", false), Roles: f.IDs("roles"),
			CommunicationDisabledUntil: f.Time("communication_disabled_until"),
			Mute:                       f.Bool("mute"), Deaf: f.Bool("deaf"),
		}
		if up.Roles.Null {
			up.Roles.Value = nil
		}
		return func() (any, error) { return a.hs.UpdateMember(reqCtx(c), principal(c), ids[0], ids[1], up) }
	}, "guild", "user")
}

func (a *API) kick(c *gin.Context) {
	ids, ok := a.ids(c, "guild", "user")
	if !ok {
		return
	}
	if ids[1] == principal(c).User.ID {
		// DELETE .../members/@me is leaving, as in Discord's user API.
		a.reply(c, http.StatusNoContent, nil, a.hs.LeaveGuild(reqCtx(c), principal(c), ids[0]))
		return
	}
	a.reply(c, http.StatusNoContent, nil, a.hs.Kick(reqCtx(c), principal(c), ids[0], ids[1]))
}

func (a *API) addMemberRole(c *gin.Context) {
	a.run(c, http.StatusNoContent, func(ids []snowflake.ID) (any, error) {
		return nil, a.hs.AddMemberRole(reqCtx(c), principal(c), ids[0], ids[1], ids[2])
	}, "guild", "user", "role")
}

func (a *API) removeMemberRole(c *gin.Context) {
	a.run(c, http.StatusNoContent, func(ids []snowflake.ID) (any, error) {
		return nil, a.hs.RemoveMemberRole(reqCtx(c), principal(c), ids[0], ids[1], ids[2])
	}, "guild", "user", "role")
}

func (a *API) bans(c *gin.Context) {
	ids, ok := a.ids(c, "guild")
	if !ok {
		return
	}
	after, limit, ok := a.page(c, 1000)
	if !ok {
		return
	}
	bs, err := a.hs.Bans(reqCtx(c), principal(c), ids[0], after, limit)
	a.reply(c, http.StatusOK, bs, err)
}

func (a *API) getBan(c *gin.Context) {
	a.run(c, http.StatusOK, func(ids []snowflake.ID) (any, error) {
		return a.hs.GetBan(reqCtx(c), principal(c), ids[0], ids[1])
	}, "guild", "user")
}

func (a *API) ban(c *gin.Context) {
	ids, ok := a.ids(c, "guild", "user")
	if !ok {
		return
	}
	f, ok := a.form(c)
	if !ok {
		return
	}
	secs := f.Int("delete_message_seconds")
	if days := f.Int("delete_message_days"); !secs.Set && days.Set {
		secs = homeserver.Optional[int]{Set: true, Value: days.Value * 86400}
	}
	if err := f.Err(); err != nil {
		a.fail(c, err)
		return
	}
	err := a.hs.Ban(reqCtx(c), principal(c), ids[0], ids[1], homeserver.BanOptions{DeleteMessageSeconds: secs.Value})
	a.reply(c, http.StatusNoContent, nil, err)
}

func (a *API) unban(c *gin.Context) {
	a.run(c, http.StatusNoContent, func(ids []snowflake.ID) (any, error) {
		return nil, a.hs.Unban(reqCtx(c), principal(c), ids[0], ids[1])
	}, "guild", "user")
}

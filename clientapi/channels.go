package clientapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"hearth/homeserver"
	"hearth/snowflake"
	"hearth/storage"
)

// channelFields reads the channel fields of a create or update body.
func channelFields(f *form, creating bool) homeserver.ChannelFields {
	cf := homeserver.ChannelFields{
		Name: f.String("name", creating), Type: f.Int("type"), Topic: f.String("topic", false),
		Position: f.Int("position"), ParentID: f.ID("parent_id"), NSFW: f.Bool("nsfw"),
		RateLimitPerUser: f.Int("rate_limit_per_user"), Bitrate: f.Int("bitrate"), UserLimit: f.Int("user_limit"),
	}
	if items, ok := f.Objects("permission_overwrites"); ok {
		ows := make([]homeserver.Overwrite, 0, len(items))
		for i, it := range items {
			o := overwriteFrom(it)
			o.TargetID = it.ID("id").Value
			if !it.ID("id").Set {
				it.v.Add("id", "BASE_TYPE_REQUIRED", "This field is required")
			}
			f.merge("permission_overwrites."+strconv.Itoa(i), it)
			ows = append(ows, o)
		}
		cf.Overwrites = homeserver.Optional[[]homeserver.Overwrite]{Set: true, Value: ows}
	}
	return cf
}

func overwriteFrom(f *form) homeserver.Overwrite {
	var typ homeserver.Optional[int]
	// Discord accepts the old string types "role" and "member" too.
	switch strings.Trim(string(f.fields["type"]), " ") {
	case `"role"`:
		typ = homeserver.Optional[int]{Set: true, Value: storage.OverwriteRole}
	case `"member"`:
		typ = homeserver.Optional[int]{Set: true, Value: storage.OverwriteMember}
	default:
		typ = f.Int("type")
		if !typ.Set || typ.Null {
			f.v.Add("type", "BASE_TYPE_REQUIRED", "This field is required")
		}
	}
	return homeserver.Overwrite{Type: typ.Value, Allow: int64(f.Perms("allow").Value), Deny: int64(f.Perms("deny").Value)}
}

func (a *API) guildChannels(c *gin.Context) {
	a.run(c, http.StatusOK, func(ids []snowflake.ID) (any, error) {
		return a.hs.GuildChannels(reqCtx(c), principal(c), ids[0])
	}, "guild")
}

func (a *API) createChannel(c *gin.Context) {
	a.runForm(c, http.StatusCreated, func(ids []snowflake.ID, f *form) func() (any, error) {
		cf := channelFields(f, true)
		return func() (any, error) { return a.hs.CreateChannel(reqCtx(c), principal(c), ids[0], cf) }
	}, "guild")
}

func (a *API) reorderChannels(c *gin.Context) {
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
	moves := make([]homeserver.ChannelPosition, 0, len(items))
	for i, it := range items {
		id := it.ID("id")
		if !id.Set || id.Null {
			it.v.Add("id", "BASE_TYPE_REQUIRED", "This field is required")
		}
		m := homeserver.ChannelPosition{ID: id.Value, Position: it.Int("position"), ParentID: it.ID("parent_id"),
			LockPermissions: it.Bool("lock_permissions").Value}
		v.merge(strconv.Itoa(i), it)
		moves = append(moves, m)
	}
	if err := v.Err(); err != nil {
		a.fail(c, err)
		return
	}
	a.reply(c, http.StatusNoContent, nil, a.hs.ReorderChannels(reqCtx(c), principal(c), ids[0], moves))
}

func (a *API) getChannel(c *gin.Context) {
	ids, ok := a.ids(c, "channel")
	if !ok {
		return
	}
	if dm, isDM, err := a.hs.DMChannel(reqCtx(c), principal(c), ids[0]); isDM {
		a.reply(c, http.StatusOK, dm, err)
		return
	}
	if a.hs.IsThread(reqCtx(c), ids[0]) {
		t, err := a.hs.Thread(reqCtx(c), principal(c), ids[0])
		a.reply(c, http.StatusOK, t, err)
		return
	}
	ch, err := a.hs.Channel(reqCtx(c), principal(c), ids[0])
	a.reply(c, http.StatusOK, ch, err)
}

func (a *API) updateChannel(c *gin.Context) {
	a.runForm(c, http.StatusOK, func(ids []snowflake.ID, f *form) func() (any, error) {
		ctx, p := reqCtx(c), principal(c)
		if _, isDM, err := a.hs.DMChannel(ctx, p, ids[0]); isDM {
			name := f.String("name", false)
			return func() (any, error) {
				if err != nil {
					return nil, err
				}
				return a.hs.RenameGroupDM(ctx, p, ids[0], name.Value)
			}
		}
		if a.hs.IsThread(ctx, ids[0]) {
			up := threadUpdate(f)
			return func() (any, error) { return a.hs.UpdateThread(ctx, p, ids[0], up) }
		}
		cf := channelFields(f, false)
		return func() (any, error) { return a.hs.UpdateChannel(ctx, p, ids[0], cf) }
	}, "channel")
}

func (a *API) deleteChannel(c *gin.Context) {
	ids, ok := a.ids(c, "channel")
	if !ok {
		return
	}
	if dm, isDM, err := a.hs.DMChannel(reqCtx(c), principal(c), ids[0]); isDM {
		// Closing a DM: a group DM is left; a one-to-one DM stays, as on
		// Discord, where closing only hides it.
		if err == nil && dm.Type == storage.ChannelGroupDM {
			err = a.hs.RemoveRecipient(reqCtx(c), principal(c), ids[0], principal(c).User.ID)
		}
		a.reply(c, http.StatusOK, dm, err)
		return
	}
	if a.hs.IsThread(reqCtx(c), ids[0]) {
		t, err := a.hs.DeleteThread(reqCtx(c), principal(c), ids[0])
		a.reply(c, http.StatusOK, t, err)
		return
	}
	ch, err := a.hs.DeleteChannel(reqCtx(c), principal(c), ids[0])
	a.reply(c, http.StatusOK, ch, err)
}

func (a *API) setOverwrite(c *gin.Context) {
	a.runForm(c, http.StatusNoContent, func(ids []snowflake.ID, f *form) func() (any, error) {
		o := overwriteFrom(f)
		o.TargetID = ids[1]
		return func() (any, error) { return nil, a.hs.SetOverwrite(reqCtx(c), principal(c), ids[0], o) }
	}, "channel", "overwrite")
}

func (a *API) deleteOverwrite(c *gin.Context) {
	a.run(c, http.StatusNoContent, func(ids []snowflake.ID) (any, error) {
		return nil, a.hs.DeleteOverwrite(reqCtx(c), principal(c), ids[0], ids[1])
	}, "channel", "overwrite")
}

package clientapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"hearth/homeserver"
	"hearth/snowflake"
)

// Read states and guild notification settings (spec/client-api.md "Read
// states and notification settings"): user-only routes, as on Discord.
func (a *API) routesReadStates(r *gin.RouterGroup) {
	r.POST("/channels/:channel/messages/:message/ack", a.auth, a.ack)
	r.POST("/read-states/ack-bulk", a.auth, a.ackBulk)
	r.GET("/users/@me/guilds/:guild/settings", a.auth, a.guildSettings)
	r.PATCH("/users/@me/guilds/:guild/settings", a.auth, a.updateGuildSettings)
}

// ack answers Discord's {"token": null}. Of the body, manual is read
// (Mark Unread: the read state is set back to the message); token,
// mention_count and last_viewed are ignored, as Hearth counts mentions
// itself.
func (a *API) ack(c *gin.Context) {
	a.runForm(c, http.StatusOK, func(ids []snowflake.ID, f *form) func() (any, error) {
		manual := f.Bool("manual")
		return func() (any, error) {
			return gin.H{"token": nil}, a.hs.AckMessage(reqCtx(c), principal(c), ids[0], ids[1], manual.Value && !manual.Null)
		}
	}, "channel", "message")
}

// ackBulk reads {"read_states": [{"channel_id", "message_id"}, ...]}.
func (a *API) ackBulk(c *gin.Context) {
	a.runForm(c, http.StatusNoContent, func(_ []snowflake.ID, f *form) func() (any, error) {
		items, ok := f.Objects("read_states")
		if !ok && f.Err() == nil {
			f.v.Add("read_states", "BASE_TYPE_REQUIRED", "This field is required")
		}
		acks := make([]homeserver.Ack, 0, len(items))
		for i, it := range items {
			ch, msg := it.ID("channel_id"), it.ID("message_id")
			for name, o := range map[string]homeserver.Optional[snowflake.ID]{"channel_id": ch, "message_id": msg} {
				if !o.Set || o.Null {
					it.v.Add(name, "BASE_TYPE_REQUIRED", "This field is required")
				}
			}
			f.merge(fmt.Sprintf("read_states.%d", i), it)
			acks = append(acks, homeserver.Ack{ChannelID: ch.Value, MessageID: msg.Value})
		}
		return func() (any, error) { return nil, a.hs.AckBulk(reqCtx(c), principal(c), acks) }
	})
}

func (a *API) guildSettings(c *gin.Context) {
	a.run(c, http.StatusOK, func(ids []snowflake.ID) (any, error) {
		return a.hs.GuildSettings(reqCtx(c), principal(c), ids[0])
	}, "guild")
}

// updateGuildSettings reads Discord's PATCH body: muted, mute_config
// {end_time}, message_notifications, suppress_everyone, suppress_roles, and
// channel_overrides as Discord's clients send it (an object keyed by
// channel ID) or as READY lists it (an array with channel_id).
func (a *API) updateGuildSettings(c *gin.Context) {
	a.runForm(c, http.StatusOK, func(ids []snowflake.ID, f *form) func() (any, error) {
		in := homeserver.GuildSettingsPatch{
			Muted: f.Bool("muted"), MessageNotifications: f.Int("message_notifications"),
			SuppressEveryone: f.Bool("suppress_everyone"), SuppressRoles: f.Bool("suppress_roles"),
		}
		in.MuteEndTime = muteEnd(f, "mute_config")
		if raw, ok := f.fields["channel_overrides"]; ok && !isNull(raw) {
			var byID map[string]map[string]json.RawMessage
			var list []map[string]json.RawMessage
			switch {
			case json.Unmarshal(raw, &byID) == nil:
				for k, fields := range byID {
					id, err := snowflake.Parse(k)
					if err != nil {
						f.v.Add("channel_overrides."+clipValue(k), "NUMBER_TYPE_COERCE", "Value is not snowflake.")
						continue
					}
					in.ChannelOverrides = append(in.ChannelOverrides, overridePatch(f, id, k, fields))
				}
			case json.Unmarshal(raw, &list) == nil:
				for i, fields := range list {
					sub := &form{fields: fields}
					id := sub.ID("channel_id")
					f.merge(fmt.Sprintf("channel_overrides.%d", i), sub)
					if !id.Set || id.Null {
						f.v.Add(fmt.Sprintf("channel_overrides.%d.channel_id", i), "BASE_TYPE_REQUIRED", "This field is required")
						continue
					}
					in.ChannelOverrides = append(in.ChannelOverrides, overridePatch(f, id.Value, fmt.Sprint(i), fields))
				}
			default:
				f.v.Add("channel_overrides", "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a DictType.")
			}
		}
		return func() (any, error) { return a.hs.UpdateGuildSettings(reqCtx(c), principal(c), ids[0], in) }
	}, "guild")
}

// overridePatch reads one channel override's fields, its errors reported
// under channel_overrides.key.
func overridePatch(f *form, id snowflake.ID, key string, fields map[string]json.RawMessage) homeserver.ChannelOverridePatch {
	if fields == nil {
		fields = map[string]json.RawMessage{}
	}
	sub := &form{fields: fields}
	o := homeserver.ChannelOverridePatch{ChannelID: id, Muted: sub.Bool("muted"),
		MessageNotifications: sub.Int("message_notifications"), MuteEndTime: muteEnd(sub, "mute_config")}
	f.merge("channel_overrides."+key, sub)
	return o
}

// muteEnd reads a mute_config object's end_time: null (or a null
// mute_config) is a mute until unmuted.
func muteEnd(f *form, name string) homeserver.Optional[time.Time] {
	raw, ok := f.fields[name]
	if !ok {
		return homeserver.Optional[time.Time]{}
	}
	if isNull(raw) {
		return homeserver.Optional[time.Time]{Set: true, Null: true}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		f.v.Add(name, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType.")
		return homeserver.Optional[time.Time]{}
	}
	sub := &form{fields: fields}
	end := sub.Time("end_time")
	f.merge(name, sub)
	if !end.Set {
		return homeserver.Optional[time.Time]{Set: true, Null: true}
	}
	return end
}

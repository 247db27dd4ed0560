package bridge

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"

	"github.com/bwmarrin/discordgo"

	"hearth/homeserver"
)

// A puppet's avatar is a copy of the Discord user's, fetched from the CDN
// when the user's avatar hash changes (the hash applied is kept as
// "avatar:<Discord user ID>"), and served by the bridge like any local
// user's; Hearth servers copy it from the bridge as any remote user's.
//
// The other way, a Hearth person's message goes through the webhook with
// avatar_url pointing at the bridge's copy of their avatar (which the
// protocol carries, and the bridge fetches from their server).

// avatarMax bounds the avatar fetched.
const avatarMax = 8 << 20

// syncAvatar gives a puppet the Discord user's current avatar, once per
// change; a failure leaves the old one and is only logged. key names the
// puppet's Discord side: the user's ID, or a foreign webhook's puppet
// (webhookPuppetKey), whose avatar lives under the webhook's ID.
func (b *Bridge) syncAvatar(ctx context.Context, p homeserver.Principal, key string, u *discordgo.User) {
	if u.Avatar == "" {
		return
	}
	b.mu.Lock()
	seen := b.avatars[key] == u.Avatar
	b.mu.Unlock()
	if seen {
		return
	}
	vkey := "avatar:" + key
	if v, ok, err := b.dom.Value(ctx, vkey); err == nil && ok && v == u.Avatar {
		b.mu.Lock()
		b.avatars[key] = u.Avatar
		b.mu.Unlock()
		return
	}
	if err := b.fetchAvatar(ctx, p, u); err != nil {
		b.log.Warn("bridge: avatar not copied", "discord_user", key, "err", err)
		return
	}
	if err := b.dom.SetValue(ctx, vkey, u.Avatar); err != nil {
		return
	}
	b.mu.Lock()
	b.avatars[key] = u.Avatar
	b.mu.Unlock()
}

func (b *Bridge) fetchAvatar(ctx context.Context, p homeserver.Principal, u *discordgo.User) error {
	ctx, cancel := ctxDiscord(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, discordgo.EndpointUserAvatar(u.ID, u.Avatar), nil)
	if err != nil {
		return err
	}
	res, err := b.session.Client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("avatar: %s", res.Status)
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, avatarMax+1))
	if err != nil {
		return err
	}
	if len(data) > avatarMax {
		return fmt.Errorf("avatar over %d bytes", avatarMax)
	}
	uri := "data:" + http.DetectContentType(data) + ";base64," + base64.StdEncoding.EncodeToString(data)
	_, _, err = b.hs.UpdateProfile(ctx, p, homeserver.ProfileUpdate{Avatar: homeserver.Optional[string]{Set: true, Value: uri}}, "")
	return err
}

// hearthAvatarURL is the avatar_url a Hearth person's relayed messages
// carry: the bridge's copy of their avatar, or "" when they have none or
// the copy cannot be had (Discord would refuse the whole post for an
// avatar it cannot fetch, so the message then goes without).
func (b *Bridge) hearthAvatarURL(ctx context.Context, u homeserver.User) string {
	if u.Avatar == "" {
		return ""
	}
	f, err := b.hs.Avatar(ctx, u.ID, u.Avatar)
	if err != nil {
		b.log.Warn("bridge: a Hearth person's avatar is not at hand; relayed without", "user_id", u.ID, "err", err)
		return ""
	}
	f.Close()
	return b.hs.AvatarURL(u)
}

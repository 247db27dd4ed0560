package bridge

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/bwmarrin/discordgo"

	"hearth/discord"
	"hearth/homeserver"
	"hearth/snowflake"
)

// Files cross as bytes, never as links to the other side: Discord's CDN
// links expire, and a Hearth attachment's link is the bridge's own.

// maxDiscordFile is the largest file the relay attaches on Discord; a
// larger one goes as a link to the bridge's copy.
const maxDiscordFile = 10 << 20

// cdnHosts are the hosts the bridge fetches Discord's files from, besides
// --discord-url's own: an attachment URL elsewhere is not fetched, so a
// crafted message cannot make the bridge fetch what it likes.
var cdnHosts = map[string]bool{"cdn.discordapp.com": true, "media.discordapp.net": true}

// download copies a Discord attachment into the bridge's store (staged:
// the import keeps it only if the message is imported).
func (b *Bridge) download(ctx context.Context, a *discordgo.MessageAttachment) (homeserver.Upload, error) {
	u, err := url.Parse(a.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || !(cdnHosts[u.Host] || u.Host == b.base.Host) {
		return homeserver.Upload{}, fmt.Errorf("attachment %s: %q is not on Discord's CDN", a.ID, a.URL)
	}
	ctx, cancel := ctxDiscord(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return homeserver.Upload{}, err
	}
	res, err := b.session.Client.Do(req)
	if err != nil {
		return homeserver.Upload{}, fmt.Errorf("attachment %s: %w", a.ID, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return homeserver.Upload{}, fmt.Errorf("attachment %s: %s", a.ID, res.Status)
	}
	return b.hs.StoreUpload(res.Body, a.Filename)
}

// hearthFile opens a Hearth attachment the mirror holds, from the URL its
// rendering carries (/attachments/{channel}/{id}/{name}?hm=...).
func (b *Bridge) hearthFile(ctx context.Context, a discord.Attachment) (homeserver.File, error) {
	u, err := url.Parse(a.URL)
	if err != nil {
		return homeserver.File{}, err
	}
	parts := strings.Split(strings.TrimPrefix(u.Path, "/"), "/")
	if len(parts) < 3 || parts[0] != "attachments" {
		return homeserver.File{}, fmt.Errorf("attachment %s: unexpected URL %q", a.ID, a.URL)
	}
	ch, err1 := strconv.ParseUint(parts[1], 10, 64)
	id, err2 := strconv.ParseUint(parts[2], 10, 64)
	if err1 != nil || err2 != nil {
		return homeserver.File{}, fmt.Errorf("attachment %s: unexpected URL %q", a.ID, a.URL)
	}
	f, _, err := b.hs.AttachmentFile(ctx, snowflake.ID(ch), snowflake.ID(id), u.Query().Get("hm"))
	return f, err
}

// attach adds a Hearth message's files to a webhook post: as files up to
// Discord's size, as links to the bridge's copy beyond. It returns what
// to close once the post is done.
func (b *Bridge) attach(ctx context.Context, m discord.Message, params *discordgo.WebhookParams) (func(), error) {
	var open []io.Closer
	closeAll := func() {
		for _, c := range open {
			c.Close()
		}
	}
	for _, a := range m.Attachments {
		if a.Size > maxDiscordFile {
			params.Content = strings.TrimSpace(params.Content + "\n" + a.URL)
			continue
		}
		f, err := b.hearthFile(ctx, a)
		if err != nil {
			closeAll()
			return func() {}, err
		}
		open = append(open, f)
		params.Files = append(params.Files, &discordgo.File{Name: a.Filename, ContentType: a.ContentType, Reader: f})
	}
	return closeAll, nil
}

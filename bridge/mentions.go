package bridge

import (
	"context"
	"regexp"
	"strconv"

	"github.com/bwmarrin/discordgo"

	"hearth/homeserver"
	"hearth/snowflake"
)

// Mentions name users by ID, and the two sides' IDs differ: each crossing
// rewrites them. A Discord user mentioned becomes their puppet's mention
// (the puppet is made if need be); a puppet mentioned on Hearth becomes
// the Discord user's mention, and only those users may be pinged; a Hearth
// person mentioned on Hearth becomes plain "@name", as Discord has no user
// for them.

var userMention = regexp.MustCompile(`<@!?(\d{1,20})>`)

// mentionsToHearth rewrites a Discord message's user mentions.
func (b *Bridge) mentionsToHearth(ctx context.Context, l Link, content string, mentioned []*discordgo.User) (string, error) {
	local := map[string]string{}
	for _, u := range mentioned {
		if u == nil {
			continue
		}
		p, err := b.puppet(ctx, l, u, nil)
		if err != nil {
			return content, err
		}
		local[u.ID] = p.User.ID.String()
	}
	return userMention.ReplaceAllStringFunc(content, func(m string) string {
		id := userMention.FindStringSubmatch(m)[1]
		if l, ok := local[id]; ok {
			return "<@" + l + ">"
		}
		// Not a user Discord says is mentioned: kept as text, so that no
		// ID written on Discord can ping a user of the bridge's choosing.
		return "@" + id
	}), nil
}

// mentionsToDiscord rewrites a Hearth message's user mentions and says
// which Discord users it may ping.
func (b *Bridge) mentionsToDiscord(ctx context.Context, content string) (string, []string) {
	var ping []string
	out := userMention.ReplaceAllStringFunc(content, func(m string) string {
		n, err := strconv.ParseUint(userMention.FindStringSubmatch(m)[1], 10, 64)
		if err != nil {
			return m
		}
		id := snowflake.ID(n)
		if did, err := b.dom.DiscordID(ctx, homeserver.BridgeUser, id); err == nil {
			ping = append(ping, did)
			return "<@" + did + ">"
		}
		if u, err := b.hs.User(ctx, id); err == nil {
			name := u.GlobalName
			if name == "" {
				name = u.Username
			}
			return "@" + name
		}
		return m
	})
	return out, ping
}

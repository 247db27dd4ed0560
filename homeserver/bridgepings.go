package homeserver

import (
	"slices"

	"hearth/discord"
	"hearth/snowflake"
	"hearth/storage"
)

// DiscordPings are the pings Discord made of a message the bridge imports:
// whether it pinged @everyone (or @here), and which of the mirror's roles
// it pinged. Discord decided them with its author's permissions there,
// which the mirror does not hold, so an import takes them as they are in
// place of the mirror's own rules (Bridge.ImportMessage); a send of any
// other kind ignores them.
type DiscordPings struct {
	Everyone bool
	Roles    []snowflake.ID
}

// applyDiscordPings puts an import's pings in place of those the mirror
// found: @everyone only when Discord pinged it and the text says it, and
// the roles Discord pinged that the text names and the guild has.
func applyDiscordPings(pings *DiscordPings, pl *place, m *storage.Message, out *discord.Message) {
	if pings == nil {
		return
	}
	m.MentionEveryone = pings.Everyone && everyone.MatchString(m.Content)
	m.MentionRoles = nil
	for _, match := range roleMention.FindAllStringSubmatch(m.Content, 100) {
		id, err := snowflake.Parse(match[1])
		if err != nil || !slices.Contains(pings.Roles, id) || slices.Contains(m.MentionRoles, id) {
			continue
		}
		if pl.guild == nil {
			continue
		}
		if _, ok := pl.guild.byID[id]; ok && id != pl.guild.guild.ID {
			m.MentionRoles = append(m.MentionRoles, id)
		}
	}
	out.MentionEveryone = m.MentionEveryone
	out.MentionRoles = slices.Clone(m.MentionRoles)
	if out.MentionRoles == nil {
		out.MentionRoles = []snowflake.ID{}
	}
}

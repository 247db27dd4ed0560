package homeserver

import (
	"context"
	"errors"
	"fmt"

	"hearth/discord"
	"hearth/snowflake"
	"hearth/storage"
)

// The operator's view of this homeserver's guilds (`homeserver admin
// guilds`, `delete-guild`).

// GuildSummary is one of this homeserver's guilds as the operator lists
// it.
type GuildSummary struct {
	ID      snowflake.ID
	Name    string
	OwnerID snowflake.ID
	// Owner is the owner's username ("" when the row is gone).
	Owner   string
	Members int
}

// Guilds lists this homeserver's own guilds (not replicas of others').
func (a *Admin) Guilds(ctx context.Context) ([]GuildSummary, error) {
	gs, err := a.h.store.LocalGuilds(ctx)
	if err != nil {
		return nil, storeErr("guilds", err)
	}
	out := make([]GuildSummary, 0, len(gs))
	for _, g := range gs {
		n, err := a.h.store.MemberCount(ctx, g.ID)
		if err != nil {
			return nil, storeErr("guilds", err)
		}
		s := GuildSummary{ID: g.ID, Name: g.Name, OwnerID: g.OwnerID, Members: n}
		if u, err := a.h.store.UserByID(ctx, g.OwnerID); err == nil {
			s.Owner = u.Username
			if u.Origin != "" {
				s.Owner += "@" + u.Origin
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// DeleteGuild deletes one of this homeserver's guilds, whoever owns it:
// its GUILD_DELETE goes to its members and, through its log, to the
// replicas on other servers as any deletion's does. A replica of another
// server's guild is refused (REMOTE_GUILD): its origin decides.
func (a *Admin) DeleteGuild(ctx context.Context, guildID snowflake.ID) error {
	return doErr(ctx, a.h, write[none]{op: "admin delete guild", guild: guildID,
		here: func(ctx context.Context) (none, error) { return nothing(a.deleteGuildHere(ctx, guildID)) }})
}

func (a *Admin) deleteGuildHere(ctx context.Context, guildID snowflake.ID) error {
	h := a.h
	now := h.now()
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		if _, err := tx.GuildByID(ctx, guildID); errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("guild %d: %w", guildID, ErrUnknownGuild)
		} else if err != nil {
			return err
		}
		if err := tx.DeleteGuild(ctx, guildID); err != nil {
			return err
		}
		// Recorded for a server running beside the command line, whose
		// gateway and sender did not see this event on their bus.
		if err := tx.RecordGuildDeletion(ctx, storage.GuildDeletion{GuildID: guildID, DeletedAt: now}); err != nil {
			return err
		}
		return ev.Append(ctx, guildID, "GUILD_DELETE", discord.GuildDeleteEvent{ID: guildID})
	})
	if err != nil {
		return domainErr("admin delete guild", err)
	}
	h.closings.seenGuild(guildID, now)
	h.log.Info("guild deleted by the operator", "guild_id", guildID, "by", a.by)
	return nil
}

package homeserver

import (
	"context"
	"errors"

	"hearth/snowflake"
	"hearth/storage"
)

// errMirrored stops a mirror's creation that finds the Discord guild
// mirrored already (the transaction then writes nothing).
var errMirrored = errors.New("mirrored already")

// Mirror is the mirror guild of a Discord guild, owned by p (the bot's
// puppet) and made if need be, without default channels (the mirror
// takes Discord's). The guild and its mapping commit in one transaction,
// so that a link interrupted at any point and requested again finds the
// mirror it made, and a crash leaves no guild that nothing maps to.
// made says whether this call made it.
func (b *Bridge) Mirror(ctx context.Context, p Principal, discordGuild, name string) (id snowflake.ID, made bool, err error) {
	if id, err := b.LocalID(ctx, BridgeGuild, discordGuild); err == nil || !errors.Is(err, ErrBridgeUnmapped) {
		return id, false, err
	}
	g, err := b.h.createGuild(ctx, p, GuildCreate{Name: name}, false, func(ctx context.Context, tx storage.Tx, g storage.Guild) error {
		if _, err := tx.BridgeID(ctx, BridgeGuild, discordGuild); err == nil {
			return errMirrored
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		return tx.AddBridgeID(ctx, BridgeGuild, discordGuild, g.ID)
	})
	if errors.Is(err, errMirrored) || errors.Is(err, storage.ErrConflict) {
		// Made meanwhile by another link of the same guild.
		id, err := b.LocalID(ctx, BridgeGuild, discordGuild)
		return id, false, err
	}
	if err != nil {
		return 0, false, err
	}
	return g.ID, true, nil
}

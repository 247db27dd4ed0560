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

// ImportThread starts the mirror's thread of a Discord thread as p, in
// channelID (from messageID when Discord's was started from a message),
// once: the thread, its event and its mapping (kind BridgeChannel) commit
// in one transaction, so that a bridge that crashes after the import and
// is told of the thread again (a replay, a catch-up) finds the mapping
// and makes no second thread. dup says the thread was mirrored already
// (id is then the existing one). The mirror's permissions apply.
func (b *Bridge) ImportThread(ctx context.Context, p Principal, channelID, messageID snowflake.ID, discordThread string,
	in ThreadCreate) (id snowflake.ID, dup bool, err error) {
	if id, err := b.LocalID(ctx, BridgeChannel, discordThread); err == nil || !errors.Is(err, ErrBridgeUnmapped) {
		return id, err == nil, err
	}
	in.bridgeKey = discordThread
	t, err := b.h.startThreadHere(ctx, p, channelID, messageID, in)
	if err != nil {
		// Mirrored meanwhile (errMirrored, or a conflict with another
		// import of the same thread): the mapping says by which thread.
		if id, lerr := b.LocalID(ctx, BridgeChannel, discordThread); lerr == nil {
			return id, true, nil
		}
		return 0, false, err
	}
	return t.ID, false, nil
}

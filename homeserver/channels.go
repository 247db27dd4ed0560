package homeserver

import (
	"context"
	"errors"
	"fmt"
	"hearth/homeserver/wire"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"hearth/discord"
	"hearth/homeserver/permission"
	"hearth/snowflake"
	"hearth/storage"
)

// Channel limits, Discord's.
const (
	ChannelNameMax      = 100
	ChannelTopicMax     = 1024
	SlowmodeMax         = 21600
	MaxChannelsPerGuild = 500
)

// ChannelFields are the settable fields of a channel, for create and update.
type ChannelFields struct {
	Name             Optional[string]
	Type             Optional[int]
	Topic            Optional[string]
	Position         Optional[int]
	ParentID         Optional[snowflake.ID]
	NSFW             Optional[bool]
	RateLimitPerUser Optional[int]
	Bitrate          Optional[int]
	UserLimit        Optional[int]
	// Overwrites replaces every overwrite when Set.
	Overwrites Optional[[]Overwrite]
}

// normaliseName gives text channels Discord's shape: lower case, dashes for
// spaces.
func normaliseName(typ int, name string) string {
	name = strings.TrimSpace(name)
	if typ == ChannelText || typ == ChannelAnnouncement || typ == ChannelForum {
		name = strings.ToLower(strings.Join(strings.Fields(name), "-"))
	}
	return name
}

// applyChannelFields validates f onto c inside the guild a describes.
func applyChannelFields(ctx context.Context, tx storage.Reader, a *access, c *storage.Channel, f ChannelFields, creating bool) error {
	v := &ValidationError{}
	if f.Type.Set {
		switch t := f.Type.Value; {
		case creating && (t == ChannelText || t == ChannelVoice || t == ChannelCategory || t == ChannelAnnouncement || t == ChannelForum):
			c.Type = t
		case !creating && (t == c.Type || (c.Type == ChannelText && t == ChannelAnnouncement) || (c.Type == ChannelAnnouncement && t == ChannelText)):
			c.Type = t
		default:
			v.Add("type", "BASE_TYPE_CHOICES", "Value must be one of {0, 2, 4, 5, 15}; text and announcement channels convert only into each other.")
		}
	}
	if f.Name.Set || creating {
		name := normaliseName(c.Type, f.Name.Value)
		if n := utf8.RuneCountInString(name); n < 1 || n > ChannelNameMax {
			v.Add("name", "BASE_TYPE_BAD_LENGTH", fmt.Sprintf("Must be between 1 and %d in length.", ChannelNameMax))
		}
		c.Name = name
	}
	if f.Topic.Set {
		if utf8.RuneCountInString(f.Topic.Value) > ChannelTopicMax {
			v.Add("topic", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", ChannelTopicMax))
		}
		c.Topic = f.Topic.Value
	}
	if f.NSFW.Set {
		c.NSFW = f.NSFW.Value
	}
	if f.RateLimitPerUser.Set {
		if r := f.RateLimitPerUser.Value; r < 0 || r > SlowmodeMax {
			v.Add("rate_limit_per_user", "NUMBER_TYPE_MAX", fmt.Sprintf("Must be between 0 and %d.", SlowmodeMax))
		}
		c.RateLimitPerUser = f.RateLimitPerUser.Value
	}
	if c.Type == ChannelVoice {
		if creating && c.Bitrate == 0 {
			c.Bitrate = 64000
		}
		if f.Bitrate.Set {
			if b := f.Bitrate.Value; b < 8000 || b > 384000 {
				v.Add("bitrate", "NUMBER_TYPE_MIN", "Must be between 8000 and 384000.")
			}
			c.Bitrate = f.Bitrate.Value
		}
		if f.UserLimit.Set {
			if u := f.UserLimit.Value; u < 0 || u > 99 {
				v.Add("user_limit", "NUMBER_TYPE_MAX", "Must be between 0 and 99.")
			}
			c.UserLimit = f.UserLimit.Value
		}
	}
	if f.Position.Set {
		if f.Position.Value < 0 {
			v.Add("position", "NUMBER_TYPE_MIN", "Must be at least 0.")
		}
		c.Position = f.Position.Value
	}
	if f.ParentID.Set {
		c.ParentID = f.ParentID.Value
	}
	if c.ParentID != 0 {
		if err := checkParent(ctx, tx, a.guild.ID, c, c.ParentID); err != nil {
			v.Add("parent_id", "CHANNEL_PARENT_INVALID", err.Error())
		}
	}
	if f.Overwrites.Set {
		for i, o := range f.Overwrites.Value {
			field := fmt.Sprintf("permission_overwrites.%d", i)
			if o.Type != storage.OverwriteRole && o.Type != storage.OverwriteMember {
				v.Add(field+".type", "BASE_TYPE_CHOICES", "Value must be one of {0, 1}.")
			} else if o.Type == storage.OverwriteRole {
				if _, ok := a.byID[o.TargetID]; !ok {
					v.Add(field+".id", "ROLE_INVALID", "Unknown role.")
				}
			}
		}
	}
	return v.Err()
}

// checkParent refuses a parent that is not a category of the same guild, and
// a category inside a category (channels nest one level deep).
func checkParent(ctx context.Context, tx storage.Reader, guildID snowflake.ID, c *storage.Channel, parentID snowflake.ID) error {
	if c.Type == ChannelCategory {
		return problem("A category cannot have a parent.")
	}
	if parentID == c.ID {
		return problem("A channel cannot be its own parent.")
	}
	p, err := tx.ChannelByID(ctx, parentID)
	if err != nil || p.GuildID != guildID {
		return problem("Unknown parent channel.")
	}
	if p.Type != ChannelCategory {
		return problem("The parent must be a category.")
	}
	return nil
}

// requireOverwrites checks that the user may set these overwrites: it needs
// MANAGE_ROLES and every bit it allows or denies.
func requireOverwrites(a *access, c storage.Channel, ows []Overwrite) error {
	if len(ows) == 0 {
		return nil
	}
	if !a.base.Has(permission.ManageRoles) && !a.in(c).Has(permission.ManageRoles) {
		return fmt.Errorf("set overwrites: %w", ErrMissingPermission)
	}
	for _, o := range ows {
		if !a.canGrant(permission.Set(o.Allow | o.Deny)) {
			return fmt.Errorf("set overwrites beyond own permissions: %w", ErrMissingPermission)
		}
	}
	return nil
}

// CreateChannel makes a channel in a guild (MANAGE_CHANNELS).
func (h *Homeserver) CreateChannel(ctx context.Context, p Principal, guildID snowflake.ID, f ChannelFields) (discord.Channel, error) {
	return do(ctx, h, write[discord.Channel]{op: "create channel", guild: guildID,
		here: func(ctx context.Context) (discord.Channel, error) { return h.createChannelHere(ctx, p, guildID, f) },
		there: func(ctx context.Context, g replicaLog) (discord.Channel, error) {
			return h.forwardChannelFields(ctx, p, g, wire.ActChanCreate, 0, f)
		}})
}

// createChannelHere carries out CreateChannel on this server's own log.
func (h *Homeserver) createChannelHere(ctx context.Context, p Principal, guildID snowflake.ID, f ChannelFields) (discord.Channel, error) {
	var out discord.Channel
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		a, err := h.loadAccess(ctx, tx, guildID, p.User.ID)
		if err != nil {
			return err
		}
		if err := a.require(permission.ManageChannels); err != nil {
			return err
		}
		existing, err := tx.GuildChannels(ctx, guildID)
		if err != nil {
			return err
		}
		if len(existing) >= MaxChannelsPerGuild {
			return ErrMaxChannels
		}
		c := storage.Channel{ID: h.cfg.IDs.Next(), GuildID: guildID, Type: ChannelText, CreatedAt: h.now()}
		if err := applyChannelFields(ctx, tx, a, &c, f, true); err != nil {
			return err
		}
		if !f.Position.Set {
			c.Position = nextPosition(existing, c)
		}
		if f.Overwrites.Set {
			c.Overwrites = f.Overwrites.Value
			if err := requireOverwrites(a, c, c.Overwrites); err != nil {
				return err
			}
		}
		if err := tx.CreateChannel(ctx, c); err != nil {
			return err
		}
		out = discordChannel(c)
		if err := h.audit(ctx, ev, guildID, p.User.ID, AuditChannelCreate, c.ID,
			[]discord.AuditLogChange{change("name", nil, c.Name), change("type", nil, c.Type)}, nil); err != nil {
			return err
		}
		return ev.Append(ctx, guildID, "CHANNEL_CREATE", out)
	})
	return out, domainErr("create channel", err)
}

// nextPosition puts a new channel after its siblings.
func nextPosition(existing []storage.Channel, c storage.Channel) int {
	pos := 0
	for _, e := range existing {
		if e.ParentID == c.ParentID && (e.Type == ChannelCategory) == (c.Type == ChannelCategory) && e.Position >= pos {
			pos = e.Position + 1
		}
	}
	return pos
}

// Channel returns a channel the caller can view.
func (h *Homeserver) Channel(ctx context.Context, p Principal, channelID snowflake.ID) (discord.Channel, error) {
	_, c, err := h.accessByChannel(ctx, h.store, channelID, p.User.ID)
	if err != nil {
		return discord.Channel{}, err
	}
	return discordChannel(c), nil
}

// GuildChannels lists the channels of a guild the caller can view.
func (h *Homeserver) GuildChannels(ctx context.Context, p Principal, guildID snowflake.ID) ([]discord.Channel, error) {
	a, err := h.loadAccess(ctx, h.store, guildID, p.User.ID)
	if err != nil {
		return nil, err
	}
	cs, err := h.store.GuildChannels(ctx, guildID)
	if err != nil {
		return nil, storeErr("guild channels", err)
	}
	out := make([]discord.Channel, 0, len(cs))
	for _, c := range cs {
		if a.in(c).Has(permission.ViewChannel) {
			out = append(out, discordChannel(c))
		}
	}
	return out, nil
}

// UpdateChannel changes a channel (MANAGE_CHANNELS in it).
func (h *Homeserver) UpdateChannel(ctx context.Context, p Principal, channelID snowflake.ID, f ChannelFields) (discord.Channel, error) {
	return do(ctx, h, write[discord.Channel]{op: "update channel", channel: channelID, guildOnly: true,
		here: func(ctx context.Context) (discord.Channel, error) { return h.updateChannelHere(ctx, p, channelID, f) },
		there: func(ctx context.Context, g replicaLog) (discord.Channel, error) {
			return h.forwardChannelFields(ctx, p, g, wire.ActChanEdit, channelID, f)
		}})
}

// updateChannelHere carries out UpdateChannel on this server's own log.
func (h *Homeserver) updateChannelHere(ctx context.Context, p Principal, channelID snowflake.ID, f ChannelFields) (discord.Channel, error) {
	var out discord.Channel
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		a, c, err := h.accessByChannel(ctx, tx, channelID, p.User.ID)
		if err != nil {
			return err
		}
		if err := a.requireIn(c, permission.ManageChannels); err != nil {
			return err
		}
		before := c
		if err := applyChannelFields(ctx, tx, a, &c, f, false); err != nil {
			return err
		}
		if c.Type == ChannelCategory && c.Type != before.Type {
			return Invalid("type", "BASE_TYPE_CHOICES", "A channel cannot become a category.")
		}
		if err := tx.UpdateChannel(ctx, storage.ScopeOf(c), c); err != nil {
			return err
		}
		if f.Overwrites.Set {
			if err := requireOverwrites(a, c, f.Overwrites.Value); err != nil {
				return err
			}
			if err := replaceOverwrites(ctx, tx, c, f.Overwrites.Value); err != nil {
				return err
			}
			c.Overwrites = f.Overwrites.Value
			if err := syncChildren(ctx, tx, ev, c, before.Overwrites); err != nil {
				return err
			}
		}
		out = discordChannel(c)
		if err := h.audit(ctx, ev, c.GuildID, p.User.ID, AuditChannelUpdate, c.ID, channelChanges(before, c), nil); err != nil {
			return err
		}
		return ev.Append(ctx, c.GuildID, "CHANNEL_UPDATE", out)
	})
	return out, domainErr("update channel", err)
}

// syncChildren carries a category's new overwrites to the channels synced
// with it, as Discord does: a channel whose overwrites were the category's
// before the change follows it; one with overwrites of its own stays as it
// is. Each channel that changes gets its CHANNEL_UPDATE in the same
// transaction, so every viewer and replica sees the new overwrites.
func syncChildren(ctx context.Context, tx storage.Tx, ev *events, cat storage.Channel, before []Overwrite) error {
	if cat.Type != ChannelCategory || sameOverwrites(before, cat.Overwrites) {
		return nil
	}
	all, err := tx.GuildChannels(ctx, cat.GuildID)
	if err != nil {
		return err
	}
	for _, c := range all {
		if c.ID == cat.ID || c.ParentID != cat.ID || !sameOverwrites(c.Overwrites, before) {
			continue
		}
		if err := replaceOverwrites(ctx, tx, c, cat.Overwrites); err != nil {
			return err
		}
		c.Overwrites = slices.Clone(cat.Overwrites)
		if err := ev.Append(ctx, c.GuildID, "CHANNEL_UPDATE", discordChannel(c)); err != nil {
			return err
		}
	}
	return nil
}

// sameOverwrites reports whether two lists hold the same overwrites in any
// order: what "synced with its category" means.
func sameOverwrites(a, b []Overwrite) bool {
	if len(a) != len(b) {
		return false
	}
	byTarget := make(map[snowflake.ID]Overwrite, len(a))
	for _, o := range a {
		byTarget[o.TargetID] = o
	}
	for _, o := range b {
		if x, ok := byTarget[o.TargetID]; !ok || x != o {
			return false
		}
	}
	return true
}

func replaceOverwrites(ctx context.Context, tx storage.Tx, c storage.Channel, ows []Overwrite) error {
	keep := map[snowflake.ID]bool{}
	for _, o := range ows {
		keep[o.TargetID] = true
		if err := tx.SetOverwrite(ctx, storage.ScopeOf(c), c.ID, o); err != nil {
			return err
		}
	}
	for _, o := range c.Overwrites {
		if !keep[o.TargetID] {
			if err := tx.DeleteOverwrite(ctx, storage.ScopeOf(c), c.ID, o.TargetID); err != nil {
				return err
			}
		}
	}
	return nil
}

func channelChanges(a, b storage.Channel) []discord.AuditLogChange {
	var out []discord.AuditLogChange
	if a.Name != b.Name {
		out = append(out, change("name", a.Name, b.Name))
	}
	if a.Topic != b.Topic {
		out = append(out, change("topic", a.Topic, b.Topic))
	}
	if a.Position != b.Position {
		out = append(out, change("position", a.Position, b.Position))
	}
	if a.ParentID != b.ParentID {
		out = append(out, change("parent_id", a.ParentID.String(), b.ParentID.String()))
	}
	if a.NSFW != b.NSFW {
		out = append(out, change("nsfw", a.NSFW, b.NSFW))
	}
	if a.RateLimitPerUser != b.RateLimitPerUser {
		out = append(out, change("rate_limit_per_user", a.RateLimitPerUser, b.RateLimitPerUser))
	}
	return out
}

// DeleteChannel deletes a channel (MANAGE_CHANNELS in it). The channels of a
// deleted category move to the top level, as in Discord.
func (h *Homeserver) DeleteChannel(ctx context.Context, p Principal, channelID snowflake.ID) (discord.Channel, error) {
	return do(ctx, h, write[discord.Channel]{op: "delete channel", channel: channelID, guildOnly: true,
		here: func(ctx context.Context) (discord.Channel, error) { return h.deleteChannelHere(ctx, p, channelID) },
		there: func(ctx context.Context, g replicaLog) (discord.Channel, error) {
			before, err := h.Channel(ctx, p, channelID)
			if err != nil {
				return discord.Channel{}, err
			}
			if _, err := h.forwardChannelFields(ctx, p, g, wire.ActChanDelete, channelID, ChannelFields{}); err != nil {
				return discord.Channel{}, err
			}
			return before, nil
		}})
}

// deleteChannelHere carries out DeleteChannel on this server's own log.
func (h *Homeserver) deleteChannelHere(ctx context.Context, p Principal, channelID snowflake.ID) (discord.Channel, error) {
	var out discord.Channel
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		a, c, err := h.accessByChannel(ctx, tx, channelID, p.User.ID)
		if err != nil {
			return err
		}
		if err := a.requireIn(c, permission.ManageChannels); err != nil {
			return err
		}
		if c.Type == ChannelCategory {
			all, err := tx.GuildChannels(ctx, c.GuildID)
			if err != nil {
				return err
			}
			for _, child := range all {
				if child.ParentID != c.ID {
					continue
				}
				child.ParentID = 0
				if err := tx.UpdateChannel(ctx, storage.ScopeOf(c), child); err != nil {
					return err
				}
				if err := ev.Append(ctx, c.GuildID, "CHANNEL_UPDATE", discordChannel(child)); err != nil {
					return err
				}
			}
		}
		if a.guild.SystemChannelID == c.ID {
			g := a.guild
			g.SystemChannelID = 0
			if err := tx.UpdateGuild(ctx, g); err != nil {
				return err
			}
		}
		if err := tx.DeleteChannel(ctx, storage.ScopeOf(c), c.ID); err != nil {
			return err
		}
		out = discordChannel(c)
		if err := h.audit(ctx, ev, c.GuildID, p.User.ID, AuditChannelDelete, c.ID,
			[]discord.AuditLogChange{change("name", c.Name, nil)}, nil); err != nil {
			return err
		}
		return ev.Append(ctx, c.GuildID, "CHANNEL_DELETE", out)
	})
	return out, domainErr("delete channel", err)
}

// ChannelPosition is one entry of a bulk reorder.
type ChannelPosition struct {
	ID              snowflake.ID
	Position        Optional[int]
	ParentID        Optional[snowflake.ID]
	LockPermissions bool
}

// ReorderChannels moves channels (MANAGE_CHANNELS), what a client's drag and
// drop sends. The whole request applies or none of it.
func (h *Homeserver) ReorderChannels(ctx context.Context, p Principal, guildID snowflake.ID, moves []ChannelPosition) error {
	return doErr(ctx, h, write[none]{op: "reorder channels", guild: guildID,
		here: func(ctx context.Context) (none, error) { return nothing(h.reorderChannelsHere(ctx, p, guildID, moves)) },
		there: func(ctx context.Context, g replicaLog) (none, error) {
			var ps []wire.ActPosition
			for _, m := range moves {
				id, err := h.globalOf(ctx, m.ID)
				if err != nil {
					return nothing(err)
				}
				ap := wire.ActPosition{ID: id, Position: m.Position.ptr(), LockPermissions: m.LockPermissions}
				if m.ParentID.Set {
					parent, err := h.globalOf(ctx, m.ParentID.Value)
					if err != nil {
						return nothing(err)
					}
					ap.Parent = &parent
				}
				ps = append(ps, ap)
			}
			return nothing(h.forwardSimple(ctx, p, g, wire.ActChanOrder, 0, 0, wire.ActData{Positions: ps}))
		}})
}

// reorderChannelsHere carries out ReorderChannels on this server's own log.
func (h *Homeserver) reorderChannelsHere(ctx context.Context, p Principal, guildID snowflake.ID, moves []ChannelPosition) error {
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		a, err := h.loadAccess(ctx, tx, guildID, p.User.ID)
		if err != nil {
			return err
		}
		if err := a.require(permission.ManageChannels); err != nil {
			return err
		}
		all, err := tx.GuildChannels(ctx, guildID)
		if err != nil {
			return err
		}
		byID := map[snowflake.ID]storage.Channel{}
		for _, c := range all {
			byID[c.ID] = c
		}
		v := &ValidationError{}
		changed := map[snowflake.ID]storage.Channel{}
		for i, m := range moves {
			c, ok := byID[m.ID]
			if !ok {
				v.Add(fmt.Sprintf("%d.id", i), "CHANNEL_INVALID", "Unknown channel of this guild.")
				continue
			}
			if m.Position.Set {
				if m.Position.Value < 0 {
					v.Add(fmt.Sprintf("%d.position", i), "NUMBER_TYPE_MIN", "Must be at least 0.")
				}
				c.Position = m.Position.Value
			}
			if m.ParentID.Set {
				c.ParentID = m.ParentID.Value
			}
			byID[c.ID] = c
			changed[c.ID] = c
		}
		// Parents are checked against the state after every move, so
		// that a request may both create a nesting and rely on it.
		for i, m := range moves {
			c, ok := changed[m.ID]
			if !ok || c.ParentID == 0 {
				continue
			}
			parent, ok := byID[c.ParentID]
			switch {
			case c.Type == ChannelCategory:
				v.Add(fmt.Sprintf("%d.parent_id", i), "CHANNEL_PARENT_INVALID", "A category cannot have a parent.")
			case !ok || parent.Type != ChannelCategory:
				v.Add(fmt.Sprintf("%d.parent_id", i), "CHANNEL_PARENT_INVALID", "The parent must be a category of this guild.")
			}
		}
		if err := v.Err(); err != nil {
			return err
		}
		lock := map[snowflake.ID]bool{}
		for _, m := range moves {
			lock[m.ID] = lock[m.ID] || m.LockPermissions
		}
		ids := make([]snowflake.ID, 0, len(changed))
		for id := range changed {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		for _, id := range ids {
			c := changed[id]
			if err := tx.UpdateChannel(ctx, storage.InGuild(guildID), c); err != nil {
				return err
			}
			if lock[id] && c.ParentID != 0 {
				if err := replaceOverwrites(ctx, tx, byIDWithOverwrites(all, id), byID[c.ParentID].Overwrites); err != nil {
					return err
				}
				c.Overwrites = byID[c.ParentID].Overwrites
			}
			if err := ev.Append(ctx, guildID, "CHANNEL_UPDATE", discordChannel(c)); err != nil {
				return err
			}
		}
		return nil
	})
	return domainErr("reorder channels", err)
}

func byIDWithOverwrites(all []storage.Channel, id snowflake.ID) storage.Channel {
	for _, c := range all {
		if c.ID == id {
			return c
		}
	}
	return storage.Channel{ID: id}
}

// SetOverwrite creates or replaces a channel permission overwrite
// (MANAGE_ROLES; only bits the caller has).
func (h *Homeserver) SetOverwrite(ctx context.Context, p Principal, channelID snowflake.ID, o Overwrite) error {
	return doErr(ctx, h, write[none]{op: "set overwrite", channel: channelID, guildOnly: true,
		here: func(ctx context.Context) (none, error) { return nothing(h.setOverwriteHere(ctx, p, channelID, o)) },
		there: func(ctx context.Context, g replicaLog) (none, error) {
			return nothing(h.forwardOverwrites(ctx, p, g, channelID, func(ows []Overwrite) []Overwrite {
				ows = slices.DeleteFunc(ows, func(x Overwrite) bool { return x.TargetID == o.TargetID })
				return append(ows, o)
			}))
		}})
}

// setOverwriteHere carries out SetOverwrite on this server's own log.
func (h *Homeserver) setOverwriteHere(ctx context.Context, p Principal, channelID snowflake.ID, o Overwrite) error {
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		a, c, err := h.accessByChannel(ctx, tx, channelID, p.User.ID)
		if err != nil {
			return err
		}
		if err := a.requireIn(c, permission.ManageRoles); err != nil {
			return err
		}
		if err := requireOverwrites(a, c, []Overwrite{o}); err != nil {
			return err
		}
		switch o.Type {
		case storage.OverwriteRole:
			if _, ok := a.byID[o.TargetID]; !ok {
				return fmt.Errorf("overwrite target: %w", ErrUnknownRole)
			}
		case storage.OverwriteMember:
			if _, err := tx.UserByID(ctx, o.TargetID); err != nil {
				return fmt.Errorf("overwrite target: %w", ErrUnknownUser)
			}
		default:
			return Invalid("type", "BASE_TYPE_CHOICES", "Value must be one of {0, 1}.")
		}
		action := AuditOverwriteCreate
		replaced := c.Overwrites[:0:0]
		for _, old := range c.Overwrites {
			if old.TargetID == o.TargetID {
				action = AuditOverwriteUpdate
				continue
			}
			replaced = append(replaced, old)
		}
		if err := tx.SetOverwrite(ctx, storage.ScopeOf(c), c.ID, o); err != nil {
			return err
		}
		before := c.Overwrites
		c.Overwrites = append(replaced, o)
		if err := syncChildren(ctx, tx, ev, c, before); err != nil {
			return err
		}
		if err := h.audit(ctx, ev, c.GuildID, p.User.ID, action, c.ID,
			[]discord.AuditLogChange{change("allow", nil, permission.Set(o.Allow).String()), change("deny", nil, permission.Set(o.Deny).String())},
			map[string]any{"id": o.TargetID.String(), "type": fmt.Sprint(o.Type)}); err != nil {
			return err
		}
		return ev.Append(ctx, c.GuildID, "CHANNEL_UPDATE", discordChannel(c))
	})
	return domainErr("set overwrite", err)
}

// DeleteOverwrite removes a channel permission overwrite (MANAGE_ROLES).
func (h *Homeserver) DeleteOverwrite(ctx context.Context, p Principal, channelID, targetID snowflake.ID) error {
	return doErr(ctx, h, write[none]{op: "delete overwrite", channel: channelID, guildOnly: true,
		here: func(ctx context.Context) (none, error) {
			return nothing(h.deleteOverwriteHere(ctx, p, channelID, targetID))
		},
		there: func(ctx context.Context, g replicaLog) (none, error) {
			return nothing(h.forwardOverwrites(ctx, p, g, channelID, func(ows []Overwrite) []Overwrite {
				return slices.DeleteFunc(ows, func(x Overwrite) bool { return x.TargetID == targetID })
			}))
		}})
}

// deleteOverwriteHere carries out DeleteOverwrite on this server's own log.
func (h *Homeserver) deleteOverwriteHere(ctx context.Context, p Principal, channelID, targetID snowflake.ID) error {
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		a, c, err := h.accessByChannel(ctx, tx, channelID, p.User.ID)
		if err != nil {
			return err
		}
		if err := a.requireIn(c, permission.ManageRoles); err != nil {
			return err
		}
		if err := tx.DeleteOverwrite(ctx, storage.ScopeOf(c), c.ID, targetID); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return ErrUnknownOverwrite
			}
			return err
		}
		kept := c.Overwrites[:0:0]
		for _, o := range c.Overwrites {
			if o.TargetID != targetID {
				kept = append(kept, o)
			}
		}
		before := c.Overwrites
		c.Overwrites = kept
		if err := syncChildren(ctx, tx, ev, c, before); err != nil {
			return err
		}
		if err := h.audit(ctx, ev, c.GuildID, p.User.ID, AuditOverwriteDelete, c.ID, nil,
			map[string]any{"id": targetID.String()}); err != nil {
			return err
		}
		return ev.Append(ctx, c.GuildID, "CHANNEL_UPDATE", discordChannel(c))
	})
	return domainErr("delete overwrite", err)
}

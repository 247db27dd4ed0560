package homeserver

import (
	"context"
	"fmt"
	"hearth/homeserver/wire"
	"slices"
	"sort"
	"unicode/utf8"

	"hearth/discord"
	"hearth/homeserver/permission"
	"hearth/snowflake"
	"hearth/storage"
)

// Role limits.
const (
	MaxRolesPerGuild = 250
	RoleNameMax      = 100
)

// RoleFields are the settable fields of a role.
type RoleFields struct {
	Name         Optional[string]
	Permissions  Optional[permission.Set]
	Color        Optional[int]
	Hoist        Optional[bool]
	Mentionable  Optional[bool]
	UnicodeEmoji Optional[string]
	Icon         Optional[string] // data URI
}

func (h *Homeserver) applyRoleFields(a *access, r *storage.Role, f RoleFields) ([]byte, []discord.AuditLogChange, error) {
	v := &ValidationError{}
	var changes []discord.AuditLogChange
	if f.Name.Set {
		if r.ID == a.guild.ID && f.Name.Value != r.Name {
			v.Add("name", "ROLE_NAME_IMMUTABLE", "The @everyone role cannot be renamed.")
		} else if n := utf8.RuneCountInString(f.Name.Value); n < 1 || n > RoleNameMax {
			v.Add("name", "BASE_TYPE_BAD_LENGTH", fmt.Sprintf("Must be between 1 and %d in length.", RoleNameMax))
		}
		changes = append(changes, change("name", r.Name, f.Name.Value))
		r.Name = f.Name.Value
	}
	if f.Color.Set {
		if c := f.Color.Value; c < 0 || c > 0xFFFFFF {
			v.Add("color", "NUMBER_TYPE_MAX", "Must be between 0 and 16777215.")
		}
		changes = append(changes, change("color", r.Color, f.Color.Value))
		r.Color = f.Color.Value
	}
	if f.Hoist.Set {
		changes = append(changes, change("hoist", r.Hoist, f.Hoist.Value))
		r.Hoist = f.Hoist.Value
	}
	if f.Mentionable.Set {
		changes = append(changes, change("mentionable", r.Mentionable, f.Mentionable.Value))
		r.Mentionable = f.Mentionable.Value
	}
	if f.UnicodeEmoji.Set {
		if utf8.RuneCountInString(f.UnicodeEmoji.Value) > 16 {
			v.Add("unicode_emoji", "BASE_TYPE_MAX_LENGTH", "Must be a single emoji.")
		}
		r.UnicodeEmoji = f.UnicodeEmoji.Value
	}
	var icon []byte
	if f.Icon.Set {
		var hash string
		icon, hash = h.decodeIcon(v, "icon", f.Icon.Value)
		r.Icon = hash
	}
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	if f.Permissions.Set {
		// Only the bits that change need to be held: a role may keep a
		// permission its editor lacks.
		diff := permission.Set(r.Permissions) ^ f.Permissions.Value
		if !a.canGrant(diff) {
			return nil, nil, fmt.Errorf("grant permissions beyond own: %w", ErrMissingPermission)
		}
		changes = append(changes, change("permissions", permission.Set(r.Permissions).String(), f.Permissions.Value.String()))
		r.Permissions = int64(f.Permissions.Value)
	}
	return icon, changes, nil
}

// CreateRole adds a role just above @everyone (MANAGE_ROLES).
func (h *Homeserver) CreateRole(ctx context.Context, p Principal, guildID snowflake.ID, f RoleFields) (discord.Role, error) {
	return do(ctx, h, write[discord.Role]{op: "create role", guild: guildID,
		here: func(ctx context.Context) (discord.Role, error) { return h.createRoleHere(ctx, p, guildID, f) },
		there: func(ctx context.Context, g replicaLog) (discord.Role, error) {
			return h.forwardRoleFields(ctx, p, g, wire.ActRoleCreate, 0, f)
		}})
}

// createRoleHere carries out CreateRole on this server's own log.
func (h *Homeserver) createRoleHere(ctx context.Context, p Principal, guildID snowflake.ID, f RoleFields) (discord.Role, error) {
	var out discord.Role
	var icon []byte
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		a, err := h.loadAccess(ctx, tx, guildID, p.User.ID)
		if err != nil {
			return err
		}
		if err := a.require(permission.ManageRoles); err != nil {
			return err
		}
		if len(a.roles) >= MaxRolesPerGuild {
			return ErrMaxRoles
		}
		r := storage.Role{ID: h.cfg.IDs.Next(), GuildID: guildID, Name: "new role", Position: 1, CreatedAt: h.now()}
		if !f.Permissions.Set {
			f.Permissions = Optional[permission.Set]{Set: true, Value: permission.Set(a.byID[guildID].Permissions)}
		}
		var changes []discord.AuditLogChange
		if icon, changes, err = h.applyRoleFields(a, &r, f); err != nil {
			return err
		}
		if err := makeRoomAtBottom(ctx, tx, a); err != nil {
			return err
		}
		if err := tx.CreateRole(ctx, r); err != nil {
			return err
		}
		out = discordRole(r)
		if err := h.audit(ctx, ev, guildID, p.User.ID, AuditRoleCreate, r.ID, changes, nil); err != nil {
			return err
		}
		return ev.Append(ctx, guildID, "GUILD_ROLE_CREATE", discord.RoleEvent{GuildID: guildID, Role: out})
	})
	if err == nil {
		err = h.putBlob(ctx, icon)
	}
	return out, domainErr("create role", err)
}

// makeRoomAtBottom moves every role but @everyone up one, so that a new
// role can take position 1.
func makeRoomAtBottom(ctx context.Context, tx storage.Tx, a *access) error {
	for _, other := range a.roles {
		if other.ID == a.guild.ID {
			continue
		}
		other.Position++
		if err := tx.UpdateRole(ctx, storage.InGuild(a.guild.ID), other); err != nil {
			return err
		}
	}
	return nil
}

// Roles lists a guild's roles.
func (h *Homeserver) Roles(ctx context.Context, p Principal, guildID snowflake.ID) ([]discord.Role, error) {
	a, err := h.loadAccess(ctx, h.store, guildID, p.User.ID)
	if err != nil {
		return nil, err
	}
	return discordRoles(a.roles), nil
}

// roleFor finds a role of the guild that the user may manage: below their
// highest role unless they own the guild.
func roleFor(a *access, roleID snowflake.ID) (storage.Role, error) {
	r, ok := a.byID[roleID]
	if !ok {
		return storage.Role{}, fmt.Errorf("role %d: %w", roleID, ErrUnknownRole)
	}
	if err := a.require(permission.ManageRoles); err != nil {
		return storage.Role{}, err
	}
	if r.ID != a.guild.ID && r.Position >= a.top() {
		return storage.Role{}, fmt.Errorf("role %d is not below the caller's highest role: %w", roleID, ErrMissingPermission)
	}
	return r, nil
}

// UpdateRole changes a role below the caller's highest (MANAGE_ROLES).
func (h *Homeserver) UpdateRole(ctx context.Context, p Principal, guildID, roleID snowflake.ID, f RoleFields) (discord.Role, error) {
	return do(ctx, h, write[discord.Role]{op: "update role", guild: guildID,
		here: func(ctx context.Context) (discord.Role, error) { return h.updateRoleHere(ctx, p, guildID, roleID, f) },
		there: func(ctx context.Context, g replicaLog) (discord.Role, error) {
			return h.forwardRoleFields(ctx, p, g, wire.ActRoleEdit, roleID, f)
		}})
}

// updateRoleHere carries out UpdateRole on this server's own log.
func (h *Homeserver) updateRoleHere(ctx context.Context, p Principal, guildID, roleID snowflake.ID, f RoleFields) (discord.Role, error) {
	var out discord.Role
	var icon []byte
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		a, err := h.loadAccess(ctx, tx, guildID, p.User.ID)
		if err != nil {
			return err
		}
		r, err := roleFor(a, roleID)
		if err != nil {
			return err
		}
		var changes []discord.AuditLogChange
		if icon, changes, err = h.applyRoleFields(a, &r, f); err != nil {
			return err
		}
		if err := tx.UpdateRole(ctx, storage.InGuild(guildID), r); err != nil {
			return err
		}
		out = discordRole(r)
		if err := h.audit(ctx, ev, guildID, p.User.ID, AuditRoleUpdate, r.ID, changes, nil); err != nil {
			return err
		}
		return ev.Append(ctx, guildID, "GUILD_ROLE_UPDATE", discord.RoleEvent{GuildID: guildID, Role: out})
	})
	if err == nil {
		err = h.putBlob(ctx, icon)
	}
	return out, domainErr("update role", err)
}

// DeleteRole deletes a role below the caller's highest (MANAGE_ROLES);
// @everyone cannot be deleted.
func (h *Homeserver) DeleteRole(ctx context.Context, p Principal, guildID, roleID snowflake.ID) error {
	return doErr(ctx, h, write[none]{op: "delete role", guild: guildID,
		here: func(ctx context.Context) (none, error) { return nothing(h.deleteRoleHere(ctx, p, guildID, roleID)) },
		there: func(ctx context.Context, g replicaLog) (none, error) {
			_, err := h.forwardRoleFields(ctx, p, g, wire.ActRoleDelete, roleID, RoleFields{})
			return nothing(err)
		}})
}

// deleteRoleHere carries out DeleteRole on this server's own log.
func (h *Homeserver) deleteRoleHere(ctx context.Context, p Principal, guildID, roleID snowflake.ID) error {
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		a, err := h.loadAccess(ctx, tx, guildID, p.User.ID)
		if err != nil {
			return err
		}
		if roleID == guildID {
			return Invalid("role_id", "ROLE_INVALID", "The @everyone role cannot be deleted.")
		}
		r, err := roleFor(a, roleID)
		if err != nil {
			return err
		}
		if r.Managed {
			return fmt.Errorf("role %d is managed by an integration: %w", r.ID, ErrMissingPermission)
		}
		// An emoji restricted to the role loses it (the rows cascade);
		// clients are told with GUILD_EMOJIS_UPDATE.
		emojis, err := tx.GuildEmojis(ctx, guildID)
		if err != nil {
			return err
		}
		restricted := slices.ContainsFunc(emojis, func(e storage.Emoji) bool { return slices.Contains(e.Roles, r.ID) })
		if err := tx.DeleteRole(ctx, storage.InGuild(guildID), r.ID); err != nil {
			return err
		}
		if err := h.audit(ctx, ev, guildID, p.User.ID, AuditRoleDelete, r.ID,
			[]discord.AuditLogChange{change("name", r.Name, nil)}, nil); err != nil {
			return err
		}
		if err := ev.Append(ctx, guildID, "GUILD_ROLE_DELETE", discord.RoleDeleteEvent{GuildID: guildID, RoleID: r.ID}); err != nil || !restricted {
			return err
		}
		if emojis, err = tx.GuildEmojis(ctx, guildID); err != nil {
			return err
		}
		return h.emojisChanged(ctx, tx, ev, guildID, emojis)
	})
	return domainErr("delete role", err)
}

// RolePosition is one entry of a role reorder.
type RolePosition struct {
	ID       snowflake.ID
	Position int
}

// ReorderRoles moves roles (MANAGE_ROLES): only roles below the caller's
// highest, and only to positions below it. Positions are then renumbered
// 1..n without gaps, ties broken by ID, as Discord does.
func (h *Homeserver) ReorderRoles(ctx context.Context, p Principal, guildID snowflake.ID, moves []RolePosition) ([]discord.Role, error) {
	return do(ctx, h, write[[]discord.Role]{op: "reorder roles", guild: guildID,
		here: func(ctx context.Context) ([]discord.Role, error) { return h.reorderRolesHere(ctx, p, guildID, moves) },
		there: func(ctx context.Context, g replicaLog) ([]discord.Role, error) {
			var ps []wire.ActPosition
			for _, m := range moves {
				id, err := h.globalOf(ctx, m.ID)
				if err != nil {
					return nil, err
				}
				pos := m.Position
				ps = append(ps, wire.ActPosition{ID: id, Position: &pos})
			}
			if err := h.forwardSimple(ctx, p, g, wire.ActRoleOrder, 0, 0, wire.ActData{Positions: ps}); err != nil {
				return nil, err
			}
			return h.Roles(ctx, p, guildID)
		}})
}

// reorderRolesHere carries out ReorderRoles on this server's own log.
func (h *Homeserver) reorderRolesHere(ctx context.Context, p Principal, guildID snowflake.ID, moves []RolePosition) ([]discord.Role, error) {
	var out []discord.Role
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		a, err := h.loadAccess(ctx, tx, guildID, p.User.ID)
		if err != nil {
			return err
		}
		if err := a.require(permission.ManageRoles); err != nil {
			return err
		}
		want := map[snowflake.ID]int{}
		for i, m := range moves {
			r, ok := a.byID[m.ID]
			if !ok || m.ID == guildID {
				return Invalid(fmt.Sprintf("%d.id", i), "ROLE_INVALID", "Unknown role, or @everyone (which cannot move).")
			}
			if r.Position >= a.top() || m.Position >= a.top() || m.Position < 1 {
				return fmt.Errorf("move role %d: %w", m.ID, ErrMissingPermission)
			}
			want[m.ID] = m.Position
		}
		var rest []storage.Role
		for _, r := range a.roles {
			if r.ID == guildID {
				continue
			}
			if pos, ok := want[r.ID]; ok {
				r.Position = pos
			}
			rest = append(rest, r)
		}
		// Moved roles win ties against the ones already there.
		sort.SliceStable(rest, func(i, j int) bool {
			if rest[i].Position != rest[j].Position {
				return rest[i].Position < rest[j].Position
			}
			_, mi := want[rest[i].ID]
			_, mj := want[rest[j].ID]
			if mi != mj {
				return !mi
			}
			return rest[i].ID < rest[j].ID
		})
		out = []discord.Role{discordRole(a.byID[guildID])}
		for i, r := range rest {
			old := a.byID[r.ID].Position
			r.Position = i + 1
			if r.Position != old {
				if err := tx.UpdateRole(ctx, storage.InGuild(guildID), r); err != nil {
					return err
				}
				if err := ev.Append(ctx, guildID, "GUILD_ROLE_UPDATE", discord.RoleEvent{GuildID: guildID, Role: discordRole(r)}); err != nil {
					return err
				}
			}
			out = append(out, discordRole(r))
		}
		return nil
	})
	return out, domainErr("reorder roles", err)
}

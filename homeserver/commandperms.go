package homeserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"hearth/discord"
	"hearth/homeserver/permission"
	"hearth/snowflake"
	"hearth/storage"
)

// Command permissions: a guild's overrides of who may use an
// application's commands, and where. On Discord only a person's OAuth2
// Bearer token may change them; here the person must be a member with
// MANAGE_GUILD and MANAGE_ROLES (what Discord's own client asks of whoever
// edits them), and bots may only read them.

// ApplicationCommandPermissionsUpdate is the dispatch the application's
// bot gets when a guild changes its overrides.
const ApplicationCommandPermissionsUpdate = "APPLICATION_COMMAND_PERMISSIONS_UPDATE"

func shapePermissions(p storage.CommandPermissions) discord.GuildCommandPermissions {
	out := discord.GuildCommandPermissions{ID: p.CommandID, ApplicationID: p.ApplicationID, GuildID: p.GuildID}
	_ = json.Unmarshal(p.Permissions, &out.Permissions) // written by SetCommandPermissions
	if out.Permissions == nil {
		out.Permissions = []discord.CommandPermission{}
	}
	return out
}

// GuildCommandPermissions lists an application's overrides in a guild.
func (h *Homeserver) GuildCommandPermissions(ctx context.Context, p Principal, appID, guildID snowflake.ID) ([]discord.GuildCommandPermissions, error) {
	a, err := h.commandPermsReader(ctx, p, appID, guildID)
	if err != nil {
		return nil, err
	}
	list, err := h.store.CommandPermissions(ctx, a.ID, guildID)
	if err != nil {
		return nil, storeErr("command permissions", err)
	}
	out := make([]discord.GuildCommandPermissions, 0, len(list))
	for _, l := range list {
		out = append(out, shapePermissions(l))
	}
	return out, nil
}

// CommandPermissionsOf returns the overrides of one command (or, with the
// application's own ID, of all of them) in a guild.
func (h *Homeserver) CommandPermissionsOf(ctx context.Context, p Principal, appID, guildID, cmdID snowflake.ID) (discord.GuildCommandPermissions, error) {
	list, err := h.GuildCommandPermissions(ctx, p, appID, guildID)
	if err != nil {
		return discord.GuildCommandPermissions{}, err
	}
	for _, l := range list {
		if l.ID == cmdID {
			return l, nil
		}
	}
	return discord.GuildCommandPermissions{}, fmt.Errorf("command %d: %w", cmdID, ErrUnknownCommandPermissions)
}

// commandPermsReader allows the application itself (its owner or bot), or
// a member of the guild who may manage it, to read the overrides.
func (h *Homeserver) commandPermsReader(ctx context.Context, p Principal, appID, guildID snowflake.ID) (storage.Application, error) {
	if a, err := h.commandScope(ctx, p, appID, guildID); err == nil {
		return a, nil
	} else if !errors.Is(err, ErrUnknownApplication) {
		return a, err
	}
	return h.commandPermsEditor(ctx, p, appID, guildID)
}

// commandPermsEditor checks that p may edit the application's overrides
// in the guild: a person (not a bot) with MANAGE_GUILD and MANAGE_ROLES,
// in a guild the application's bot is in.
func (h *Homeserver) commandPermsEditor(ctx context.Context, p Principal, appID, guildID snowflake.ID) (storage.Application, error) {
	if p.User.Bot {
		return storage.Application{}, ErrBotsForbidden
	}
	acc, err := h.loadAccess(ctx, h.store, guildID, p.User.ID)
	if err != nil {
		return storage.Application{}, err
	}
	if err := acc.require(permission.ManageGuild | permission.ManageRoles); err != nil {
		return storage.Application{}, err
	}
	a, err := h.store.Application(ctx, appID)
	if errors.Is(err, storage.ErrNotFound) {
		return a, fmt.Errorf("application %d: %w", appID, ErrUnknownApplication)
	} else if err != nil {
		return a, storeErr("application", err)
	}
	if _, err := h.store.Member(ctx, guildID, a.ID); errors.Is(err, storage.ErrNotFound) {
		return a, fmt.Errorf("application %d not in guild %d: %w", a.ID, guildID, ErrMissingAccess)
	} else if err != nil {
		return a, storeErr("command permissions", err)
	}
	return a, nil
}

// SetCommandPermissions replaces the overrides of one command (or, with
// the application's ID, of all its commands) in a guild, and tells the
// application's bot.
func (h *Homeserver) SetCommandPermissions(ctx context.Context, p Principal, appID, guildID, cmdID snowflake.ID, perms []discord.CommandPermission) (discord.GuildCommandPermissions, error) {
	a, err := h.commandPermsEditor(ctx, p, appID, guildID)
	if err != nil {
		return discord.GuildCommandPermissions{}, err
	}
	if cmdID != a.ID {
		c, err := h.store.ApplicationCommand(ctx, a.ID, cmdID)
		if errors.Is(err, storage.ErrNotFound) || err == nil && c.GuildID != 0 && c.GuildID != guildID {
			return discord.GuildCommandPermissions{}, fmt.Errorf("command %d: %w", cmdID, ErrUnknownCommand)
		} else if err != nil {
			return discord.GuildCommandPermissions{}, storeErr("command", err)
		}
	}
	v := &ValidationError{}
	if len(perms) > MaxCommandPermissions {
		v.Add("permissions", "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
	}
	roles, err := h.store.GuildRoles(ctx, guildID)
	if err != nil {
		return discord.GuildCommandPermissions{}, storeErr("roles", err)
	}
	seen := map[[2]int64]bool{}
	for i, e := range perms {
		f := fmt.Sprintf("permissions.%d.", i)
		switch e.Type {
		case discord.CommandPermissionRole:
			if !slices.ContainsFunc(roles, func(r storage.Role) bool { return r.ID == e.ID }) {
				v.Add(f+"id", "UNKNOWN_ROLE", "Unknown role")
			}
		case discord.CommandPermissionUser:
			if _, err := h.store.UserByID(ctx, e.ID); err != nil {
				v.Add(f+"id", "UNKNOWN_USER", "Unknown user")
			}
		case discord.CommandPermissionChannel:
			if e.ID != guildID-1 {
				if c, err := h.store.ChannelByID(ctx, e.ID); err != nil || c.GuildID != guildID {
					v.Add(f+"id", "UNKNOWN_CHANNEL", "Unknown channel")
				}
			}
		default:
			v.Add(f+"type", "BASE_TYPE_CHOICES", "Value must be one of (1, 2, 3).")
		}
		key := [2]int64{int64(e.Type), int64(e.ID)}
		if seen[key] {
			v.Add(f+"id", "APPLICATION_COMMAND_PERMISSIONS_DUPLICATE", "Duplicate permission")
		}
		seen[key] = true
	}
	if err := v.Err(); err != nil {
		return discord.GuildCommandPermissions{}, err
	}
	if perms == nil {
		perms = []discord.CommandPermission{}
	}
	data, err := json.Marshal(perms)
	if err != nil {
		return discord.GuildCommandPermissions{}, fmt.Errorf("encode command permissions: %w", err)
	}
	row := storage.CommandPermissions{ApplicationID: a.ID, GuildID: guildID, CommandID: cmdID, Permissions: data}
	if err := h.update(ctx, func(tx storage.Tx, _ *events) error { return tx.SetCommandPermissions(ctx, row) }); err != nil {
		return discord.GuildCommandPermissions{}, domainErr("set command permissions", err)
	}
	out := shapePermissions(row)
	h.tellUser(a.ID, ApplicationCommandPermissionsUpdate, out)
	return out, nil
}

// overrideSet holds a guild's overrides of the applications in question,
// by command (or application) ID.
type overrideSet map[snowflake.ID][]discord.CommandPermission

func (h *Homeserver) overridesOf(ctx context.Context, appID, guildID snowflake.ID, into overrideSet) error {
	list, err := h.store.CommandPermissions(ctx, appID, guildID)
	if err != nil {
		return storeErr("command permissions", err)
	}
	for _, l := range list {
		into[l.CommandID] = shapePermissions(l).Permissions
	}
	return nil
}

// commandUsable decides, as Discord does, whether the member of acc may
// use cmd in channelID (0: anywhere in the guild): the command's own
// overrides, then the application's, decide first the channel and then
// the user (a user entry over role entries, an allowing role over a
// denying one); with no override the command's default_member_permissions
// decide. Administrators may use every command.
func commandUsable(acc *access, channelID snowflake.ID, cmd discord.ApplicationCommand, ov overrideSet) bool {
	if acc.base.Has(permission.Administrator) {
		return true
	}
	guildID := acc.guild.ID
	levels := [][]discord.CommandPermission{ov[cmd.ID], ov[cmd.ApplicationID]}
	if channelID != 0 {
		for _, l := range levels {
			decided, allowed := false, false
			for _, e := range l {
				if e.Type == discord.CommandPermissionChannel && e.ID == channelID {
					decided, allowed = true, e.Permission
				}
			}
			if !decided {
				for _, e := range l {
					if e.Type == discord.CommandPermissionChannel && e.ID == guildID-1 {
						decided, allowed = true, e.Permission
					}
				}
			}
			if decided {
				if !allowed {
					return false
				}
				break
			}
		}
	}
	roles := append([]snowflake.ID{guildID}, acc.member.Roles...)
	for _, l := range levels {
		for _, e := range l {
			if e.Type == discord.CommandPermissionUser && e.ID == acc.userID {
				return e.Permission
			}
		}
		anyAllow, anyDeny := false, false
		for _, e := range l {
			if e.Type == discord.CommandPermissionRole && slices.Contains(roles, e.ID) {
				anyAllow = anyAllow || e.Permission
				anyDeny = anyDeny || !e.Permission
			}
		}
		if anyAllow {
			return true
		}
		if anyDeny {
			return false
		}
	}
	if cmd.DefaultMemberPermissions == nil {
		return true
	}
	need, err := permission.Parse(string(*cmd.DefaultMemberPermissions))
	return err == nil && need != 0 && acc.base.Has(need)
}

// CommandIndex answers the client's command index of a guild (channelID
// 0) or of a channel: the commands the user may use there, and their
// applications. In a DM channel with a bot, the bot's global commands
// that allow DMs.
func (h *Homeserver) CommandIndex(ctx context.Context, p Principal, guildID, channelID snowflake.ID) (discord.CommandIndex, error) {
	out := discord.CommandIndex{Applications: []discord.CommandIndexApplication{}, ApplicationCommands: []discord.ApplicationCommand{}, Version: h.cfg.IDs.Next()}
	var cmds []storage.ApplicationCommand
	var acc *access
	if channelID != 0 {
		pl, err := h.placeOf(ctx, h.store, channelID, p.User.ID)
		if err != nil {
			return out, err
		}
		if !pl.perms.Has(permission.ViewChannel) {
			return out, fmt.Errorf("channel %d: %w", channelID, ErrMissingAccess)
		}
		if pl.guild == nil {
			for _, r := range pl.ch.Recipients {
				if r == p.User.ID {
					continue
				}
				list, err := h.store.ApplicationCommands(ctx, r, 0)
				if err != nil {
					return out, storeErr("command index", err)
				}
				for _, c := range list {
					if d := shapeCommand(c); slices.Contains(d.Contexts, ContextBotDM) {
						cmds = append(cmds, c)
					}
				}
			}
			return h.fillIndex(ctx, out, cmds, nil, 0, nil)
		}
		acc, guildID = pl.guild, pl.guild.guild.ID
		if !pl.perms.Has(permission.UseApplicationCommands) {
			return out, nil
		}
	} else {
		var err error
		if acc, err = h.loadAccess(ctx, h.store, guildID, p.User.ID); err != nil {
			return out, err
		}
	}
	cmds, err := h.store.GuildCommandIndex(ctx, guildID)
	if err != nil {
		return out, storeErr("command index", err)
	}
	ov := overrideSet{}
	seenApp := map[snowflake.ID]bool{}
	for _, c := range cmds {
		if !seenApp[c.ApplicationID] {
			seenApp[c.ApplicationID] = true
			if err := h.overridesOf(ctx, c.ApplicationID, guildID, ov); err != nil {
				return out, err
			}
		}
	}
	return h.fillIndex(ctx, out, cmds, acc, channelID, ov)
}

func (h *Homeserver) fillIndex(ctx context.Context, out discord.CommandIndex, cmds []storage.ApplicationCommand, acc *access, channelID snowflake.ID, ov overrideSet) (discord.CommandIndex, error) {
	apps := map[snowflake.ID]bool{}
	for _, c := range cmds {
		d := shapeCommand(c)
		if acc != nil {
			if c.GuildID == 0 && !slices.Contains(d.Contexts, ContextGuild) {
				continue
			}
			if !commandUsable(acc, channelID, d, ov) {
				continue
			}
		}
		out.ApplicationCommands = append(out.ApplicationCommands, d)
		if apps[c.ApplicationID] {
			continue
		}
		apps[c.ApplicationID] = true
		a, err := h.store.Application(ctx, c.ApplicationID)
		if err != nil {
			return out, storeErr("command index application", err)
		}
		bot, err := h.store.UserByID(ctx, a.ID)
		if err != nil {
			return out, storeErr("command index bot", err)
		}
		b := userFrom(bot).Discord()
		out.Applications = append(out.Applications, discord.CommandIndexApplication{ID: a.ID, Name: a.Name, Description: a.Description, BotID: a.ID, Bot: &b})
	}
	return out, nil
}

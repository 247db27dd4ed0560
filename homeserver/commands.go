package homeserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"hearth/discord"
	"hearth/homeserver/permission"
	"hearth/snowflake"
	"hearth/storage"
)

// Application commands: what an application registers so that people can
// invoke it (slash commands, and user and message context-menu entries),
// globally or for one guild, with Discord's validation and limits. They
// belong to the application, not to a guild's log: registering one
// changes no guild's state that members replicate, so these writes go
// straight to storage under the bot's row lock.

// Command limits, Discord's.
const (
	MaxChatInputCommands = 100
	MaxUserCommands      = 5
	MaxMessageCommands   = 5
	commandNameMax       = 32
	commandDescMax       = 100
	maxCommandOptions    = 25
	maxCommandChoices    = 25
	choiceNameMax        = 100
	choiceStringMax      = 100
	optionLengthMax      = 6000
	// commandTextMax bounds the combined text of a command's names,
	// descriptions and choice values (Discord counts 8000 characters).
	commandTextMax = 8000
	// MaxCommandPermissions bounds the overrides of one command in a
	// guild.
	MaxCommandPermissions = 100
	// maxSafeInteger is the largest integer a JavaScript client reads
	// exactly: Discord's bound on integer option values.
	maxSafeInteger = 1<<53 - 1
)

// Interaction context types (where a command may be used).
const (
	ContextGuild          = 0
	ContextBotDM          = 1
	ContextPrivateChannel = 2
)

// Command errors.
var (
	// ErrUnknownCommand: the application has no such command.
	ErrUnknownCommand = errors.New("unknown application command")
	// ErrUnknownCommandPermissions: no overrides are set for the command.
	ErrUnknownCommandPermissions = errors.New("unknown application command permissions")
	// ErrMaxCommands: the scope holds as many commands of the type as it
	// may.
	ErrMaxCommands = errors.New("maximum number of application commands reached")
)

// chatInputName is Discord's pattern for chat input command and option
// names (lower case is checked apart, as Discord does: letters without a
// case are allowed).
var chatInputName = regexp.MustCompile(`^[-_'\p{L}\p{N}\p{Devanagari}\p{Thai}]{1,32}$`)

// discordLocales are the locales Discord accepts for localizations.
var discordLocales = map[string]bool{
	"id": true, "da": true, "de": true, "en-GB": true, "en-US": true, "es-ES": true, "es-419": true, "fr": true,
	"hr": true, "it": true, "lt": true, "hu": true, "nl": true, "no": true, "pl": true, "pt-BR": true, "ro": true,
	"fi": true, "sv-SE": true, "vi": true, "tr": true, "cs": true, "el": true, "bg": true, "ru": true, "uk": true,
	"hi": true, "th": true, "zh-CN": true, "ja": true, "zh-TW": true, "ko": true,
}

// commandScope loads the application p may manage and, for a guild
// command, checks that its bot is in the guild: Discord refuses guild
// commands of an application the guild has not authorised (50001).
func (h *Homeserver) commandScope(ctx context.Context, p Principal, appID, guildID snowflake.ID) (storage.Application, error) {
	if appID == 0 {
		appID = p.User.ID
	}
	a, err := h.application(ctx, p, appID)
	if err != nil {
		return a, err
	}
	if guildID != 0 {
		if _, err := h.store.Member(ctx, guildID, a.ID); errors.Is(err, storage.ErrNotFound) {
			return a, fmt.Errorf("application %d not in guild %d: %w", a.ID, guildID, ErrMissingAccess)
		} else if err != nil {
			return a, storeErr("command scope", err)
		}
	}
	return a, nil
}

// shapeCommand is the stored command as Discord shows it.
func shapeCommand(c storage.ApplicationCommand) discord.ApplicationCommand {
	var out discord.ApplicationCommand
	_ = json.Unmarshal(c.Data, &out) // written by storedCommand: valid
	out.ID, out.ApplicationID, out.Type, out.Name, out.Version = c.ID, c.ApplicationID, c.Type, c.Name, c.Version
	out.GuildID = nil
	if c.GuildID != 0 {
		g := c.GuildID
		out.GuildID = &g
	}
	if out.IntegrationTypes == nil {
		out.IntegrationTypes = []int{0}
	}
	return out
}

// storedCommand is the row of a validated command.
func storedCommand(c discord.ApplicationCommand) (storage.ApplicationCommand, error) {
	data, err := json.Marshal(c)
	if err != nil {
		return storage.ApplicationCommand{}, fmt.Errorf("encode command: %w", err)
	}
	s := storage.ApplicationCommand{ID: c.ID, ApplicationID: c.ApplicationID, Type: c.Type, Name: c.Name, Version: c.Version, Data: data}
	if c.GuildID != nil {
		s.GuildID = *c.GuildID
	}
	return s, nil
}

// ApplicationCommands lists an application's commands: global ones
// (guildID 0) or one guild's. appID 0 is the caller's own.
func (h *Homeserver) ApplicationCommands(ctx context.Context, p Principal, appID, guildID snowflake.ID) ([]discord.ApplicationCommand, error) {
	a, err := h.commandScope(ctx, p, appID, guildID)
	if err != nil {
		return nil, err
	}
	list, err := h.store.ApplicationCommands(ctx, a.ID, guildID)
	if err != nil {
		return nil, storeErr("application commands", err)
	}
	out := make([]discord.ApplicationCommand, 0, len(list))
	for _, c := range list {
		out = append(out, shapeCommand(c))
	}
	return out, nil
}

// GetApplicationCommand returns one command of the scope.
func (h *Homeserver) GetApplicationCommand(ctx context.Context, p Principal, appID, guildID, id snowflake.ID) (discord.ApplicationCommand, error) {
	a, err := h.commandScope(ctx, p, appID, guildID)
	if err != nil {
		return discord.ApplicationCommand{}, err
	}
	c, err := h.store.ApplicationCommand(ctx, a.ID, id)
	if errors.Is(err, storage.ErrNotFound) || err == nil && c.GuildID != guildID {
		return discord.ApplicationCommand{}, fmt.Errorf("command %d: %w", id, ErrUnknownCommand)
	}
	if err != nil {
		return discord.ApplicationCommand{}, storeErr("application command", err)
	}
	return shapeCommand(c), nil
}

// CreateApplicationCommand registers a command. As on Discord, a command
// of the same type and name in the scope is overwritten (keeping its ID);
// created reports whether it is new.
func (h *Homeserver) CreateApplicationCommand(ctx context.Context, p Principal, appID, guildID snowflake.ID, in discord.ApplicationCommand) (out discord.ApplicationCommand, created bool, err error) {
	a, err := h.commandScope(ctx, p, appID, guildID)
	if err != nil {
		return out, false, err
	}
	v := &ValidationError{}
	normaliseCommand(v, "", &in, guildID)
	if err := v.Err(); err != nil {
		return out, false, err
	}
	err = h.update(ctx, func(tx storage.Tx, _ *events) error {
		if err := tx.LockUser(ctx, a.ID); err != nil {
			return err
		}
		existing, err := tx.ApplicationCommands(ctx, a.ID, guildID)
		if err != nil {
			return err
		}
		in.ApplicationID, in.Version = a.ID, h.cfg.IDs.Next()
		in.GuildID = nil
		if guildID != 0 {
			in.GuildID = &guildID
		}
		for _, old := range existing {
			if old.Type == in.Type && old.Name == in.Name {
				in.ID = old.ID
				row, err := storedCommand(in)
				if err != nil {
					return err
				}
				created = false
				return tx.UpdateApplicationCommand(ctx, row)
			}
		}
		if countOfType(existing, in.Type) >= commandLimit(in.Type) {
			return fmt.Errorf("%d commands of type %d: %w", len(existing), in.Type, ErrMaxCommands)
		}
		in.ID = h.cfg.IDs.Next()
		row, err := storedCommand(in)
		if err != nil {
			return err
		}
		created = true
		return tx.CreateApplicationCommand(ctx, row)
	})
	if err != nil {
		return out, false, domainErr("create application command", err)
	}
	return in, created, nil
}

func countOfType(list []storage.ApplicationCommand, typ int) int {
	n := 0
	for _, c := range list {
		if c.Type == typ {
			n++
		}
	}
	return n
}

func commandLimit(typ int) int {
	switch typ {
	case discord.CommandUser:
		return MaxUserCommands
	case discord.CommandMessage:
		return MaxMessageCommands
	}
	return MaxChatInputCommands
}

// UpdateApplicationCommand edits a command: patch applies the request's
// fields to the command as it is (its type cannot change), and the
// result is validated whole and given a new version.
func (h *Homeserver) UpdateApplicationCommand(ctx context.Context, p Principal, appID, guildID, id snowflake.ID, patch func(*discord.ApplicationCommand) error) (discord.ApplicationCommand, error) {
	a, err := h.commandScope(ctx, p, appID, guildID)
	if err != nil {
		return discord.ApplicationCommand{}, err
	}
	var out discord.ApplicationCommand
	err = h.update(ctx, func(tx storage.Tx, _ *events) error {
		if err := tx.LockUser(ctx, a.ID); err != nil {
			return err
		}
		old, err := tx.ApplicationCommand(ctx, a.ID, id)
		if errors.Is(err, storage.ErrNotFound) || err == nil && old.GuildID != guildID {
			return fmt.Errorf("command %d: %w", id, ErrUnknownCommand)
		}
		if err != nil {
			return err
		}
		c := shapeCommand(old)
		if err := patch(&c); err != nil {
			return err
		}
		c.ID, c.ApplicationID, c.Type = old.ID, old.ApplicationID, old.Type
		v := &ValidationError{}
		normaliseCommand(v, "", &c, guildID)
		if err := v.Err(); err != nil {
			return err
		}
		c.Version = h.cfg.IDs.Next()
		row, err := storedCommand(c)
		if err != nil {
			return err
		}
		if err := tx.UpdateApplicationCommand(ctx, row); errors.Is(err, storage.ErrConflict) {
			return Invalid("name", "APPLICATION_COMMAND_ALREADY_EXISTS", "Application command with that name already exists")
		} else if err != nil {
			return err
		}
		out = c
		return nil
	})
	return out, domainErr("update application command", err)
}

// DeleteApplicationCommand removes a command and its guild overrides.
func (h *Homeserver) DeleteApplicationCommand(ctx context.Context, p Principal, appID, guildID, id snowflake.ID) error {
	a, err := h.commandScope(ctx, p, appID, guildID)
	if err != nil {
		return err
	}
	err = h.update(ctx, func(tx storage.Tx, _ *events) error {
		old, err := tx.ApplicationCommand(ctx, a.ID, id)
		if errors.Is(err, storage.ErrNotFound) || err == nil && old.GuildID != guildID {
			return fmt.Errorf("command %d: %w", id, ErrUnknownCommand)
		}
		if err != nil {
			return err
		}
		return tx.DeleteApplicationCommand(ctx, a.ID, id)
	})
	return domainErr("delete application command", err)
}

// OverwriteApplicationCommands replaces the scope's commands with in
// (Discord's bulk overwrite): a command named by ID, or else by type and
// name, keeps its ID (and its version when unchanged); the others are
// deleted. All of it is validated before anything changes.
func (h *Homeserver) OverwriteApplicationCommands(ctx context.Context, p Principal, appID, guildID snowflake.ID, in []discord.ApplicationCommand) ([]discord.ApplicationCommand, error) {
	a, err := h.commandScope(ctx, p, appID, guildID)
	if err != nil {
		return nil, err
	}
	v := &ValidationError{}
	counts := map[int]int{}
	seen := map[string]bool{}
	for i := range in {
		prefix := strconv.Itoa(i) + "."
		normaliseCommand(v, prefix, &in[i], guildID)
		key := strconv.Itoa(in[i].Type) + " " + in[i].Name
		if seen[key] {
			v.Add(prefix+"name", "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique")
		}
		seen[key] = true
		counts[in[i].Type]++
	}
	for typ, n := range counts {
		if n > commandLimit(typ) {
			return nil, fmt.Errorf("%d commands of type %d: %w", n, typ, ErrMaxCommands)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	out := make([]discord.ApplicationCommand, len(in))
	err = h.update(ctx, func(tx storage.Tx, _ *events) error {
		if err := tx.LockUser(ctx, a.ID); err != nil {
			return err
		}
		existing, err := tx.ApplicationCommands(ctx, a.ID, guildID)
		if err != nil {
			return err
		}
		byID := map[snowflake.ID]storage.ApplicationCommand{}
		byName := map[string]storage.ApplicationCommand{}
		for _, c := range existing {
			byID[c.ID] = c
			byName[strconv.Itoa(c.Type)+" "+c.Name] = c
		}
		kept := map[snowflake.ID]bool{}
		for i, c := range in {
			old, ok := byID[c.ID]
			if !ok || old.Type != c.Type {
				old, ok = byName[strconv.Itoa(c.Type)+" "+c.Name]
			}
			if ok && kept[old.ID] {
				ok = false
			}
			c.ApplicationID = a.ID
			c.GuildID = nil
			if guildID != 0 {
				c.GuildID = &guildID
			}
			if ok {
				kept[old.ID] = true
				c.ID, c.Version = old.ID, old.Version
				if row, err := storedCommand(c); err != nil {
					return err
				} else if string(row.Data) != string(old.Data) || row.Name != old.Name {
					c.Version = h.cfg.IDs.Next()
				}
			} else {
				c.ID, c.Version = h.cfg.IDs.Next(), h.cfg.IDs.Next()
			}
			out[i] = c
		}
		// Deletions first, then renames and creations, so that a name
		// moving from one command to another does not collide.
		for _, c := range existing {
			if !kept[c.ID] {
				if err := tx.DeleteApplicationCommand(ctx, a.ID, c.ID); err != nil {
					return err
				}
			}
		}
		for _, c := range out {
			row, err := storedCommand(c)
			if err != nil {
				return err
			}
			if kept[c.ID] {
				// A kept command is parked under a name no command can
				// have (longer than any) first: two kept commands may
				// swap names.
				park := row
				park.Name = "parked:" + strings.Repeat("-", commandNameMax) + c.ID.String()
				if err := tx.UpdateApplicationCommand(ctx, park); err != nil {
					return err
				}
			}
		}
		for _, c := range out {
			row, err := storedCommand(c)
			if err != nil {
				return err
			}
			if kept[c.ID] {
				err = tx.UpdateApplicationCommand(ctx, row)
			} else {
				err = tx.CreateApplicationCommand(ctx, row)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, domainErr("overwrite application commands", err)
	}
	return out, nil
}

// normaliseCommand validates a command as Discord does, recording
// problems under prefix, and fills in Discord's defaults.
func normaliseCommand(v *ValidationError, prefix string, c *discord.ApplicationCommand, guildID snowflake.ID) {
	if c.Type == 0 {
		c.Type = discord.CommandChatInput
	}
	text := 0
	switch c.Type {
	case discord.CommandChatInput:
		checkChatInputName(v, prefix+"name", c.Name)
		checkDescription(v, prefix+"description", c.Description, true)
		text += utf8.RuneCountInString(c.Name) + utf8.RuneCountInString(c.Description)
		checkLocalizations(v, prefix+"name_localizations", c.NameLocalizations, checkChatInputName)
		checkLocalizations(v, prefix+"description_localizations", c.DescriptionLocalizations, func(v *ValidationError, f, s string) {
			checkDescription(v, f, s, true)
		})
		text += checkOptions(v, prefix+"options", c.Options, 0)
	case discord.CommandUser, discord.CommandMessage:
		if n := utf8.RuneCountInString(c.Name); n < 1 || n > commandNameMax || strings.TrimSpace(c.Name) != c.Name {
			v.Add(prefix+"name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
		}
		if c.Description != "" {
			v.Add(prefix+"description", "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION", "Context menu commands cannot have description")
		}
		if len(c.Options) > 0 {
			v.Add(prefix+"options", "APPLICATION_COMMAND_CONTEXT_MENU_OPTIONS", "Context menu commands cannot have options")
		}
		checkLocalizations(v, prefix+"name_localizations", c.NameLocalizations, func(v *ValidationError, f, s string) {
			if n := utf8.RuneCountInString(s); n < 1 || n > commandNameMax {
				v.Add(f, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
			}
		})
	default:
		v.Add(prefix+"type", "BASE_TYPE_CHOICES", "Value must be one of (1, 2, 3).")
	}
	if text > commandTextMax {
		v.Add(prefix+"options", "APPLICATION_COMMAND_TOO_LARGE", "Command exceeds maximum size (8000)")
	}
	if c.DefaultMemberPermissions != nil {
		if p, err := permission.Parse(string(*c.DefaultMemberPermissions)); err != nil || p&^permission.All != 0 {
			v.Add(prefix+"default_member_permissions", "NUMBER_TYPE_COERCE", "Value is not a valid permission bitfield.")
		}
	}
	for i, t := range c.IntegrationTypes {
		if t != 0 && t != 1 {
			v.Add(fmt.Sprintf("%sintegration_types.%d", prefix, i), "BASE_TYPE_CHOICES", "Value must be one of (0, 1).")
		}
	}
	for i, t := range c.Contexts {
		if t < ContextGuild || t > ContextPrivateChannel {
			v.Add(fmt.Sprintf("%scontexts.%d", prefix, i), "BASE_TYPE_CHOICES", "Value must be one of (0, 1, 2).")
		}
	}
	if len(c.IntegrationTypes) == 0 {
		c.IntegrationTypes = []int{0}
	}
	if guildID != 0 {
		// Guild commands are usable only in their guild.
		c.DMPermission, c.Contexts = nil, nil
	} else if c.Contexts == nil {
		c.Contexts = []int{ContextGuild, ContextBotDM, ContextPrivateChannel}
		if c.DMPermission != nil && !*c.DMPermission {
			c.Contexts = []int{ContextGuild}
		}
	}
	if guildID == 0 {
		dm := false
		for _, t := range c.Contexts {
			dm = dm || t == ContextBotDM
		}
		c.DMPermission = &dm
	}
	c.DefaultPermission = true
}

func checkChatInputName(v *ValidationError, field, name string) {
	if !chatInputName.MatchString(name) || strings.ToLower(name) != name {
		v.Add(field, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
	}
}

func checkDescription(v *ValidationError, field, s string, required bool) {
	if n := utf8.RuneCountInString(s); (required && n < 1) || n > commandDescMax {
		v.Add(field, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
	}
}

func checkLocalizations(v *ValidationError, field string, m map[string]string, check func(*ValidationError, string, string)) {
	for locale, s := range m {
		if !discordLocales[locale] {
			v.Add(field+"."+locale, "LOCALE_INVALID", "Invalid locale")
			continue
		}
		check(v, field+"."+locale, s)
	}
}

// checkOptions validates a list of options at a depth (0: the command's,
// 1: a sub-command's or group's, 2: a grouped sub-command's) and returns
// the length of their text.
func checkOptions(v *ValidationError, field string, opts []discord.CommandOption, depth int) int {
	if len(opts) > maxCommandOptions {
		v.Add(field, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
	}
	names := map[string]bool{}
	subs, others := 0, 0
	optional := false
	text := 0
	for i := range opts {
		o := &opts[i]
		f := fmt.Sprintf("%s.%d.", field, i)
		checkChatInputName(v, f+"name", o.Name)
		checkDescription(v, f+"description", o.Description, true)
		checkLocalizations(v, f+"name_localizations", o.NameLocalizations, checkChatInputName)
		checkLocalizations(v, f+"description_localizations", o.DescriptionLocalizations, func(v *ValidationError, f, s string) {
			checkDescription(v, f, s, true)
		})
		text += utf8.RuneCountInString(o.Name) + utf8.RuneCountInString(o.Description)
		if names[o.Name] {
			v.Add(f+"name", "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Option names must be unique")
		}
		names[o.Name] = true
		switch o.Type {
		case discord.OptionSubCommand, discord.OptionSubCommandGroup:
			subs++
			if o.Required {
				v.Add(f+"required", "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID", "Sub-commands cannot be required")
			}
			if o.Type == discord.OptionSubCommandGroup && depth > 0 || o.Type == discord.OptionSubCommand && depth > 1 {
				v.Add(f+"type", "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID", "Sub-commands cannot be nested this deep")
				continue
			}
			if o.Type == discord.OptionSubCommandGroup {
				for j, sub := range o.Options {
					if sub.Type != discord.OptionSubCommand {
						v.Add(fmt.Sprintf("%soptions.%d.type", f, j), "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID", "A group holds only sub-commands")
					}
				}
				if len(o.Options) == 0 {
					v.Add(f+"options", "BASE_TYPE_MIN_LENGTH", "A group holds at least one sub-command")
				}
			}
			text += checkOptions(v, f+"options", o.Options, depth+1)
			continue
		case discord.OptionString, discord.OptionInteger, discord.OptionBoolean, discord.OptionUser, discord.OptionChannel,
			discord.OptionRole, discord.OptionMentionable, discord.OptionNumber, discord.OptionAttachment:
			others++
		default:
			v.Add(f+"type", "BASE_TYPE_CHOICES", "Value must be one of (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11).")
			continue
		}
		if o.Required && optional {
			v.Add(f+"required", "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID", "Required options must be placed before non-required options")
		}
		optional = optional || !o.Required
		if len(o.Options) > 0 {
			v.Add(f+"options", "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID", "Only sub-commands and groups have options")
		}
		text += checkChoices(v, f, o)
		numeric := o.Type == discord.OptionInteger || o.Type == discord.OptionNumber
		if (o.MinValue != nil || o.MaxValue != nil) && !numeric {
			v.Add(f+"min_value", "APPLICATION_COMMAND_OPTION_INVALID", "Only integer and number options have a range")
		}
		if numeric {
			lo, hi := checkBound(v, f+"min_value", o.MinValue, o.Type), checkBound(v, f+"max_value", o.MaxValue, o.Type)
			if o.MinValue != nil && o.MaxValue != nil && lo > hi {
				v.Add(f+"max_value", "NUMBER_TYPE_MIN", "max_value must not be below min_value")
			}
		}
		if (o.MinLength != nil || o.MaxLength != nil) && o.Type != discord.OptionString {
			v.Add(f+"min_length", "APPLICATION_COMMAND_OPTION_INVALID", "Only string options have a length")
		}
		if o.MinLength != nil && (*o.MinLength < 0 || *o.MinLength > optionLengthMax) {
			v.Add(f+"min_length", "NUMBER_TYPE_MAX", "Must be between 0 and 6000.")
		}
		if o.MaxLength != nil && (*o.MaxLength < 1 || *o.MaxLength > optionLengthMax) {
			v.Add(f+"max_length", "NUMBER_TYPE_MAX", "Must be between 1 and 6000.")
		}
		if len(o.ChannelTypes) > 0 && o.Type != discord.OptionChannel {
			v.Add(f+"channel_types", "APPLICATION_COMMAND_OPTION_INVALID", "Only channel options have channel types")
		}
	}
	if subs > 0 && others > 0 {
		v.Add(field, "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID", "Sub-command and sub-command group option types are mutually exclusive to all other types")
	}
	return text
}

// checkBound reads a min_value or max_value within the JavaScript-safe
// range; integer options take integers only.
func checkBound(v *ValidationError, field string, n *json.Number, typ int) float64 {
	if n == nil {
		return 0
	}
	f, err := n.Float64()
	if err != nil || math.Abs(f) > maxSafeInteger {
		v.Add(field, "NUMBER_TYPE_MAX", "Must be between -9007199254740991 and 9007199254740991.")
		return 0
	}
	if _, err := n.Int64(); err != nil && typ == discord.OptionInteger {
		v.Add(field, "NUMBER_TYPE_COERCE", "Value is not int.")
	}
	return f
}

// checkChoices validates an option's choices against its type.
func checkChoices(v *ValidationError, f string, o *discord.CommandOption) int {
	if len(o.Choices) == 0 {
		return 0
	}
	text := 0
	if o.Autocomplete {
		v.Add(f+"autocomplete", "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID", "Autocomplete cannot be enabled for options with choices")
	}
	if o.Type != discord.OptionString && o.Type != discord.OptionInteger && o.Type != discord.OptionNumber {
		v.Add(f+"choices", "APPLICATION_COMMAND_OPTION_INVALID", "Only string, integer and number options have choices")
		return 0
	}
	if len(o.Choices) > maxCommandChoices {
		v.Add(f+"choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
	}
	for j, ch := range o.Choices {
		cf := fmt.Sprintf("%schoices.%d.", f, j)
		if n := utf8.RuneCountInString(ch.Name); n < 1 || n > choiceNameMax {
			v.Add(cf+"name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
		}
		text += utf8.RuneCountInString(ch.Name)
		if !choiceFits(ch.Value, o.Type) {
			v.Add(cf+"value", "BASE_TYPE_CHOICES", "Value does not match the option's type.")
		}
		text += len(ch.Value)
	}
	return text
}

// choiceFits reports whether a JSON value is a valid value of an option
// type: a string of at most 100, an integer in the safe range, a number.
func choiceFits(raw json.RawMessage, typ int) bool {
	switch typ {
	case discord.OptionString:
		var s string
		return json.Unmarshal(raw, &s) == nil && utf8.RuneCountInString(s) <= choiceStringMax
	case discord.OptionInteger:
		var n json.Number
		if json.Unmarshal(raw, &n) != nil || strings.HasPrefix(strings.TrimSpace(string(raw)), `"`) {
			return false
		}
		i, err := n.Int64()
		return err == nil && i >= -maxSafeInteger && i <= maxSafeInteger
	case discord.OptionNumber:
		var f float64
		return json.Unmarshal(raw, &f) == nil && !strings.HasPrefix(strings.TrimSpace(string(raw)), `"`)
	}
	return false
}

package discord

import (
	"encoding/json"

	"hearth/snowflake"
)

// Application command types.
const (
	CommandChatInput = 1
	CommandUser      = 2
	CommandMessage   = 3
)

// Application command option types.
const (
	OptionSubCommand      = 1
	OptionSubCommandGroup = 2
	OptionString          = 3
	OptionInteger         = 4
	OptionBoolean         = 5
	OptionUser            = 6
	OptionChannel         = 7
	OptionRole            = 8
	OptionMentionable     = 9
	OptionNumber          = 10
	OptionAttachment      = 11
)

// ApplicationCommand is Discord's application command object. Pointer
// fields are those Discord answers as null when unset.
type ApplicationCommand struct {
	ID                       snowflake.ID      `json:"id"`
	Type                     int               `json:"type"`
	ApplicationID            snowflake.ID      `json:"application_id"`
	GuildID                  *snowflake.ID     `json:"guild_id,omitempty"`
	Name                     string            `json:"name"`
	NameLocalizations        map[string]string `json:"name_localizations,omitempty"`
	Description              string            `json:"description"`
	DescriptionLocalizations map[string]string `json:"description_localizations,omitempty"`
	Options                  []CommandOption   `json:"options,omitempty"`
	DefaultMemberPermissions *Bitfield         `json:"default_member_permissions"`
	DMPermission             *bool             `json:"dm_permission,omitempty"`
	DefaultPermission        bool              `json:"default_permission"`
	NSFW                     bool              `json:"nsfw"`
	IntegrationTypes         []int             `json:"integration_types"`
	Contexts                 []int             `json:"contexts"`
	Version                  snowflake.ID      `json:"version"`
}

// CommandOption is one option of a chat input command (or one of its
// sub-commands).
type CommandOption struct {
	Type                     int               `json:"type"`
	Name                     string            `json:"name"`
	NameLocalizations        map[string]string `json:"name_localizations,omitempty"`
	Description              string            `json:"description"`
	DescriptionLocalizations map[string]string `json:"description_localizations,omitempty"`
	Required                 bool              `json:"required,omitempty"`
	Choices                  []CommandChoice   `json:"choices,omitempty"`
	Options                  []CommandOption   `json:"options,omitempty"`
	ChannelTypes             []int             `json:"channel_types,omitempty"`
	MinValue                 *json.Number      `json:"min_value,omitempty"`
	MaxValue                 *json.Number      `json:"max_value,omitempty"`
	MinLength                *int              `json:"min_length,omitempty"`
	MaxLength                *int              `json:"max_length,omitempty"`
	Autocomplete             bool              `json:"autocomplete,omitempty"`
}

// CommandChoice is one fixed value an option may take: a string, an
// integer or a number, as its option's type.
type CommandChoice struct {
	Name              string            `json:"name"`
	NameLocalizations map[string]string `json:"name_localizations,omitempty"`
	Value             json.RawMessage   `json:"value"`
}

// Command permission target types.
const (
	CommandPermissionRole    = 1
	CommandPermissionUser    = 2
	CommandPermissionChannel = 3
)

// CommandPermission allows or denies one role, user or channel.
type CommandPermission struct {
	ID         snowflake.ID `json:"id"`
	Type       int          `json:"type"`
	Permission bool         `json:"permission"`
}

// GuildCommandPermissions are a guild's overrides for one command, or for
// every command of the application (ID = the application's).
type GuildCommandPermissions struct {
	ID            snowflake.ID        `json:"id"`
	ApplicationID snowflake.ID        `json:"application_id"`
	GuildID       snowflake.ID        `json:"guild_id"`
	Permissions   []CommandPermission `json:"permissions"`
}

// CommandIndexApplication is an application as the command index lists
// it.
type CommandIndexApplication struct {
	ID          snowflake.ID `json:"id"`
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Icon        *string      `json:"icon"`
	BotID       snowflake.ID `json:"bot_id"`
	Bot         *User        `json:"bot,omitempty"`
}

// CommandIndex is what the client's command index routes answer: the
// applications whose commands the user may use there, and the commands.
type CommandIndex struct {
	Applications        []CommandIndexApplication `json:"applications"`
	ApplicationCommands []ApplicationCommand      `json:"application_commands"`
	Version             snowflake.ID              `json:"version"`
}

// Bitfield is a permission bitfield, a JSON string; it is read from a
// number as well, as Discord accepts both.
type Bitfield string

// UnmarshalJSON implements json.Unmarshaler.
func (b *Bitfield) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		*b = Bitfield(s) // checked by whoever reads it
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(data, &n); err != nil {
		return err
	}
	*b = Bitfield(n.String())
	return nil
}

package discord

import (
	"encoding/json"

	"hearth/snowflake"
)

// Component types.
const (
	ComponentActionRow         = 1
	ComponentButton            = 2
	ComponentStringSelect      = 3
	ComponentTextInput         = 4
	ComponentUserSelect        = 5
	ComponentRoleSelect        = 6
	ComponentMentionableSelect = 7
	ComponentChannelSelect     = 8
	ComponentLabel             = 18
)

// Button styles.
const (
	ButtonPrimary   = 1
	ButtonSecondary = 2
	ButtonSuccess   = 3
	ButtonDanger    = 4
	ButtonLink      = 5
	ButtonPremium   = 6
)

// Text input styles.
const (
	TextInputShort     = 1
	TextInputParagraph = 2
)

// Component is any message or modal component; which fields mean
// something depends on Type.
type Component struct {
	Type          int               `json:"type"`
	ID            *int              `json:"id,omitempty"`
	CustomID      string            `json:"custom_id,omitempty"`
	Style         int               `json:"style,omitempty"`
	Label         string            `json:"label,omitempty"`
	Emoji         json.RawMessage   `json:"emoji,omitempty"`
	URL           string            `json:"url,omitempty"`
	SKUID         *snowflake.ID     `json:"sku_id,omitempty"`
	Disabled      bool              `json:"disabled,omitempty"`
	Components    []Component       `json:"components,omitempty"`
	Component     *Component        `json:"component,omitempty"`
	Options       []SelectOption    `json:"options,omitempty"`
	ChannelTypes  []int             `json:"channel_types,omitempty"`
	Placeholder   string            `json:"placeholder,omitempty"`
	DefaultValues []json.RawMessage `json:"default_values,omitempty"`
	MinValues     *int              `json:"min_values,omitempty"`
	MaxValues     *int              `json:"max_values,omitempty"`
	MinLength     *int              `json:"min_length,omitempty"`
	MaxLength     *int              `json:"max_length,omitempty"`
	Required      *bool             `json:"required,omitempty"`
	Value         string            `json:"value,omitempty"`
	Description   string            `json:"description,omitempty"`
}

// SelectOption is one choice of a string select.
type SelectOption struct {
	Label       string          `json:"label"`
	Value       string          `json:"value"`
	Description string          `json:"description,omitempty"`
	Emoji       json.RawMessage `json:"emoji,omitempty"`
	Default     bool            `json:"default,omitempty"`
}

// Modal is what a bot asks a person to fill in.
type Modal struct {
	CustomID   string      `json:"custom_id"`
	Title      string      `json:"title"`
	Components []Component `json:"components"`
}

// Interaction types.
const (
	InteractionPing               = 1
	InteractionApplicationCommand = 2
	InteractionMessageComponent   = 3
	InteractionAutocomplete       = 4
	InteractionModalSubmit        = 5
)

// Interaction callback types.
const (
	CallbackPong                   = 1
	CallbackChannelMessage         = 4
	CallbackDeferredChannelMessage = 5
	CallbackDeferredUpdateMessage  = 6
	CallbackUpdateMessage          = 7
	CallbackAutocompleteResult     = 8
	CallbackModal                  = 9
	MessageChatInputCommand        = 20
	MessageContextMenuCommand      = 23
	FlagEphemeral                  = 1 << 6
	FlagLoading                    = 1 << 7
)

// InteractionMetadata is what a message answering an interaction says
// of it.
type InteractionMetadata struct {
	ID                           snowflake.ID            `json:"id"`
	Type                         int                     `json:"type"`
	User                         User                    `json:"user"`
	AuthorizingIntegrationOwners map[string]snowflake.ID `json:"authorizing_integration_owners"`
	OriginalResponseMessageID    *snowflake.ID           `json:"original_response_message_id,omitempty"`
	InteractedMessageID          *snowflake.ID           `json:"interacted_message_id,omitempty"`
	TargetUser                   *User                   `json:"target_user,omitempty"`
	TargetMessageID              *snowflake.ID           `json:"target_message_id,omitempty"`
	Name                         string                  `json:"name,omitempty"`
	Command                      string                  `json:"-"`
}

// MessageInteraction is the older form of InteractionMetadata that
// libraries still read (message.interaction).
type MessageInteraction struct {
	ID   snowflake.ID `json:"id"`
	Type int          `json:"type"`
	Name string       `json:"name"`
	User User         `json:"user"`
}

package storage

import (
	"context"
	"time"

	"hearth/snowflake"
)

// InteractionReader reads interactions and what hangs off them.
type InteractionReader interface {
	// Interaction returns an interaction, or ErrNotFound.
	Interaction(ctx context.Context, id snowflake.ID) (Interaction, error)
	// InteractionMessage returns an ephemeral message of an interaction,
	// or ErrNotFound.
	InteractionMessage(ctx context.Context, interactionID, id snowflake.ID) (InteractionMessage, error)
	// EphemeralMessage returns an ephemeral message by its ID alone (a
	// person clicks a component of it), or ErrNotFound.
	EphemeralMessage(ctx context.Context, id snowflake.ID) (InteractionMessage, error)
	// InteractionFile returns a file of an interaction (see
	// AddInteractionFiles), or ErrNotFound; its MessageID is the
	// interaction's ID.
	InteractionFile(ctx context.Context, id snowflake.ID) (Attachment, error)
	// MessageComponents returns what a message carries beyond a person's
	// message, or ErrNotFound when it carries nothing.
	MessageComponents(ctx context.Context, messageID snowflake.ID) (MessageComponents, error)
}

// InteractionWriter writes interactions.
type InteractionWriter interface {
	// CreateInteraction inserts an interaction.
	CreateInteraction(ctx context.Context, i Interaction) error
	// AnswerInteraction moves a waiting interaction created at or after
	// notBefore to answered, with the response type and data given;
	// ErrNotFound when it is not waiting (answered, failed, late).
	AnswerInteraction(ctx context.Context, id snowflake.ID, notBefore time.Time, responseType int, data []byte) error
	// FailInteraction moves a waiting interaction to failed; ErrNotFound
	// when it is not waiting.
	FailInteraction(ctx context.Context, id snowflake.ID) error
	// SetInteractionOriginal records an interaction's response message and
	// data.
	SetInteractionOriginal(ctx context.Context, id, originalID snowflake.ID, data []byte) error
	// DeleteInteractionsBefore removes interactions created before t, with
	// their ephemeral messages and files, and reports how many.
	DeleteInteractionsBefore(ctx context.Context, t time.Time) (int64, error)
	// PutInteractionMessage inserts or replaces an ephemeral message.
	PutInteractionMessage(ctx context.Context, m InteractionMessage) error
	// DeleteInteractionMessage removes one; ErrNotFound if absent.
	DeleteInteractionMessage(ctx context.Context, interactionID, id snowflake.ID) error
	// AddInteractionFiles records files of an interaction that belong to
	// no channel message (a command's attachment options, an ephemeral
	// answer's files); their MessageID is ignored. The interaction must
	// exist.
	AddInteractionFiles(ctx context.Context, interactionID snowflake.ID, files []Attachment) error
	// SetMessageComponents records (or, with nil components and
	// interaction, removes) what a message carries beyond a person's.
	SetMessageComponents(ctx context.Context, c MessageComponents) error
}

// Interaction states.
const (
	InteractionWaiting  = 0
	InteractionAnswered = 1
	InteractionFailed   = 2
)

// Interaction is a person's use of an application.
type Interaction struct {
	ID            snowflake.ID
	ApplicationID snowflake.ID
	// TokenHash is the hex SHA-256 of the token.
	TokenHash    string
	Type         int
	UserID       snowflake.ID
	GuildID      snowflake.ID
	ChannelID    snowflake.ID
	MessageID    snowflake.ID
	State        int
	ResponseType int
	OriginalID   snowflake.ID
	// Data is the domain's JSON about it.
	Data      []byte
	CreatedAt time.Time
}

// InteractionMessage is an ephemeral message, as JSON.
type InteractionMessage struct {
	ID            snowflake.ID
	InteractionID snowflake.ID
	Data          []byte
}

// MessageComponents is what a message of an application carries beyond a
// person's message: its components (a JSON array) and the interaction it
// answers (JSON, nil for none).
type MessageComponents struct {
	MessageID   snowflake.ID
	Components  []byte
	Interaction []byte
}

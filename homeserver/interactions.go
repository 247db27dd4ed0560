package homeserver

import "errors"

// Interaction errors.
var (
	// ErrUnknownInteraction: no live interaction has that ID and token
	// (never one, expired, or its window to answer has passed).
	ErrUnknownInteraction = errors.New("unknown interaction")
	// ErrInteractionAcknowledged: the interaction has its initial
	// response already.
	ErrInteractionAcknowledged = errors.New("interaction has already been acknowledged")
	// ErrInteractionFailed: the application did not answer in time.
	ErrInteractionFailed = errors.New("the application did not respond")
)

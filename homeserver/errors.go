package homeserver

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"hearth/storage"
)

// Domain errors. The client API maps each to its Discord error code in one
// place (clientapi/errors.go); wrap them with %w to add context.
var (
	// ErrUnauthorized: no valid credentials (a missing, forged, expired or
	// revoked token).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrUnknownUser: no user has that ID.
	ErrUnknownUser = errors.New("unknown user")
	// ErrNotFound: the object asked for does not exist (for objects with
	// no more specific error).
	ErrNotFound = errors.New("not found")
	// ErrMissingAccess: the caller may not see the object at all.
	ErrMissingAccess = errors.New("missing access")
	// ErrMissingPermission: the caller sees the object but lacks a
	// permission the action needs.
	ErrMissingPermission = errors.New("missing permissions")
	// ErrMirrorAuthority: the act changes what Discord decides for a
	// bridge's mirror guild (Config.Mirrors), which the bridge cannot
	// mirror back; it is also an ErrMissingPermission.
	ErrMirrorAuthority = fmt.Errorf("this guild mirrors a Discord guild, which decides it: make the change on Discord: %w", ErrMissingPermission)
	// ErrUnavailable: a dependency (the database) failed; the request may
	// succeed later.
	ErrUnavailable = errors.New("service unavailable")
	// ErrStorageFull: the disk under the database or the file store is
	// full, so the write was refused whole; it may succeed once the
	// operator frees space. It is storage.ErrFull itself, so that the
	// storage layer's wrapping reaches the adapters unchanged.
	ErrStorageFull = storage.ErrFull
)

// FieldError is one reason a field of a request is invalid, with Discord's
// error code for it (such as BASE_TYPE_BAD_LENGTH).
type FieldError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ValidationError lists what is wrong with a request, field by field. Field
// paths use dots for nesting ("avatar", "recipients.0").
type ValidationError struct {
	Fields map[string][]FieldError
}

// Error implements error.
func (e *ValidationError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		for _, fe := range e.Fields[k] {
			parts = append(parts, k+": "+fe.Message)
		}
	}
	return "invalid form body: " + strings.Join(parts, "; ")
}

// Add records a problem with a field.
func (e *ValidationError) Add(field, code, message string) {
	if e.Fields == nil {
		e.Fields = make(map[string][]FieldError)
	}
	e.Fields[field] = append(e.Fields[field], FieldError{Code: code, Message: message})
}

// Err returns e when it holds a problem and nil otherwise, so that a
// validator can end with `return v.Err()`.
func (e *ValidationError) Err() error {
	if e == nil || len(e.Fields) == 0 {
		return nil
	}
	return e
}

// Invalid is a one-field ValidationError.
func Invalid(field, code, message string) error {
	v := &ValidationError{}
	v.Add(field, code, message)
	return v
}

// Unknown-object errors, one per kind, because Discord answers each with its
// own code.
var (
	ErrUnknownGuild     = errors.New("unknown guild")
	ErrUnknownChannel   = errors.New("unknown channel")
	ErrUnknownRole      = errors.New("unknown role")
	ErrUnknownMember    = errors.New("unknown member")
	ErrUnknownInvite    = errors.New("unknown invite")
	ErrUnknownBan       = errors.New("unknown ban")
	ErrUnknownEmoji     = errors.New("unknown emoji")
	ErrUnknownOverwrite = errors.New("unknown overwrite")
)

// Refusals of actions that are well-formed but not allowed in the state the
// guild is in.
var (
	// ErrBanned: the user is banned from the guild.
	ErrBanned = errors.New("banned from this guild")
	// ErrMaxRoles: the guild has as many roles as it may.
	ErrMaxRoles = errors.New("maximum number of guild roles reached")
	// ErrMaxEmojis: the guild has as many emoji as it may.
	ErrMaxEmojis = errors.New("maximum number of emojis reached")
	// ErrMaxGuilds: the user is in as many guilds as they may be.
	ErrMaxGuilds = errors.New("maximum number of guilds reached")
	// ErrOwnerCannotLeave: an owner must transfer or delete the guild.
	ErrOwnerCannotLeave = errors.New("the owner cannot leave the guild")
)

// ErrMaxChannels: the guild has as many channels as it may.
var ErrMaxChannels = errors.New("maximum number of guild channels reached")

// Message refusals.
var (
	// ErrMaxPins: the channel has 50 pinned messages.
	ErrMaxPins = errors.New("maximum number of pins reached")
	// ErrBulkDeleteTooOld: bulk delete is for messages under 14 days.
	ErrBulkDeleteTooOld = errors.New("can only bulk delete messages under 14 days old")
	// ErrUnknownMessage: no message has that ID in the channel.
	ErrUnknownMessage = errors.New("unknown message")
	// ErrForumMessage: a forum channel holds threads (posts), not messages.
	ErrForumMessage = errors.New("cannot send messages in a forum channel")
	// ErrEmptyMessage: no content, embed or file.
	ErrEmptyMessage = errors.New("cannot send an empty message")
	// ErrNotAuthor: only the author may edit a message's content.
	ErrNotAuthor = errors.New("cannot edit a message authored by another user")
	// ErrTooLarge: an upload is over the limit.
	ErrTooLarge = errors.New("request entity too large")
	// ErrCannotDM: the user cannot be sent a DM (unknown, or oneself).
	ErrCannotDM = errors.New("cannot send messages to this user")
)

// Refusals of a peer's payload over the bounds of spec/federation.md §14
// ("Bounded peer state"); each is a TOO_LARGE (413) to the peer.
var (
	// ErrTooManyMembers: the payload would take a replica guild over its
	// member bound (Config.MaxReplicaMembers).
	ErrTooManyMembers = fmt.Errorf("replica guild over its member bound: %w", ErrTooLarge)
	// ErrTooManyUsers: the payload introduces more users than one may
	// (Config.MaxNewPeerUsers).
	ErrTooManyUsers = fmt.Errorf("payload introduces too many users: %w", ErrTooLarge)
	// ErrTooManyObjects: the payload would take a replica guild over its
	// bound on channels, threads, roles or custom emoji
	// (Config.MaxReplicaChannels, MaxReplicaThreads, MaxReplicaRoles,
	// MaxReplicaEmojis).
	ErrTooManyObjects = fmt.Errorf("replica guild over its channel, thread, role or emoji bound: %w", ErrTooLarge)
)

// SlowmodeError says how long a member must wait before sending again.
type SlowmodeError struct {
	RetryAfter time.Duration
}

// Error implements error.
func (e *SlowmodeError) Error() string {
	return fmt.Sprintf("slowmode: retry after %s", e.RetryAfter)
}

// Thread refusals.
var (
	// ErrThreadExists: the message already started a thread.
	ErrThreadExists = errors.New("a thread has already been created for this message")
	// ErrThreadArchived: archived threads take no messages or members.
	ErrThreadArchived = errors.New("thread is archived")
	// ErrThreadLocked: only MANAGE_THREADS may reopen a locked thread.
	ErrThreadLocked = errors.New("thread is locked")
)

// problem is a sentence for a person, destined for a FieldError message:
// an error in shape only, so it is written as a sentence.
type problem string

// Error implements error.
func (p problem) Error() string { return string(p) }

package storage

import (
	"context"
	"time"

	"hearth/snowflake"
)

// The states of a closed account (ClosedAccount.State).
const (
	// AccountDeleted: its owner deleted it.
	AccountDeleted = "deleted"
	// AccountDeactivated: the operator closed it.
	AccountDeactivated = "deactivated"
	// AccountDisabled: its owner disabled it; signing in opens it again.
	AccountDisabled = "disabled"
)

// ClosedAccount records that an account was closed, how and when.
type ClosedAccount struct {
	UserID   snowflake.ID
	State    string
	ClosedAt time.Time
}

// AccountReader reads closed accounts.
type AccountReader interface {
	// ClosedAccount is the closing of an account; ErrNotFound when the
	// account is open.
	ClosedAccount(ctx context.Context, userID snowflake.ID) (ClosedAccount, error)
	// ClosedSince lists the accounts closed at or after since, oldest
	// first, at most limit.
	ClosedSince(ctx context.Context, since time.Time, limit int) ([]ClosedAccount, error)
	// KnownServers lists, by name, the other servers whose users this
	// homeserver has seen: those that may know its own users.
	KnownServers(ctx context.Context) ([]string, error)
	// UserMessages lists, oldest first, the messages an author sent
	// anywhere (guilds, threads, DMs) with an ID above after, at most
	// limit, with their attachments.
	UserMessages(ctx context.Context, authorID, after snowflake.ID, limit int) ([]Message, error)
	// LocalGuilds lists this homeserver's own guilds (not replicas), by
	// ID.
	LocalGuilds(ctx context.Context) ([]Guild, error)
	// GuildDeletionsSince lists the guilds the operator deleted at or
	// after since, oldest first, at most limit.
	GuildDeletionsSince(ctx context.Context, since time.Time, limit int) ([]GuildDeletion, error)
}

// GuildDeletion is a guild the operator deleted.
type GuildDeletion struct {
	GuildID   snowflake.ID
	DeletedAt time.Time
}

// AccountWriter closes and reopens accounts.
type AccountWriter interface {
	// CloseAccount records a closing, replacing any earlier one.
	CloseAccount(ctx context.Context, c ClosedAccount) error
	// ReopenAccount forgets a closing; ErrNotFound when there is none.
	ReopenAccount(ctx context.Context, userID snowflake.ID) error
	// RecordGuildDeletion records that the operator deleted a guild.
	RecordGuildDeletion(ctx context.Context, d GuildDeletion) error
}

// RegistrationToken lets one person (or Uses of them) register on a
// homeserver whose registration is by invitation.
type RegistrationToken struct {
	ID snowflake.ID
	// Hash is the SHA-256 (hex) of the token; the token is not kept.
	Hash string
	// UsesAllowed is how many accounts it makes; 0 for any number.
	UsesAllowed int
	Uses        int
	// ExpiresAt is zero for a token that does not expire.
	ExpiresAt time.Time
	CreatedAt time.Time
	// CreatedBy is the administrator who made it; 0 for the operator.
	CreatedBy snowflake.ID
}

// RegistrationTokenReader lists registration tokens.
type RegistrationTokenReader interface {
	// RegistrationTokens lists every token, oldest first.
	RegistrationTokens(ctx context.Context) ([]RegistrationToken, error)
}

// RegistrationTokenWriter makes, uses and revokes registration tokens.
type RegistrationTokenWriter interface {
	// CreateRegistrationToken stores a new token.
	CreateRegistrationToken(ctx context.Context, t RegistrationToken) error
	// UseRegistrationToken counts one use of the token with this hash, if
	// it has uses left and has not expired at now; ErrNotFound otherwise.
	UseRegistrationToken(ctx context.Context, hash string, now time.Time) error
	// DeleteRegistrationToken revokes a token; ErrNotFound when there is
	// none.
	DeleteRegistrationToken(ctx context.Context, id snowflake.ID) error
}

// The kinds of report.
const (
	ReportMessage = "message"
	ReportUser    = "user"
)

// Report is a user's report of a message or a user.
type Report struct {
	ID         snowflake.ID
	Kind       string
	ReporterID snowflake.ID
	// GuildID, ChannelID and MessageID place a reported message (GuildID
	// 0 in a DM); all 0 for a report of a user.
	GuildID, ChannelID, MessageID snowflake.ID
	// TargetUserID is the user reported, or the author of the message.
	TargetUserID snowflake.ID
	Reason       string
	// Content is the message's content when it was reported.
	Content    string
	CreatedAt  time.Time
	ResolvedAt time.Time // zero while open
	ResolvedBy snowflake.ID
	Resolution string
}

// ReportQuery pages reports, newest first.
type ReportQuery struct {
	// GuildID limits the list to one guild's message reports; 0 lists
	// every report.
	GuildID snowflake.ID
	// Open lists only reports not yet resolved.
	Open bool
	// Before is an ID to list below; 0 for the newest.
	Before snowflake.ID
	Limit  int
}

// ReportReader reads reports.
type ReportReader interface {
	// Reports lists reports by q, newest first.
	Reports(ctx context.Context, q ReportQuery) ([]Report, error)
	// ReportByID returns a report, or ErrNotFound.
	ReportByID(ctx context.Context, id snowflake.ID) (Report, error)
}

// ReportWriter keeps reports.
type ReportWriter interface {
	// CreateReport stores a report.
	CreateReport(ctx context.Context, r Report) error
	// ResolveReport marks a report resolved (again, replacing the earlier
	// resolution); ErrNotFound when there is none.
	ResolveReport(ctx context.Context, id, by snowflake.ID, at time.Time, resolution string) error
}

// UserEmail is an account's confirmed email address.
type UserEmail struct {
	UserID     snowflake.ID
	Email      string
	VerifiedAt time.Time
}

// The purposes of an EmailToken.
const (
	EmailConfirm = "confirm"
	EmailReset   = "reset"
)

// EmailToken is a single-use link mailed to a person.
type EmailToken struct {
	// Hash is the SHA-256 (hex) of the token in the link.
	Hash    string
	UserID  snowflake.ID
	Purpose string
	// Email is the address it was mailed to.
	Email     string
	ExpiresAt time.Time
}

// EmailReader reads email addresses.
type EmailReader interface {
	// UserEmail is an account's confirmed address, or ErrNotFound.
	UserEmail(ctx context.Context, userID snowflake.ID) (UserEmail, error)
	// UserByEmail finds the account with a confirmed address (ignoring
	// case), or ErrNotFound.
	UserByEmail(ctx context.Context, email string) (snowflake.ID, error)
}

// EmailWriter keeps email addresses and links.
type EmailWriter interface {
	// SetUserEmail sets an account's confirmed address; ErrConflict when
	// another account has it.
	SetUserEmail(ctx context.Context, e UserEmail) error
	// CreateEmailToken stores a link's token.
	CreateEmailToken(ctx context.Context, t EmailToken) error
	// UseEmailToken uses up the unexpired, unused token with this hash and
	// purpose and returns it; ErrNotFound otherwise.
	UseEmailToken(ctx context.Context, hash, purpose string, now time.Time) (EmailToken, error)
	// DeleteUserEmail forgets an account's address and its unused links;
	// an account without one is not an error.
	DeleteUserEmail(ctx context.Context, userID snowflake.ID) error
	// DeleteEmailTokens forgets an account's links of one purpose, used or
	// not: a password reset link must not outlive the password it was
	// mailed to replace. None is not an error.
	DeleteEmailTokens(ctx context.Context, userID snowflake.ID, purpose string) error
}

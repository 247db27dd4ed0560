package homeserver

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"hearth/snowflake"
	"hearth/storage"
)

// Registration by invitation (--registration invite): an administrator
// makes registration tokens; a person registers with one.

// ErrInvalidRegistrationToken: the token is unknown, used up, expired or
// revoked; one answer for all, so that a guess learns nothing.
var ErrInvalidRegistrationToken = Invalid("token", "INVALID_REGISTRATION_TOKEN", "Registration token is invalid, used up or expired.")

// Limits on what a registration token may be made with.
const (
	RegistrationTokenMaxUses = 1_000_000
	RegistrationTokenMaxTTL  = 365 * 24 * time.Hour
)

// RegistrationToken is a registration token as administrators list it:
// never the token itself, which is shown once, when made.
type RegistrationToken = storage.RegistrationToken

// tokenHash is what is stored of a random secret handed out once
// (registration, email and interaction tokens): enough to find and check
// it, useless to a reader of the database. Space around a pasted token is
// not part of it.
func tokenHash(tok string) string {
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return hex.EncodeToString(sum[:])
}

// CreateRegistrationToken makes a token good for uses accounts (0: any
// number) for ttl (0: until revoked), and returns it with its record; the
// token is not kept and cannot be shown again.
func (a *Admin) CreateRegistrationToken(ctx context.Context, uses int, ttl time.Duration) (string, RegistrationToken, error) {
	v := &ValidationError{}
	if uses < 0 || uses > RegistrationTokenMaxUses {
		v.Add("uses", "NUMBER_TYPE_MAX", fmt.Sprintf("Must be between 0 (any number) and %d.", RegistrationTokenMaxUses))
	}
	if ttl < 0 || ttl > RegistrationTokenMaxTTL {
		v.Add("expires_in", "NUMBER_TYPE_MAX", fmt.Sprintf("Must be between 0 (never) and %d seconds.", int(RegistrationTokenMaxTTL.Seconds())))
	}
	if err := v.Err(); err != nil {
		return "", RegistrationToken{}, err
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand does not fail on supported platforms
	tok := hex.EncodeToString(b)
	now := a.h.now()
	rt := RegistrationToken{ID: a.h.cfg.IDs.Next(), Hash: tokenHash(tok), UsesAllowed: uses, CreatedAt: now, CreatedBy: a.by}
	if ttl > 0 {
		rt.ExpiresAt = now.Add(ttl)
	}
	if err := a.h.store.Update(ctx, func(tx storage.Tx) error { return tx.CreateRegistrationToken(ctx, rt) }); err != nil {
		return "", RegistrationToken{}, storeErr("create registration token", err)
	}
	a.h.log.Info("registration token made", "id", rt.ID, "uses", uses, "ttl", ttl, "by", a.by)
	return tok, rt, nil
}

// RegistrationTokens lists the registration tokens.
func (a *Admin) RegistrationTokens(ctx context.Context) ([]RegistrationToken, error) {
	ts, err := a.h.store.RegistrationTokens(ctx)
	if err != nil {
		return nil, storeErr("registration tokens", err)
	}
	return ts, nil
}

// RevokeRegistrationToken revokes a registration token; ErrNotFound when
// there is none.
func (a *Admin) RevokeRegistrationToken(ctx context.Context, id snowflake.ID) error {
	err := a.h.store.Update(ctx, func(tx storage.Tx) error { return tx.DeleteRegistrationToken(ctx, id) })
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("registration token %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return storeErr("revoke registration token", err)
	}
	a.h.log.Info("registration token revoked", "id", id, "by", a.by)
	return nil
}

// RegistrationMode is how this homeserver takes new accounts:
// RegistrationOpen, RegistrationInvite or RegistrationClosed.
func (h *Homeserver) RegistrationMode() string { return h.cfg.Registration }

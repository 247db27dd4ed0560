package homeserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"hearth/snowflake"
	"hearth/storage"
)

// Email (spec/client-api.md, "Email"): with a mailer (--smtp-url) a person
// adds an address, confirmed by a single-use link mailed to it, and
// resets a forgotten password by a single-use, short-lived link mailed to
// a confirmed address.

// Mailer sends mail; the server wires one from --smtp-url.
type Mailer interface {
	Send(ctx context.Context, to, subject, body string) error
}

// ErrEmailDisabled: this homeserver sends no mail (no --smtp-url).
var ErrEmailDisabled = errors.New("this homeserver sends no mail")

// ErrInvalidEmailToken: a link unknown, used or expired; one answer.
var ErrInvalidEmailToken = Invalid("token", "INVALID_EMAIL_TOKEN", "This link is invalid, used or expired.")

// How long the links last, and how much mail one account may cause.
const (
	emailConfirmTTL = 24 * time.Hour
	emailResetTTL   = 30 * time.Minute
	mailLimit       = 5
	mailWindow      = time.Hour
	mailTimeout     = 30 * time.Second
)

// Email is an account's confirmed address.
type Email = storage.UserEmail

// newMailToken makes a link's token and the hash kept of it.
func newMailToken() (tok, hash string) {
	b := make([]byte, 20)
	_, _ = rand.Read(b) // crypto/rand does not fail on supported platforms
	tok = hex.EncodeToString(b)
	return tok, tokenHash(tok)
}

// mail sends one message for userID, within the account's mail limit.
func (h *Homeserver) mail(ctx context.Context, userID snowflake.ID, to, subject, body string) error {
	if err := h.mailLimits.take(userID.String(), h.now()); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, mailTimeout)
	defer cancel()
	if err := h.cfg.Mailer.Send(ctx, to, subject, body); err != nil {
		h.log.Warn("mail not sent", "user_id", userID, "err", err)
		return fmt.Errorf("send mail: %w", ErrUnavailable)
	}
	return nil
}

// AddEmail mails a link that confirms address as p's; the address is the
// account's once the link is followed. Needs the password.
func (h *Homeserver) AddEmail(ctx context.Context, p Principal, address, pw string) error {
	if h.cfg.Mailer == nil {
		return ErrEmailDisabled
	}
	a, err := mail.ParseAddress(address)
	if err != nil || a.Name != "" || a.Address != strings.TrimSpace(address) || len(a.Address) > 254 {
		return Invalid("email", "EMAIL_TYPE_INVALID_EMAIL", "Not a well formed email address.")
	}
	u, err := h.store.UserByID(ctx, p.User.ID)
	if err != nil {
		return storeErr("add email", err)
	}
	if err := h.ownPassword(ctx, u, pw); err != nil {
		return err
	}
	if id, err := h.store.UserByEmail(ctx, a.Address); err == nil && id != u.ID {
		return Invalid("email", "EMAIL_ALREADY_REGISTERED", "Email is already registered.")
	}
	tok, hash := newMailToken()
	et := storage.EmailToken{Hash: hash, UserID: u.ID, Purpose: storage.EmailConfirm, Email: a.Address, ExpiresAt: h.now().Add(emailConfirmTTL)}
	if err := h.store.Update(ctx, func(tx storage.Tx) error { return tx.CreateEmailToken(ctx, et) }); err != nil {
		return storeErr("add email", err)
	}
	link := h.cfg.PublicURL + "/api/v10/auth/email/confirm?token=" + tok
	return h.mail(ctx, u.ID, a.Address, "Confirm your address on "+h.cfg.ServerName,
		fmt.Sprintf("Hello %s,\n\nfollow this link within 24 hours to confirm this address for your account on %s:\n\n%s\n\nIf you did not ask for this, ignore this mail.\n",
			u.Username, h.cfg.ServerName, link))
}

// ConfirmEmail follows a confirmation link: the address becomes the
// account's.
func (h *Homeserver) ConfirmEmail(ctx context.Context, tok string) (Email, error) {
	var e Email
	err := h.store.Update(ctx, func(tx storage.Tx) error {
		et, err := tx.UseEmailToken(ctx, tokenHash(tok), storage.EmailConfirm, h.now())
		if err != nil {
			return err
		}
		e = Email{UserID: et.UserID, Email: et.Email, VerifiedAt: h.now()}
		return tx.SetUserEmail(ctx, e)
	})
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return Email{}, ErrInvalidEmailToken
	case errors.Is(err, storage.ErrConflict):
		return Email{}, Invalid("email", "EMAIL_ALREADY_REGISTERED", "Email is already registered.")
	case err != nil:
		return Email{}, storeErr("confirm email", err)
	}
	h.log.Info("email confirmed", "user_id", e.UserID)
	return e, nil
}

// UserEmail is p's confirmed address, or ErrNotFound.
func (h *Homeserver) UserEmail(ctx context.Context, p Principal) (Email, error) {
	e, err := h.store.UserEmail(ctx, p.User.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return Email{}, fmt.Errorf("email of %d: %w", p.User.ID, ErrNotFound)
	}
	if err != nil {
		return Email{}, storeErr("user email", err)
	}
	return e, nil
}

// ForgotPassword mails a password reset link to the confirmed address of
// the account named by login (its username or that address). Whether
// there is such an account is not told: the answer is the same.
func (h *Homeserver) ForgotPassword(ctx context.Context, login string) error {
	if h.cfg.Mailer == nil {
		return ErrEmailDisabled
	}
	if len(login) > 256 {
		return nil
	}
	var id snowflake.ID
	if strings.Contains(login, "@") {
		found, err := h.store.UserByEmail(ctx, login)
		if err != nil {
			return nil
		}
		id = found
	} else {
		u, err := h.store.UserByUsername(ctx, login)
		if err != nil {
			return nil
		}
		id = u.ID
	}
	e, err := h.store.UserEmail(ctx, id)
	if err != nil {
		return nil
	}
	tok, hash := newMailToken()
	et := storage.EmailToken{Hash: hash, UserID: id, Purpose: storage.EmailReset, Email: e.Email, ExpiresAt: h.now().Add(emailResetTTL)}
	if err := h.store.Update(ctx, func(tx storage.Tx) error { return tx.CreateEmailToken(ctx, et) }); err != nil {
		return storeErr("forgot password", err)
	}
	err = h.mail(ctx, id, e.Email, "Reset your password on "+h.cfg.ServerName,
		fmt.Sprintf("Someone asked to reset the password of your account on %s.\n\nWithin 30 minutes, sign in with this code (POST /api/v10/auth/reset {\"token\", \"password\"}):\n\n%s\n\nIf it was not you, ignore this mail: your password stays as it is.\n",
			h.cfg.ServerName, tok))
	var limited *RateLimitedError
	if errors.As(err, &limited) {
		return nil // told as if sent: the limit must not reveal the account
	}
	if err != nil {
		// Told as if sent too: a failing mail relay must not tell which
		// accounts have a confirmed address.
		h.log.Warn("password reset mail not sent", "user_id", id, "err", err)
	}
	return nil
}

// ResetPassword follows a reset link: it sets the password, ends every
// session of the account (gateways close with 4004) and signs in anew.
func (h *Homeserver) ResetPassword(ctx context.Context, tok, pw string, d Device) (string, error) {
	v := &ValidationError{}
	validatePassword(v, "password", pw)
	if err := v.Err(); err != nil {
		return "", err
	}
	hash, err := h.passwordHash(ctx, pw)
	if err != nil {
		return "", err
	}
	now := h.now()
	var (
		ended []snowflake.ID
		s     storage.Session
	)
	err = h.store.Update(ctx, func(tx storage.Tx) error {
		et, err := tx.UseEmailToken(ctx, tokenHash(tok), storage.EmailReset, now)
		if err != nil {
			return err
		}
		u, err := tx.UserByID(ctx, et.UserID)
		if err != nil {
			return err
		}
		if c, err := tx.ClosedAccount(ctx, u.ID); err == nil {
			if c.State != storage.AccountDisabled {
				return storage.ErrNotFound // a deleted account is not opened by mail
			}
			if err := tx.ReopenAccount(ctx, u.ID); err != nil {
				return err
			}
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		u.PasswordHash = hash
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if ended, err = tx.DeleteUserSessions(ctx, u.ID, 0); err != nil {
			return err
		}
		// Every other reset code mailed ends with this one.
		if err := passwordChanged(ctx, tx, u.ID); err != nil {
			return err
		}
		s = h.newSession(u.ID, d, now)
		return tx.CreateSession(ctx, s)
	})
	if errors.Is(err, storage.ErrNotFound) {
		return "", ErrInvalidEmailToken
	}
	if err != nil {
		return "", storeErr("reset password", err)
	}
	h.forgetSessions(s.UserID, ended)
	h.log.Info("password reset by mail; sessions ended", "user_id", s.UserID, "sessions_ended", len(ended))
	return h.token(s.UserID, s.ID, now)
}

package homeserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"hearth/homeserver/password"
	"hearth/snowflake"
	"hearth/storage"
)

// Principal is who a request acts as: a user and the session their token
// names.
type Principal struct {
	User    User
	Session snowflake.ID
}

// Registration is what a person signs up with.
type Registration struct {
	Username string
	Password string
	// Device is where the person signs up from, shown in their own list
	// of sessions.
	Device Device
	// Token is a registration token, needed when registration is by
	// invitation (RegistrationInvite) and ignored otherwise.
	Token string
}

// Register creates a local account and signs it in, returning its token.
// The first account of a fresh homeserver administers it.
func (h *Homeserver) Register(ctx context.Context, r Registration) (string, User, error) {
	if h.cfg.Registration == RegistrationClosed {
		return "", User{}, ErrRegistrationClosed
	}
	if h.cfg.Registration != RegistrationInvite {
		r.Token = ""
	} else if r.Token == "" {
		return "", User{}, Invalid("token", "BASE_TYPE_REQUIRED", "Registration on this homeserver is by invitation: a registration token is required.")
	}
	u, tok, err := h.createAccount(ctx, r, true)
	return tok, u, err
}

// passwordHash hashes a new password under the hashing bound.
func (h *Homeserver) passwordHash(ctx context.Context, pw string) (string, error) {
	var hash string
	var err error
	if werr := h.hash(ctx, func() { hash, err = password.Hash(pw, h.cfg.Password) }); werr != nil {
		return "", werr
	}
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return hash, nil
}

// createAccount makes a local account, signed in (with a token) when
// signIn is set.
func (h *Homeserver) createAccount(ctx context.Context, r Registration, signIn bool) (User, string, error) {
	v := &ValidationError{}
	validateUsername(v, "username", r.Username)
	validatePassword(v, "password", r.Password)
	if err := v.Err(); err != nil {
		return User{}, "", err
	}
	hash, err := h.passwordHash(ctx, r.Password)
	if err != nil {
		return User{}, "", err
	}
	now := h.now()
	u := storage.User{ID: h.cfg.IDs.Next(), Username: r.Username, PasswordHash: hash, CreatedAt: now}
	s := h.newSession(u.ID, r.Device, now)
	first := false
	err = h.update(ctx, func(tx storage.Tx, _ *events) error {
		// Under the lock, so that two first registrations at once on
		// PostgreSQL cannot both count no one and both administer.
		if err := tx.LockAccounts(ctx); err != nil {
			return err
		}
		n, err := tx.LocalUserCount(ctx)
		if err != nil {
			return err
		}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if r.Token != "" {
			// Counted in the account's own transaction: a registration
			// refused for its name gives the use back.
			if err := tx.UseRegistrationToken(ctx, tokenHash(r.Token), now); errors.Is(err, storage.ErrNotFound) {
				return ErrInvalidRegistrationToken
			} else if err != nil {
				return err
			}
		}
		if first = n == 0; first {
			if err := tx.SetAdmin(ctx, u.ID, true, now); err != nil {
				return err
			}
		}
		if !signIn {
			return nil
		}
		return tx.CreateSession(ctx, s)
	})
	if errors.Is(err, storage.ErrConflict) {
		return User{}, "", errUsernameTaken("username")
	}
	if errors.Is(err, ErrInvalidRegistrationToken) {
		return User{}, "", err
	}
	if err != nil {
		return User{}, "", storeErr("register", err)
	}
	h.log.Info("account registered", "user_id", u.ID, "username", u.Username, "admin", first)
	if !signIn {
		return userFrom(u), "", nil
	}
	tok, err := h.token(u.ID, s.ID, now)
	return userFrom(u), tok, err
}

// ErrInvalidLogin is the one answer to a wrong name or a wrong password, so
// that a login does not reveal which accounts exist.
var ErrInvalidLogin = Invalid("login", "INVALID_LOGIN", "Login or password is invalid.")

// Login checks a username and password and starts a new session.
func (h *Homeserver) Login(ctx context.Context, login, pw string, d Device) (string, User, error) {
	if len(login) > 256 || len(pw) > PasswordMax*4 {
		return "", User{}, ErrInvalidLogin
	}
	u, err := h.store.UserByUsername(ctx, login)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return "", User{}, storeErr("login", err)
	}
	stored := u.PasswordHash
	if err != nil || stored == "" { // nobody, or a bot or remote user: no password
		stored = h.dummyHash
	}
	var ok bool
	if werr := h.hash(ctx, func() { ok, err = password.Verify(pw, stored) }); werr != nil {
		return "", User{}, werr
	}
	if stored == h.dummyHash {
		return "", User{}, ErrInvalidLogin
	}
	if err != nil {
		return "", User{}, fmt.Errorf("login: user %d: %w", u.ID, err)
	}
	if !ok {
		return "", User{}, ErrInvalidLogin
	}
	now := h.now()
	s := h.newSession(u.ID, d, now)
	err = h.update(ctx, func(tx storage.Tx, _ *events) error {
		// Signing in opens an account its owner disabled; a deleted or
		// deactivated one has no password left to sign in with.
		c, err := tx.ClosedAccount(ctx, u.ID)
		if err == nil && c.State != storage.AccountDisabled {
			return ErrInvalidLogin
		}
		if err == nil {
			if err := tx.ReopenAccount(ctx, u.ID); err != nil {
				return err
			}
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		return tx.CreateSession(ctx, s)
	})
	if errors.Is(err, ErrInvalidLogin) {
		return "", User{}, err
	}
	if err != nil {
		return "", User{}, storeErr("login", err)
	}
	tok, err := h.token(u.ID, s.ID, now)
	return tok, userFrom(u), err
}

// tokenClaims are what a session token carries. The session ID is what
// makes it revocable: the token is honoured only while that session exists.
type tokenClaims struct {
	SessionID snowflake.ID `json:"sid"`
	jwt.RegisteredClaims
}

func (h *Homeserver) token(userID, sessionID snowflake.ID, now time.Time) (string, error) {
	return h.tokenFor(userID, sessionID, now, h.cfg.TokenTTL)
}

// tokenFor signs a token for a session that lasts ttl.
func (h *Homeserver) tokenFor(userID, sessionID snowflake.ID, now time.Time, ttl time.Duration) (string, error) {
	claims := tokenClaims{
		SessionID: sessionID,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    h.cfg.ServerName,
			Subject:   userID.String(),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(h.cfg.TokenKey)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return tok, nil
}

// Authenticate resolves a token to the user and session it names. Forged,
// expired, malformed and revoked tokens are all ErrUnauthorized.
func (h *Homeserver) Authenticate(ctx context.Context, token string) (Principal, error) {
	var claims tokenClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return h.cfg.TokenKey, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(h.cfg.ServerName),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(h.cfg.Now),
	)
	if err != nil {
		return Principal{}, fmt.Errorf("token: %w: %w", ErrUnauthorized, err)
	}
	userID, err := snowflake.Parse(claims.Subject)
	if err != nil {
		return Principal{}, fmt.Errorf("token subject: %w", ErrUnauthorized)
	}
	s, ok := h.sessions.Get(claims.SessionID)
	if !ok {
		s, err = h.store.SessionByID(ctx, claims.SessionID)
		if errors.Is(err, storage.ErrNotFound) {
			return Principal{}, fmt.Errorf("session %d: %w", claims.SessionID, ErrUnauthorized)
		}
		if err != nil {
			return Principal{}, storeErr("authenticate", err)
		}
		h.sessions.Add(s.ID, s)
	}
	if s.UserID != userID {
		return Principal{}, fmt.Errorf("session %d is not user %d's: %w", s.ID, userID, ErrUnauthorized)
	}
	u, err := h.hot.UserByID(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return Principal{}, fmt.Errorf("token user: %w", ErrUnauthorized)
	}
	if err != nil {
		return Principal{}, storeErr("authenticate", err)
	}
	return Principal{User: userFrom(u), Session: s.ID}, nil
}

// Logout ends the session of p.
func (h *Homeserver) Logout(ctx context.Context, p Principal) error {
	err := h.update(ctx, func(tx storage.Tx, _ *events) error { return tx.DeleteSession(ctx, p.Session) })
	h.sessions.Remove(p.Session)
	h.sessionsEnded(p.User.ID, []snowflake.ID{p.Session})
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return storeErr("logout", err)
	}
	return nil
}

// SessionsRevoked is the type of the bus event that tells the gateway to
// drop the connections of ended sessions. It is internal (never sent to a
// client) and ephemeral.
const SessionsRevoked = "HEARTH_SESSIONS_REVOKED"

// RevokedSessions is its payload.
type RevokedSessions struct {
	UserID   snowflake.ID   `json:"user_id"`
	Sessions []snowflake.ID `json:"sessions"`
	// All ends every session of the user: its account was closed by
	// another process, which alone knew the sessions' IDs.
	All bool `json:"all,omitempty"`
}

// sessionsEnded tells live connections that their tokens no longer count.
func (h *Homeserver) sessionsEnded(userID snowflake.ID, ids []snowflake.ID) {
	if len(ids) == 0 {
		return
	}
	h.publishRevoked(RevokedSessions{UserID: userID, Sessions: ids})
	h.relay.revoke(RevokedSessions{UserID: userID, Sessions: ids})
}

// publishRevoked tells this process's connections of ended sign-ins.
func (h *Homeserver) publishRevoked(rs RevokedSessions) {
	b, err := json.Marshal(rs)
	if err != nil {
		return
	}
	h.bus.Publish(storage.Event{Type: SessionsRevoked, Payload: b, CreatedAt: h.now()})
}

// revokedElsewhere applies sign-ins another process sharing the database
// ended: this one forgets them at once, instead of honouring them until
// its cache's TTL, and closes their connections.
func (h *Homeserver) revokedElsewhere(rs RevokedSessions) {
	if rs.All {
		h.sessions.RemoveIf(func(s storage.Session) bool { return s.UserID == rs.UserID })
	}
	for _, id := range rs.Sessions {
		h.sessions.Remove(id)
	}
	h.publishRevoked(rs)
}

// sessionsEndedAll tells live connections that none of a user's tokens
// count any more.
func (h *Homeserver) sessionsEndedAll(userID snowflake.ID) {
	h.publishRevoked(RevokedSessions{UserID: userID, All: true})
	h.relay.revoke(RevokedSessions{UserID: userID, All: true})
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	// Do not leave half a UTF-8 sequence.
	return strings.ToValidUTF8(s, "")
}

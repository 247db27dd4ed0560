package homeserver

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"hearth/homeserver/password"
	"hearth/snowflake"
	"hearth/storage"
)

// A person's devices: the sessions they are signed in with, ended from any
// of them; one-time codes with which a signed-in device signs a new one in
// without the password; and recovery codes, which get them back into the
// account when the password is lost (spec/client-api.md, "Devices and
// recovery").

// Device is where a sign-in comes from, as shown in the person's list of
// their sessions.
type Device struct {
	// Client is the client's own description (its User-Agent).
	Client string
	// Address is the network address it signed in from.
	Address string
}

// Timing and sizes of devices and codes.
const (
	// LinkCodeTTL is how long a link code signs a device in.
	LinkCodeTTL = 5 * time.Minute
	// RecoveryCodeCount is how many recovery codes a person gets at once.
	RecoveryCodeCount = 10
	// touchEvery is how stale a session's last use may be before a request
	// records it again: the list of devices shows when each was last used
	// to a few minutes, and a write per request would cost every request.
	touchEvery = 5 * time.Minute
	// linkCodeLen and recoveryCodeLen are the codes' lengths in symbols
	// of codeAlphabet (5 bits each): a link code lives minutes and is
	// tried at the login rate, so 40 bits; a recovery code lives until
	// used and is kept only as its SHA-256, so 80.
	linkCodeLen     = 8
	recoveryCodeLen = 16
)

// codeAlphabet is Crockford's base 32: no I, L, O or U, so that a code read
// aloud or copied by hand survives (normalizeCode maps the look-alikes).
const codeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

var (
	// ErrInvalidLinkCode: a link code unknown, used or expired.
	ErrInvalidLinkCode = Invalid("code", "INVALID_LINK_CODE", "This code is invalid or has expired.")
	// ErrInvalidRecovery is the one answer to a wrong name or a wrong
	// recovery code, so that recovery does not reveal which accounts exist.
	ErrInvalidRecovery = Invalid("code", "INVALID_RECOVERY_CODE", "Username or recovery code is invalid.")
)

// newSession is a new session of userID from d.
func (h *Homeserver) newSession(userID snowflake.ID, d Device, now time.Time) storage.Session {
	return storage.Session{ID: h.cfg.IDs.Next(), UserID: userID, CreatedAt: now, LastUsed: now,
		Client: clip(d.Client, 256), Address: clip(d.Address, 64)}
}

// Touch records that p's session is in use from address, at most every few
// minutes (or sooner when the address changed); it never fails a request.
func (h *Homeserver) Touch(ctx context.Context, p Principal, address string) {
	s, ok := h.sessions.Get(p.Session)
	now := h.now()
	if !ok || now.Sub(s.LastUsed) < touchEvery && (address == s.Address || now.Sub(s.LastUsed) < time.Minute) {
		return
	}
	address = clip(address, 64)
	err := h.store.Update(ctx, func(tx storage.Tx) error { return tx.TouchSession(ctx, s.ID, now, address) })
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			h.log.Warn("session use not recorded", "session", s.ID, "err", err)
		}
		return
	}
	s.LastUsed, s.Address = now, address
	h.sessions.Add(s.ID, s)
}

// SessionInfo is one of a person's sessions as their list shows it.
type SessionInfo struct {
	// IDHash names the session to EndSessions without revealing its ID.
	IDHash   string
	Client   string
	Address  string
	LastUsed time.Time
	// Current is the session of the request that listed them.
	Current bool
}

// sessionHash names a session in the list: keyed, so that the names are
// stable for the person and mean nothing to anyone else.
func (h *Homeserver) sessionHash(id snowflake.ID) string {
	m := hmac.New(sha256.New, h.cfg.TokenKey)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(id))
	m.Write([]byte("session:"))
	m.Write(b[:])
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// Sessions lists p's signed-in sessions, the most recently used first.
func (h *Homeserver) Sessions(ctx context.Context, p Principal) ([]SessionInfo, error) {
	list, err := h.store.UserSessions(ctx, p.User.ID)
	if err != nil {
		return nil, storeErr("sessions", err)
	}
	out := make([]SessionInfo, 0, len(list))
	for _, s := range list {
		out = append(out, SessionInfo{IDHash: h.sessionHash(s.ID), Client: s.Client, Address: s.Address,
			LastUsed: s.LastUsed, Current: s.ID == p.Session})
	}
	return out, nil
}

// EndSessions signs out the sessions of p named by hashes (the current one
// too, when named); their tokens stop working and their gateway
// connections close. Names of no session of p's are ignored.
func (h *Homeserver) EndSessions(ctx context.Context, p Principal, hashes []string) error {
	if len(hashes) > 100 {
		return Invalid("session_id_hashes", "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
	}
	want := map[string]bool{}
	for _, x := range hashes {
		want[x] = true
	}
	var ended []snowflake.ID
	err := h.update(ctx, func(tx storage.Tx, _ *events) error {
		ended = ended[:0]
		list, err := tx.UserSessions(ctx, p.User.ID)
		if err != nil {
			return err
		}
		for _, s := range list {
			if !want[h.sessionHash(s.ID)] {
				continue
			}
			if err := tx.DeleteSession(ctx, s.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return err
			}
			ended = append(ended, s.ID)
		}
		if len(ended) == 0 {
			return nil
		}
		// A code minted by an ended session must not outlive it.
		return tx.DeleteLinkCodes(ctx, p.User.ID)
	})
	if err != nil {
		return storeErr("end sessions", err)
	}
	h.forgetSessions(p.User.ID, ended)
	return nil
}

// forgetSessions drops ended sessions from the cache and tells live
// connections.
func (h *Homeserver) forgetSessions(userID snowflake.ID, ended []snowflake.ID) {
	for _, id := range ended {
		h.sessions.Remove(id)
	}
	h.sessionsEnded(userID, ended)
}

// newCode makes a random code of n symbols of codeAlphabet.
func newCode(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	for i := range b {
		b[i] = codeAlphabet[b[i]&31]
	}
	return string(b)
}

// groupCode writes a code in groups of four for reading.
func groupCode(c string) string {
	var parts []string
	for len(c) > 4 {
		parts = append(parts, c[:4])
		c = c[4:]
	}
	return strings.Join(append(parts, c), "-")
}

// codeHash is what is stored of a code: the SHA-256 of its normal form
// (upper case, no separators, look-alike letters read as digits).
func codeHash(code string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(code) {
		switch r {
		case '-', ' ':
			continue
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		b.WriteRune(r)
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// CreateLinkCode makes a one-time code with which another device signs in
// to p's account within LinkCodeTTL, without the password.
func (h *Homeserver) CreateLinkCode(ctx context.Context, p Principal) (string, time.Time, error) {
	if p.User.Bot {
		return "", time.Time{}, ErrBotsForbidden
	}
	code := newCode(linkCodeLen)
	now := h.now()
	expires := now.Add(LinkCodeTTL)
	err := h.update(ctx, func(tx storage.Tx, _ *events) error {
		return tx.CreateLinkCode(ctx, codeHash(code), p.User.ID, now, expires)
	})
	if err != nil {
		return "", time.Time{}, storeErr("create link code", err)
	}
	return groupCode(code), expires, nil
}

// Link signs a new device in with a link code, which it uses up.
func (h *Homeserver) Link(ctx context.Context, code string, d Device) (string, User, error) {
	if len(code) > 64 {
		return "", User{}, ErrInvalidLinkCode
	}
	now := h.now()
	var u storage.User
	var s storage.Session
	err := h.update(ctx, func(tx storage.Tx, _ *events) error {
		id, err := tx.TakeLinkCode(ctx, codeHash(code), now)
		if errors.Is(err, storage.ErrNotFound) {
			return ErrInvalidLinkCode
		}
		if err != nil {
			return err
		}
		if u, err = tx.UserByID(ctx, id); err != nil {
			return err
		}
		s = h.newSession(u.ID, d, now)
		return tx.CreateSession(ctx, s)
	})
	if errors.Is(err, ErrInvalidLinkCode) {
		return "", User{}, err
	}
	if err != nil {
		return "", User{}, storeErr("link", err)
	}
	h.log.Info("device linked", "user_id", u.ID, "session", s.ID)
	tok, err := h.token(u.ID, s.ID, now)
	return tok, userFrom(u), err
}

// checkPassword verifies the password of a local account with one (bots
// and other servers' users have none).
func (h *Homeserver) checkPassword(ctx context.Context, u storage.User, pw string) error {
	bad := Invalid("password", "PASSWORD_DOES_NOT_MATCH", "Password does not match.")
	if u.PasswordHash == "" || len(pw) > PasswordMax*4 {
		return bad
	}
	var ok bool
	var err error
	if werr := h.hash(ctx, func() { ok, err = password.Verify(pw, u.PasswordHash) }); werr != nil {
		return werr
	}
	if err != nil {
		return fmt.Errorf("check password of %d: %w", u.ID, err)
	}
	if !ok {
		return bad
	}
	return nil
}

// passwordChanged forgets, in the transaction that sets a new password,
// what was handed out to sign in without the old one: unused link codes
// and mailed reset codes (spec/client-api.md, "Devices and recovery").
// Recovery codes stay, as Discord's backup codes do: they exist for the
// day the password is lost, and a person who fears they leaked makes a
// new set.
func passwordChanged(ctx context.Context, tx storage.Tx, userID snowflake.ID) error {
	if err := tx.DeleteLinkCodes(ctx, userID); err != nil {
		return err
	}
	return tx.DeleteEmailTokens(ctx, userID, storage.EmailReset)
}

// CreateRecoveryCodes gives p a new set of RecoveryCodeCount recovery
// codes, replacing any earlier set; they are shown now and never again.
func (h *Homeserver) CreateRecoveryCodes(ctx context.Context, p Principal, pw string) ([]string, error) {
	u, err := h.store.UserByID(ctx, p.User.ID)
	if err != nil {
		return nil, storeErr("recovery codes", err)
	}
	if err := h.checkPassword(ctx, u, pw); err != nil {
		return nil, err
	}
	codes := make([]string, RecoveryCodeCount)
	hashes := make([]string, RecoveryCodeCount)
	for i := range codes {
		c := newCode(recoveryCodeLen)
		codes[i], hashes[i] = groupCode(c), codeHash(c)
	}
	if err := h.update(ctx, func(tx storage.Tx, _ *events) error { return tx.SetRecoveryCodes(ctx, u.ID, hashes) }); err != nil {
		return nil, storeErr("recovery codes", err)
	}
	h.log.Info("recovery codes made", "user_id", u.ID)
	return codes, nil
}

// RecoveryCodesLeft counts p's unused recovery codes.
func (h *Homeserver) RecoveryCodesLeft(ctx context.Context, p Principal) (int, error) {
	n, err := h.store.RecoveryCodesLeft(ctx, p.User.ID)
	if err != nil {
		return 0, storeErr("recovery codes", err)
	}
	return n, nil
}

// Recover sets a new password for the local account named username with
// one of its recovery codes, which it uses up; every session of the
// account ends, and the device that recovered it is signed in.
func (h *Homeserver) Recover(ctx context.Context, username, code, newPassword string, d Device) (string, User, error) {
	v := &ValidationError{}
	validatePassword(v, "new_password", newPassword)
	if err := v.Err(); err != nil {
		return "", User{}, err
	}
	if len(username) > 256 || len(code) > 64 {
		return "", User{}, ErrInvalidRecovery
	}
	u, err := h.store.UserByUsername(ctx, username)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return "", User{}, storeErr("recover", err)
	}
	// Hashed before the code is checked, so that the code is used up in
	// the same transaction that sets the password (a failure between the
	// two must not cost the person a code); and hashed for a name of no
	// account too, so that the time of the answer does not tell which
	// accounts exist.
	hash, herr := h.passwordHash(ctx, newPassword)
	if err != nil || u.PasswordHash == "" {
		return "", User{}, ErrInvalidRecovery
	}
	if herr != nil {
		return "", User{}, herr
	}
	now := h.now()
	s := h.newSession(u.ID, d, now)
	var ended []snowflake.ID
	err = h.update(ctx, func(tx storage.Tx, _ *events) error {
		if err := tx.TakeRecoveryCode(ctx, u.ID, codeHash(code)); errors.Is(err, storage.ErrNotFound) {
			return ErrInvalidRecovery
		} else if err != nil {
			return err
		}
		fresh, err := tx.UserByID(ctx, u.ID)
		if err != nil {
			return err
		}
		fresh.PasswordHash = hash
		if err := tx.UpdateUser(ctx, fresh); err != nil {
			return err
		}
		if ended, err = tx.DeleteUserSessions(ctx, u.ID, 0); err != nil {
			return err
		}
		if err := passwordChanged(ctx, tx, u.ID); err != nil {
			return err
		}
		return tx.CreateSession(ctx, s)
	})
	if errors.Is(err, ErrInvalidRecovery) {
		return "", User{}, err
	}
	if err != nil {
		return "", User{}, storeErr("recover", err)
	}
	h.forgetSessions(u.ID, ended)
	h.log.Info("account recovered; every other session ended", "user_id", u.ID, "sessions_ended", len(ended))
	tok, err := h.token(u.ID, s.ID, now)
	return tok, userFrom(u), err
}

package federation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hearth/homeserver/wire"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"hearth/homeserver"
	"hearth/homeserver/globalid"
)

// Paths of the signed federation API (spec/federation.md).
const (
	JoinPath      = "/_hearth/federation/v1/join"
	ActPath       = "/_hearth/federation/v1/act"
	SendPath      = "/_hearth/federation/v1/send/"
	EventsPath    = "/_hearth/federation/v1/guilds/{guild}/events"
	MembersPath   = "/_hearth/federation/v1/guilds/{guild}/members"
	EphemeralPath = "/_hearth/federation/v1/ephemeral"
	UserPath      = "/_hearth/federation/v1/users/{username}"
	UploadPath    = "/_hearth/federation/v1/uploads/{hash}"
	HistoryPath   = "/_hearth/federation/v1/channels/{channel}/messages"
	InvitePath    = "/_hearth/federation/v1/invites/{code}"
	// RelationshipPath takes relationship acts between users of two
	// servers (spec/federation.md §15).
	RelationshipPath = "/_hearth/federation/v1/relationships"
	// UserDeletedPath takes the notice that a user of the signer was
	// deleted (spec/federation.md §18).
	UserDeletedPath = "/_hearth/federation/v1/user-deleted"
	// InteractionNoticePath takes what a guild's origin tells about an
	// interaction of one of the receiver's users.
	InteractionNoticePath = "/_hearth/federation/v1/interaction-notice"
)

// Bounds on what a peer may send back: a join's snapshot carries up to
// homeserver.SnapshotMembers members; everything else is small.
const (
	maxSnapshot = 32 << 20
	maxAnswer   = MaxBody
)

// Client makes signed requests to other homeservers. It implements
// homeserver.Remote.
type Client struct {
	serverName string
	key        Key
	http       *http.Client
	scheme     string
	now        func() time.Time
	// policy, when set, says which servers may be called at all.
	policy Policy
	clocks clocks
	// clock is the homeserver's, which peers' clocks are measured against
	// (signatures are dated by now).
	clock func() time.Time
}

// SetClock makes the client measure peers' clocks against the homeserver's
// clock now, which act deadlines are written by. Call it before the client
// is used.
func (c *Client) SetClock(now func() time.Time) { c.clock = now }

// ClockOffset implements homeserver.Remote: how far server's clock is ahead
// of this server's, as its recent answers show (never more than it is).
func (c *Client) ClockOffset(server string) time.Duration {
	return c.clocks.offset(server, c.clock())
}

// SetPolicy makes the client refuse, with ErrBlocked, every request to a
// server policy does not let federate. Call it before the client is used.
func (c *Client) SetPolicy(p Policy) { c.policy = p }

// refused is ErrBlocked (as the domain's ErrForbidden, and unreachable for
// the sender, which then waits) for a server the policy refuses.
func (c *Client) refused(ctx context.Context, server string) error {
	// A server name comes from what people type (name@server, an invite
	// code@server) and from peers' payloads; it becomes the request's
	// host, so anything but a server name (a path, a query, a second
	// spelling) is refused before a request is made of it.
	if !globalid.ValidServer(server) {
		return fmt.Errorf("%q is not a server name: %w", server, homeserver.ErrNotFound)
	}
	if c.policy == nil || c.policy(ctx, server) {
		return nil
	}
	return fmt.Errorf("%s: %w: %w: %w", server, ErrBlocked, errUnreachable, homeserver.ErrForbidden)
}

// NewRemote makes the outbound side of federation; insecure allows plain
// http and private addresses (development and tests).
func NewRemote(serverName string, key Key, insecure bool) *Client {
	scheme := "https://"
	if insecure {
		scheme = "http://"
	}
	return &Client{serverName: serverName, key: key, http: NewClient(insecure), scheme: scheme, now: time.Now, clock: time.Now}
}

var _ homeserver.Remote = (*Client)(nil)

// errUnreachable: the peer did not answer, or answered something that is
// not the protocol.
var errUnreachable = errors.New("peer unreachable")

// do sends a signed request and decodes a 200 answer into out, reading at
// most limit bytes. A refusal comes back as the domain error it names.
func (c *Client) do(ctx context.Context, method, server, path string, body any, out any, limit int64) error {
	if err := c.refused(ctx, server); err != nil {
		return err
	}
	var raw []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		raw = b
	}
	req, err := http.NewRequestWithContext(ctx, method, c.scheme+server+path, bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("%s %s: %w: %w", method, server, homeserver.ErrUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if err := Sign(req, raw, c.serverName, c.key, c.now()); err != nil {
		return err
	}
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s%s: %w: %w: %w", method, server, path, errUnreachable, homeserver.ErrUnavailable, err)
	}
	defer res.Body.Close()
	c.clocks.note(server, res.Header, c.clock())
	if res.StatusCode != http.StatusOK {
		var w homeserver.WireError
		b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
		if json.Unmarshal(b, &w) != nil || w.Code == "" || res.StatusCode == http.StatusUnauthorized {
			return fmt.Errorf("%s %s%s: status %d %.200s: %w: %w", method, server, path, res.StatusCode, b, errUnreachable, homeserver.ErrUnavailable)
		}
		return homeserver.FromWire(server, w)
	}
	dec := json.NewDecoder(io.LimitReader(res.Body, limit))
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("%s %s%s: answer: %w: %w: %w", method, server, path, errUnreachable, homeserver.ErrUnavailable, err)
	}
	return nil
}

// Join implements homeserver.Remote.
func (c *Client) Join(ctx context.Context, server string, req wire.JoinRequest) (wire.Snapshot, error) {
	var snap wire.Snapshot
	err := c.do(ctx, http.MethodPost, server, JoinPath, req, &snap, maxSnapshot)
	return snap, err
}

// Act implements homeserver.Remote.
func (c *Client) Act(ctx context.Context, server string, act wire.Act) (wire.ActResult, error) {
	var res wire.ActResult
	err := c.do(ctx, http.MethodPost, server, ActPath, act, &res, maxAnswer)
	return res, err
}

// Events implements homeserver.Remote.
func (c *Client) Events(ctx context.Context, server, guild string, after int64) (wire.EventBatch, error) {
	var b wire.EventBatch
	path := "/_hearth/federation/v1/guilds/" + url.PathEscape(guild) + "/events?after=" + strconv.FormatInt(after, 10)
	err := c.do(ctx, http.MethodGet, server, path, nil, &b, maxAnswer)
	return b, err
}

// Members implements homeserver.Remote.
func (c *Client) Members(ctx context.Context, server, guild, after string) (wire.MemberPage, error) {
	var p wire.MemberPage
	path := "/_hearth/federation/v1/guilds/" + url.PathEscape(guild) + "/members?after=" + url.QueryEscape(after)
	err := c.do(ctx, http.MethodGet, server, path, nil, &p, maxSnapshot)
	return p, err
}

// Send delivers a transaction of events to a peer; txn names it, so that a
// retried transaction is recognised.
func (c *Client) Send(ctx context.Context, server, txn string, batch wire.EventBatch) error {
	var ack struct{}
	return c.do(ctx, http.MethodPut, server, SendPath+url.PathEscape(txn), batch, &ack, 1<<10)
}

// Ephemeral sends a peer an event that is in no log; it is not retried.
func (c *Client) Ephemeral(ctx context.Context, server string, e wire.EphemeralEvent) error {
	var ack struct{}
	return c.do(ctx, http.MethodPut, server, EphemeralPath, e, &ack, 1<<10)
}

// User implements homeserver.Remote.
func (c *Client) User(ctx context.Context, server, username string) (wire.RemoteUser, error) {
	var u wire.RemoteUser
	err := c.do(ctx, http.MethodGet, server, "/_hearth/federation/v1/users/"+url.PathEscape(username), nil, &u, 64<<10)
	return u, err
}

// Fetch implements homeserver.Remote. Files are fetched unsigned: an
// attachment's path carries its own MAC, and emoji images are public.
func (c *Client) Fetch(ctx context.Context, server, path string, limit int64) (io.ReadCloser, error) {
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("fetch %q from %s: %w", path, server, homeserver.ErrNotFound)
	}
	if err := c.refused(ctx, server); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.scheme+server+path, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch from %s: %w: %w", server, homeserver.ErrNotFound, err)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch from %s: %w: %w", server, homeserver.ErrUnavailable, err)
	}
	switch {
	case res.StatusCode == http.StatusNotFound:
		res.Body.Close()
		return nil, fmt.Errorf("fetch %s from %s: %w", path, server, homeserver.ErrNotFound)
	case res.StatusCode != http.StatusOK:
		res.Body.Close()
		return nil, fmt.Errorf("fetch %s from %s: status %d: %w", path, server, res.StatusCode, homeserver.ErrUnavailable)
	case res.ContentLength > limit:
		res.Body.Close()
		return nil, fmt.Errorf("fetch %s from %s: %d bytes: %w", path, server, res.ContentLength, homeserver.ErrTooLarge)
	}
	return limited(res.Body, limit), nil
}

// limited reads at most limit+1 bytes of body, so that the store it is
// copied to can tell an oversized file (it takes at most limit).
func limited(body io.ReadCloser, limit int64) io.ReadCloser {
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(body, limit+1), body}
}

// FetchUpload implements homeserver.Remote.
func (c *Client) FetchUpload(ctx context.Context, server, hash string, limit int64) (io.ReadCloser, error) {
	if err := c.refused(ctx, server); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.scheme+server+"/_hearth/federation/v1/uploads/"+url.PathEscape(hash), bytes.NewReader(nil))
	if err != nil {
		return nil, fmt.Errorf("fetch upload from %s: %w: %w", server, homeserver.ErrUnavailable, err)
	}
	if err := Sign(req, nil, c.serverName, c.key, c.now()); err != nil {
		return nil, err
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch upload from %s: %w: %w", server, homeserver.ErrUnavailable, err)
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		return nil, fmt.Errorf("fetch upload %s from %s: status %d: %w", hash, server, res.StatusCode, homeserver.ErrUnavailable)
	}
	return limited(res.Body, limit), nil
}

// History implements homeserver.Remote.
func (c *Client) History(ctx context.Context, server, channel, before string, limit int) (json.RawMessage, error) {
	var out json.RawMessage
	path := "/_hearth/federation/v1/channels/" + url.PathEscape(channel) + "/messages?limit=" + strconv.Itoa(limit) +
		"&before=" + url.QueryEscape(before)
	err := c.do(ctx, http.MethodGet, server, path, nil, &out, maxAnswer)
	return out, err
}

// Invite implements homeserver.Remote.
func (c *Client) Invite(ctx context.Context, server, code string) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.do(ctx, http.MethodGet, server, "/_hearth/federation/v1/invites/"+url.PathEscape(code), nil, &out, 256<<10)
	return out, err
}

// Relationship implements homeserver.Remote.
func (c *Client) Relationship(ctx context.Context, server string, act wire.RelationshipAct) (wire.RelationshipResult, error) {
	var res wire.RelationshipResult
	err := c.do(ctx, http.MethodPost, server, RelationshipPath, act, &res, 1<<10)
	return res, err
}

// UserDeleted implements homeserver.Remote.
func (c *Client) UserDeleted(ctx context.Context, server string, n wire.UserDeleted) error {
	var res struct{}
	return c.do(ctx, http.MethodPost, server, UserDeletedPath, n, &res, 1<<10)
}

// InteractionNotice implements homeserver.Remote.
func (c *Client) InteractionNotice(ctx context.Context, server string, n wire.InteractionNotice) error {
	var res struct{}
	return c.do(ctx, http.MethodPost, server, InteractionNoticePath, n, &res, 1<<10)
}

package federation

import (
	"context"
	"encoding/json"
	"errors"
	"hearth/homeserver/replica"
	"hearth/homeserver/wire"
	"io"
	"net/http"
	"strconv"
	"strings"

	"hearth/homeserver"
)

// The signed endpoints peers call: joins, acts, event transactions and
// backfill. Each verifies the request, wakes delivery to the caller (a
// peer that speaks is up), hands the request to the domain and answers
// with its result or its refusal as a homeserver.WireError.

// Domain is what the handlers need of the homeserver.
type Domain interface {
	FederatedJoin(ctx context.Context, peer string, req wire.JoinRequest) (wire.Snapshot, error)
	PeerAct(ctx context.Context, peer string, act wire.Act) (wire.ActResult, error)
	PeerEvents(ctx context.Context, peer, guild string, after int64, limit int) (wire.EventBatch, error)
	ApplyEvents(ctx context.Context, origin string, batch wire.EventBatch) error
	PeerMembers(ctx context.Context, peer, guild, after string) (wire.MemberPage, error)
	ApplyEphemeral(ctx context.Context, origin string, e wire.EphemeralEvent) error
	PeerProfile(ctx context.Context, username string) (wire.RemoteUser, error)
	PeerUpload(ctx context.Context, peer, hash string) (homeserver.File, error)
	PeerHistory(ctx context.Context, peer, channel, before string, limit int) (json.RawMessage, error)
	PeerInvite(ctx context.Context, code string) (json.RawMessage, error)
	PeerRelationship(ctx context.Context, peer string, act wire.RelationshipAct) (wire.RelationshipResult, error)
	PeerUserDeleted(ctx context.Context, peer string, n wire.UserDeleted) error
	PeerInteractionNotice(ctx context.Context, peer string, n wire.InteractionNotice) error
}

// Serve wires the handlers: hs answers them; joined is told after a peer's
// user joined (the sender has a new log to deliver), woken whenever a
// peer makes a verified request.
func (in *Inbound) Serve(hs Domain, joined func(), woken func(peer string)) {
	in.hs, in.joined, in.woken = hs, joined, woken
}

// status is the HTTP status of a wire error code.
func status(code string) int {
	switch {
	case code == "FORBIDDEN", code == "MISSING_ACCESS", code == "MISSING_PERMISSIONS", code == "MIRROR_AUTHORITY", code == "BANNED", code == "NOT_AUTHOR",
		code == "BOTS_FORBIDDEN":
		return http.StatusForbidden
	case strings.HasPrefix(code, "UNKNOWN_"), code == "NOT_FOUND":
		return http.StatusNotFound
	case code == "UNAVAILABLE":
		return http.StatusServiceUnavailable
	case code == "SLOWMODE", code == "RATE_LIMITED":
		return http.StatusTooManyRequests
	case code == "TOO_LARGE":
		return http.StatusRequestEntityTooLarge
	case code == "GAP":
		return http.StatusConflict
	case code == "EXPIRED":
		return http.StatusRequestTimeout
	}
	return http.StatusBadRequest
}

// fail answers a domain error; refusals of a peer's authority are logged
// and counted like signature failures.
func (in *Inbound) fail(w http.ResponseWriter, r *http.Request, peer string, err error) {
	we := homeserver.ToWire(err)
	if reason := refusal(err); reason != "" {
		in.rejected.WithLabelValues(reason).Inc()
		in.Log.Warn("federation request refused", "reason", reason, "peer", peer, "path", r.URL.Path, "err", err)
	} else if we.Code == "UNAVAILABLE" {
		in.Log.Error("federation request failed", "peer", peer, "path", r.URL.Path, "err", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status(we.Code))
	_ = jsonEncode(w, we)
}

// refusal is the reason a domain error counts among the rejected
// requests: a peer overstepping its authority or the bounds on what it may
// make this server keep (spec/federation.md §14); "" for other errors.
func refusal(err error) string {
	switch {
	case errors.Is(err, homeserver.ErrForbidden):
		return "forbidden"
	case errors.Is(err, homeserver.ErrTooManyMembers):
		return "too_many_members"
	case errors.Is(err, homeserver.ErrTooManyUsers):
		return "too_many_users"
	case errors.Is(err, homeserver.ErrTooManyObjects):
		return "too_many_objects"
	case errors.Is(err, replica.ErrRefusedHistory):
		return "refused_history"
	}
	return ""
}

// RefusedAnswer counts a peer's answer that the domain refused (a join's
// snapshot, a member page, a history page) beside refused requests, by the
// same reasons; failures that refuse nothing of the peer's are not counted.
func (in *Inbound) RefusedAnswer(peer string, err error) {
	if reason := refusal(err); reason != "" {
		in.rejected.WithLabelValues(reason).Inc()
		in.Log.Warn("federation answer refused", "reason", reason, "peer", peer, "err", err)
	}
}

// accept verifies a request and decodes its JSON body into v (nil for
// none).
func (in *Inbound) accept(w http.ResponseWriter, r *http.Request, v any) (string, bool) {
	peer, body, ok := in.authenticate(w, r)
	if !ok {
		return "", false
	}
	if in.woken != nil {
		in.woken(peer)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			in.fail(w, r, peer, homeserver.Invalid("body", "BASE_TYPE_INVALID", "The body is not the expected JSON."))
			return "", false
		}
	}
	return peer, true
}

// ServeJoin answers JoinPath.
func (in *Inbound) ServeJoin(w http.ResponseWriter, r *http.Request) {
	var req wire.JoinRequest
	peer, ok := in.accept(w, r, &req)
	if !ok {
		return
	}
	snap, err := in.hs.FederatedJoin(r.Context(), peer, req)
	if err != nil {
		in.fail(w, r, peer, err)
		return
	}
	if in.joined != nil {
		in.joined()
	}
	writeJSON(w, snap)
}

// ServeAct answers ActPath.
func (in *Inbound) ServeAct(w http.ResponseWriter, r *http.Request) {
	var act wire.Act
	peer, ok := in.accept(w, r, &act)
	if !ok {
		return
	}
	res, err := in.hs.PeerAct(r.Context(), peer, act)
	if err != nil {
		in.fail(w, r, peer, err)
		return
	}
	writeJSON(w, res)
}

// ServeEvents answers EventsPath: backfill and gap filling.
func (in *Inbound) ServeEvents(w http.ResponseWriter, r *http.Request) {
	peer, ok := in.accept(w, r, nil)
	if !ok {
		return
	}
	after, err := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	if err != nil || after < 0 {
		in.fail(w, r, peer, homeserver.Invalid("after", "NUMBER_TYPE_COERCE", "Not a sequence number."))
		return
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	b, err := in.hs.PeerEvents(r.Context(), peer, r.PathValue("guild"), after, limit)
	if err != nil {
		in.fail(w, r, peer, err)
		return
	}
	writeJSON(w, b)
}

// ServeSend answers SendPath: a transaction of events from a guild's
// origin. Applying is idempotent by sequence number, so a retried
// transaction is acknowledged without changing anything.
func (in *Inbound) ServeSend(w http.ResponseWriter, r *http.Request) {
	var b wire.EventBatch
	peer, ok := in.accept(w, r, &b)
	if !ok {
		return
	}
	if err := in.hs.ApplyEvents(r.Context(), peer, b); err != nil {
		in.fail(w, r, peer, err)
		return
	}
	writeJSON(w, struct{}{})
}

// ServeMembers answers MembersPath: a replica's member list, page by page.
func (in *Inbound) ServeMembers(w http.ResponseWriter, r *http.Request) {
	peer, ok := in.accept(w, r, nil)
	if !ok {
		return
	}
	p, err := in.hs.PeerMembers(r.Context(), peer, r.PathValue("guild"), r.URL.Query().Get("after"))
	if err != nil {
		in.fail(w, r, peer, err)
		return
	}
	writeJSON(w, p)
}

// ServeEphemeral answers EphemeralPath: typing and presence in a guild,
// and the presence of the sender's users for their friends here.
func (in *Inbound) ServeEphemeral(w http.ResponseWriter, r *http.Request) {
	var e wire.EphemeralEvent
	peer, ok := in.accept(w, r, &e)
	if !ok {
		return
	}
	if err := in.hs.ApplyEphemeral(r.Context(), peer, e); err != nil {
		in.fail(w, r, peer, err)
		return
	}
	writeJSON(w, struct{}{})
}

// ServeUser answers UserPath: who a user of this server is, by name.
func (in *Inbound) ServeUser(w http.ResponseWriter, r *http.Request) {
	peer, ok := in.accept(w, r, nil)
	if !ok {
		return
	}
	u, err := in.hs.PeerProfile(r.Context(), r.PathValue("username"))
	if err != nil {
		in.fail(w, r, peer, err)
		return
	}
	writeJSON(w, u)
}

// ServeUpload answers UploadPath: the bytes of a file this server's user
// is sending in a guild of the signer, for the signer only.
func (in *Inbound) ServeUpload(w http.ResponseWriter, r *http.Request) {
	peer, ok := in.accept(w, r, nil)
	if !ok {
		return
	}
	f, err := in.hs.PeerUpload(r.Context(), peer, r.PathValue("hash"))
	if err != nil {
		in.fail(w, r, peer, err)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", f.ContentType)
	w.Header().Set("Content-Length", strconv.FormatInt(f.Size, 10))
	_, _ = io.Copy(w, f)
}

// ServeHistory answers HistoryPath: older messages of a channel, for a
// replica that began after them.
func (in *Inbound) ServeHistory(w http.ResponseWriter, r *http.Request) {
	peer, ok := in.accept(w, r, nil)
	if !ok {
		return
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	page, err := in.hs.PeerHistory(r.Context(), peer, r.PathValue("channel"), r.URL.Query().Get("before"), limit)
	if err != nil {
		in.fail(w, r, peer, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(page)
}

// ServeInvite answers InvitePath: a preview of an invite of this server,
// for a peer's user deciding whether to join.
func (in *Inbound) ServeInvite(w http.ResponseWriter, r *http.Request) {
	peer, ok := in.accept(w, r, nil)
	if !ok {
		return
	}
	inv, err := in.hs.PeerInvite(r.Context(), r.PathValue("code"))
	if err != nil {
		in.fail(w, r, peer, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(inv)
}

// ServeRelationship answers RelationshipPath: a friend request, its
// acceptance, or the end of a friendship or request, by a user of the
// signer towards a user of this server.
func (in *Inbound) ServeRelationship(w http.ResponseWriter, r *http.Request) {
	var act wire.RelationshipAct
	peer, ok := in.accept(w, r, &act)
	if !ok {
		return
	}
	res, err := in.hs.PeerRelationship(r.Context(), peer, act)
	if err != nil {
		in.fail(w, r, peer, err)
		return
	}
	writeJSON(w, res)
}

// ServeUserDeleted answers UserDeletedPath: a user of the signer was
// deleted, and its profile here is anonymised.
func (in *Inbound) ServeUserDeleted(w http.ResponseWriter, r *http.Request) {
	var n wire.UserDeleted
	peer, ok := in.accept(w, r, &n)
	if !ok {
		return
	}
	if err := in.hs.PeerUserDeleted(r.Context(), peer, n); err != nil {
		in.fail(w, r, peer, err)
		return
	}
	writeJSON(w, struct{}{})
}

// ServeInteractionNotice answers InteractionNoticePath: the origin of a
// guild tells one of this server's users how their interaction went.
func (in *Inbound) ServeInteractionNotice(w http.ResponseWriter, r *http.Request) {
	var n wire.InteractionNotice
	peer, ok := in.accept(w, r, &n)
	if !ok {
		return
	}
	if err := in.hs.PeerInteractionNotice(r.Context(), peer, n); err != nil {
		in.fail(w, r, peer, err)
		return
	}
	writeJSON(w, struct{}{})
}

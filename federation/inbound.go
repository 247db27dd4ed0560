package federation

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Inbound serves the signed part of the federation API. Every handler
// verifies the request first; a rejection is logged with its reason and
// counted in hearth_federation_inbound_rejected_total.
type Inbound struct {
	ServerName string
	Keys       KeySource
	Log        *slog.Logger
	Now        func() time.Time
	// Stamp is the homeserver's clock, which answers are dated by (the
	// Date header), so that peers learn its offset from theirs (§7.3).
	Stamp    func() time.Time
	rejected *prometheus.CounterVec

	limits Limits
	// slots holds a token per request in flight; peers counts the
	// verified requests of each signer in flight, an entry living only
	// while its count is above zero.
	slots chan struct{}
	mu    sync.Mutex
	peers map[string]int

	hs     Domain
	joined func()
	woken  func(peer string)
}

// Limits bound what inbound federation requests may hold of the server.
type Limits struct {
	// MaxInFlight bounds the federation requests handled at once, over
	// all endpoints; one more is answered 503 at once.
	MaxInFlight int
	// MaxPerPeer bounds the verified requests of one signer handled at
	// once, so that one peer cannot take every slot.
	MaxPerPeer int
	// BodyTimeout bounds the reading of a request's body.
	BodyTimeout time.Duration
}

// DefaultLimits are the limits of spec/federation.md §14.
var DefaultLimits = Limits{MaxInFlight: 64, MaxPerPeer: 16, BodyTimeout: 30 * time.Second}

// PingPath answers a signed request with who signed it: a peer's way to
// check that it can reach this server and that its signatures verify.
const PingPath = "/_hearth/federation/v1/ping"

// NewInbound makes the inbound handlers and registers their metrics. A
// zero field of limits takes its value from DefaultLimits.
func NewInbound(serverName string, keys KeySource, log *slog.Logger, reg prometheus.Registerer, limits Limits) *Inbound {
	if limits.MaxInFlight <= 0 {
		limits.MaxInFlight = DefaultLimits.MaxInFlight
	}
	if limits.MaxPerPeer <= 0 {
		limits.MaxPerPeer = DefaultLimits.MaxPerPeer
	}
	if limits.BodyTimeout <= 0 {
		limits.BodyTimeout = DefaultLimits.BodyTimeout
	}
	in := &Inbound{ServerName: serverName, Keys: keys, Log: log, Now: time.Now, Stamp: time.Now,
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hearth_federation_inbound_rejected_total",
			Help: "Federation requests rejected, and peers' answers (join snapshots, member pages, history pages) refused, by reason.",
		}, []string{"reason"}),
		limits: limits, slots: make(chan struct{}, limits.MaxInFlight), peers: map[string]int{},
	}
	reg.MustRegister(in.rejected)
	return in
}

// fedError is the federation API's error body.
type fedError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// slotKey keys a request's slot in its context.
type slotKey struct{}

// slot is what a request holds of the limits; peer is set once its signer
// is verified.
type slot struct{ peer string }

// Limit wraps a federation handler in the in-flight bound: over it the
// request is answered 503 UNAVAILABLE before anything is read or checked.
func (in *Inbound) Limit(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// The Date of an answer is this server's clock (net/http's would
		// be the machine's), from which peers learn its offset (§7.3).
		w.Header().Set("Date", in.Stamp().UTC().Format(http.TimeFormat))
		select {
		case in.slots <- struct{}{}:
		default:
			in.reject(w, r, ErrOverloaded)
			return
		}
		s := &slot{}
		defer func() {
			if s.peer != "" {
				in.mu.Lock()
				if in.peers[s.peer]--; in.peers[s.peer] <= 0 {
					delete(in.peers, s.peer)
				}
				in.mu.Unlock()
			}
			<-in.slots
		}()
		h(w, r.WithContext(context.WithValue(r.Context(), slotKey{}, s)))
	}
}

// holdPeer counts a verified request against its signer's share, and
// reports false when the signer already has its share in flight.
func (in *Inbound) holdPeer(r *http.Request, peer string) bool {
	s, _ := r.Context().Value(slotKey{}).(*slot)
	if s == nil {
		return true // not behind Limit
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.peers[peer] >= in.limits.MaxPerPeer {
		return false
	}
	in.peers[peer]++
	s.peer = peer
	return true
}

// reject answers, logs and counts a request refused before handling: 503
// UNAVAILABLE when the server is overloaded, 403 FORBIDDEN for a server
// not federated with, else 401 UNAUTHORIZED.
func (in *Inbound) reject(w http.ResponseWriter, r *http.Request, err error) {
	reason := Reason(err)
	in.rejected.WithLabelValues(reason).Inc()
	in.Log.Warn("federation request rejected", "reason", reason, "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
	code, status := "UNAUTHORIZED", http.StatusUnauthorized
	switch {
	case errors.Is(err, ErrOverloaded):
		code, status = "UNAVAILABLE", http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "1")
	case errors.Is(err, ErrBlocked):
		code, status = "FORBIDDEN", http.StatusForbidden
	}
	// A refused request's body is not wanted: closing the connection
	// keeps net/http from reading up to 256 KiB of it to reuse the
	// connection, which a body that never comes would hold up.
	w.Header().Set("Connection", "close")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = jsonEncode(w, fedError{Code: code, Message: reason})
}

// authenticate verifies r, answering itself when it fails. Every check
// that can be made on the headers comes before the body is read; the body
// is then read under the body deadline.
func (in *Inbound) authenticate(w http.ResponseWriter, r *http.Request) (string, []byte, bool) {
	signed, err := VerifyHeaders(r.Context(), r, in.ServerName, in.Keys, in.Now())
	if err != nil {
		in.reject(w, r, err)
		return "", nil, false
	}
	if !in.holdPeer(r, signed.Server) {
		in.reject(w, r, errors.Join(ErrOverloaded, errors.New(signed.Server+" has its share of requests in flight")))
		return "", nil, false
	}
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Now().Add(in.limits.BodyTimeout)); err != nil {
		in.Log.Debug("federation: no body deadline", "err", err)
	}
	body, err := signed.ReadBody(r)
	// The deadline is for the body only: left set, it would end a
	// handler still working when it passes (net/http reads ahead on the
	// connection once the body is done, and a failed read cancels the
	// request's context).
	_ = rc.SetReadDeadline(time.Time{})
	if err != nil {
		in.reject(w, r, err)
		return "", nil, false
	}
	return signed.Server, body, true
}

// ServePing answers PingPath.
func (in *Inbound) ServePing(w http.ResponseWriter, r *http.Request) {
	origin, _, ok := in.authenticate(w, r)
	if !ok {
		return
	}
	writeJSON(w, map[string]string{"server_name": in.ServerName, "origin": origin})
}

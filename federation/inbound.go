package federation

import (
	"log/slog"
	"net/http"
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
	rejected   *prometheus.CounterVec

	hs     Domain
	joined func()
	woken  func(peer string)
}

// PingPath answers a signed request with who signed it: a peer's way to
// check that it can reach this server and that its signatures verify.
const PingPath = "/_hearth/federation/v1/ping"

// NewInbound makes the inbound handlers and registers their metrics.
func NewInbound(serverName string, keys KeySource, log *slog.Logger, reg prometheus.Registerer) *Inbound {
	in := &Inbound{ServerName: serverName, Keys: keys, Log: log, Now: time.Now,
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hearth_federation_inbound_rejected_total",
			Help: "Federation requests rejected before handling, by reason.",
		}, []string{"reason"}),
	}
	reg.MustRegister(in.rejected)
	return in
}

// fedError is the federation API's error body.
type fedError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// authenticate verifies r, answering 401 itself when it fails.
func (in *Inbound) authenticate(w http.ResponseWriter, r *http.Request) (string, []byte, bool) {
	origin, body, err := Verify(r.Context(), r, in.ServerName, in.Keys, in.Now())
	if err != nil {
		reason := Reason(err)
		in.rejected.WithLabelValues(reason).Inc()
		in.Log.Warn("federation request rejected", "reason", reason, "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_ = jsonEncode(w, fedError{Code: "UNAUTHORIZED", Message: reason})
		return "", nil, false
	}
	return origin, body, true
}

// ServePing answers PingPath.
func (in *Inbound) ServePing(w http.ResponseWriter, r *http.Request) {
	origin, _, ok := in.authenticate(w, r)
	if !ok {
		return
	}
	writeJSON(w, map[string]string{"server_name": in.ServerName, "origin": origin})
}

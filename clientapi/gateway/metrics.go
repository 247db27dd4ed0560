package gateway

import "github.com/prometheus/client_golang/prometheus"

// Reasons a session is dropped, the label of
// hearth_gateway_sessions_dropped_total. The alert rules in
// deploy/prometheus/alerts.yml name them.
const (
	// dropSlowConsumer: the client read too slowly and its queue filled;
	// it may resume.
	dropSlowConsumer = "slow_consumer"
	// dropHeartbeat: the client missed its heartbeats (close 4009).
	dropHeartbeat = "heartbeat_timeout"
	// dropNotResumed: a dropped session was not resumed within the
	// resume window and is forgotten; its client must IDENTIFY again.
	dropNotResumed = "not_resumed"
)

// gatewayMetrics are the gateway's instruments.
type gatewayMetrics struct {
	connections prometheus.Gauge
	dropped     *prometheus.CounterVec
}

// newMetrics makes the instruments and registers them on reg when it is
// not nil, with a gauge of the sessions g holds.
func newMetrics(g *Gateway, reg prometheus.Registerer) *gatewayMetrics {
	m := &gatewayMetrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{Name: "hearth_gateway_connections",
			Help: "Open gateway WebSocket connections."}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hearth_gateway_sessions_dropped_total",
			Help: "Gateway sessions the server dropped, by reason: slow_consumer, heartbeat_timeout, not_resumed."},
			[]string{"reason"}),
	}
	for _, r := range []string{dropSlowConsumer, dropHeartbeat, dropNotResumed} {
		m.dropped.WithLabelValues(r) // present at zero, so that rate() sees the first drop
	}
	if reg != nil {
		sessions := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hearth_gateway_sessions",
			Help: "Gateway sessions held, attached or waiting to be resumed."}, func() float64 {
			g.mu.RLock()
			defer g.mu.RUnlock()
			return float64(len(g.sessions))
		})
		reg.MustRegister(m.connections, m.dropped, sessions)
	}
	return m
}

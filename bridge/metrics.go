package bridge

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Registerer is where the bridge registers its metrics (the server's
// registry, served at /metrics).
type Registerer = prometheus.Registerer

// metrics are the bridge's counters (spec/bridge.md lists them).
type metrics struct {
	events   *prometheus.CounterVec
	relays   *prometheus.CounterVec
	echoes   prometheus.Counter
	backfill prometheus.Counter
	webhooks prometheus.Counter
	missedN  prometheus.Counter
	connects *prometheus.CounterVec
	limited  *prometheus.CounterVec
	waits    prometheus.Counter
	lag      *prometheus.GaugeVec
}

func newMetrics(reg Registerer) *metrics {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hearth_bridge_discord_events_total",
			Help: "Discord gateway events by type and outcome (imported, duplicate, echo, ignored, failed)."}, []string{"type", "outcome"}),
		relays: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hearth_bridge_relay_total",
			Help: "Hearth events relayed to Discord by type and outcome (ok, retried, failed)."}, []string{"type", "outcome"}),
		echoes: prometheus.NewCounter(prometheus.CounterOpts{Name: "hearth_bridge_echo_suppressed_total",
			Help: "Mirror messages that came from Discord and were not relayed back."}),
		backfill: prometheus.NewCounter(prometheus.CounterOpts{Name: "hearth_bridge_backfill_messages_total",
			Help: "Discord messages read by link backfills."}),
		webhooks: prometheus.NewCounter(prometheus.CounterOpts{Name: "hearth_bridge_webhooks_created_total",
			Help: "Webhooks the bridge made on Discord."}),
		missedN: prometheus.NewCounter(prometheus.CounterOpts{Name: "hearth_bridge_missed_messages_total",
			Help: "Discord messages read when catching up after the bridge was away."}),
		connects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hearth_bridge_gateway_connects_total",
			Help: "Discord gateway sessions by kind (identify, resume)."}, []string{"kind"}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hearth_bridge_discord_ratelimited_total",
			Help: "Discord's 429 answers by scope (route, user, shared, global)."}, []string{"scope"}),
		waits: prometheus.NewCounter(prometheus.CounterOpts{Name: "hearth_bridge_discord_ratelimit_wait_seconds_total",
			Help: "Time the relay waited because Discord said so."}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "hearth_bridge_relay_lag_events",
			Help: "Events of a mirror's log the relay has yet to read, by Discord guild."}, []string{"guild"}),
	}
	if reg != nil {
		reg.MustRegister(m.events, m.relays, m.echoes, m.backfill, m.webhooks, m.missedN, m.connects, m.limited, m.waits, m.lag)
	}
	return m
}

func (m *metrics) event(typ, outcome string)    { m.events.WithLabelValues(typ, outcome).Inc() }
func (m *metrics) relay(typ, outcome string)    { m.relays.WithLabelValues(typ, outcome).Inc() }
func (m *metrics) echoSuppressed()              { m.echoes.Inc() }
func (m *metrics) backfilled(n int)             { m.backfill.Add(float64(n)) }
func (m *metrics) webhookCreated()              { m.webhooks.Inc() }
func (m *metrics) missed(n int)                 { m.missedN.Add(float64(n)) }
func (m *metrics) connect(kind string)          { m.connects.WithLabelValues(kind).Inc() }
func (m *metrics) rateLimited(scope string)     { m.limited.WithLabelValues(scope).Inc() }
func (m *metrics) waited(d time.Duration)       { m.waits.Add(d.Seconds()) }
func (m *metrics) setLag(guild string, n int64) { m.lag.WithLabelValues(guild).Set(float64(n)) }

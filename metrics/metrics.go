// Package metrics holds the homeserver's Prometheus instruments that are not
// owned by one adapter: HTTP request counts and latencies labelled by route
// template, and the database pool gauges. Everything registers on a registry
// the caller makes, never on the global one.
package metrics

import (
	"context"
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// HTTP counts and times requests.
type HTTP struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inflight prometheus.Gauge
}

// NewHTTP registers the HTTP instruments on reg.
func NewHTTP(reg prometheus.Registerer) *HTTP {
	m := &HTTP{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hearth_http_requests_total",
			Help: "HTTP requests served, by route template, method and status code.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hearth_http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by route template and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hearth_http_requests_in_flight",
			Help: "HTTP requests being served now.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.inflight)
	return m
}

type routeKey struct{}

// SetRoute names the route template a request matched (such as
// "/api/users/:id"), for the labels; handlers deeper in the stack call it
// once they know. Requests that never set it are labelled "unmatched", so a
// scan of random paths cannot blow up the label set.
func SetRoute(r *http.Request, route string) {
	if p, ok := r.Context().Value(routeKey{}).(*string); ok {
		*p = route
	}
}

// Middleware records every request that passes through next.
func (m *HTTP) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := "unmatched"
		r = r.WithContext(context.WithValue(r.Context(), routeKey{}, &route))
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		m.inflight.Inc()
		start := time.Now()
		defer func() {
			m.inflight.Dec()
			m.duration.WithLabelValues(route, r.Method).Observe(time.Since(start).Seconds())
			m.requests.WithLabelValues(route, r.Method, strconv.Itoa(sw.status)).Inc()
		}()
		next.ServeHTTP(sw, r)
	})
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wroteHeader = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (for
// flushing and for the WebSocket upgrade's hijack).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// DBPools exports the statistics of named database pools.
type DBPools struct {
	pools map[string]*sql.DB

	open, inUse, idle, maxOpen *prometheus.Desc
	waitCount, waitSeconds     *prometheus.Desc
}

// NewDBPools makes a collector for the given pools; register it on a registry.
func NewDBPools(dialect string, pools map[string]*sql.DB) *DBPools {
	labels := []string{"pool"}
	constLabels := prometheus.Labels{"dialect": dialect}
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("hearth_db_"+name, help, labels, constLabels)
	}
	return &DBPools{
		pools:       pools,
		open:        d("connections_open", "Open database connections."),
		inUse:       d("connections_in_use", "Database connections in use."),
		idle:        d("connections_idle", "Idle database connections."),
		maxOpen:     d("connections_max", "Most connections the pool may open."),
		waitCount:   d("waits_total", "Times a query waited for a free connection."),
		waitSeconds: d("wait_seconds_total", "Time spent waiting for a free connection."),
	}
}

// Describe implements prometheus.Collector.
func (c *DBPools) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.open, c.inUse, c.idle, c.maxOpen, c.waitCount, c.waitSeconds} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *DBPools) Collect(ch chan<- prometheus.Metric) {
	for name, db := range c.pools {
		s := db.Stats()
		ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(s.OpenConnections), name)
		ch <- prometheus.MustNewConstMetric(c.inUse, prometheus.GaugeValue, float64(s.InUse), name)
		ch <- prometheus.MustNewConstMetric(c.idle, prometheus.GaugeValue, float64(s.Idle), name)
		ch <- prometheus.MustNewConstMetric(c.maxOpen, prometheus.GaugeValue, float64(s.MaxOpenConnections), name)
		ch <- prometheus.MustNewConstMetric(c.waitCount, prometheus.CounterValue, float64(s.WaitCount), name)
		ch <- prometheus.MustNewConstMetric(c.waitSeconds, prometheus.CounterValue, s.WaitDuration.Seconds(), name)
	}
}

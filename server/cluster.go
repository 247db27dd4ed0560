package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hearth/homeserver"
	"hearth/homeserver/lease"
	"hearth/storage"
)

// Several processes may serve one homeserver from one PostgreSQL database
// (spec/scaling.md). Each leases its snowflake node from the database, so
// that no two hand out the same ID, and divides with the others, through
// named leases, the work that must run in one place at a time.
const (
	// nodeTTL is how long a node lease lasts unless renewed: a node of a
	// process that died is free again after it. Renewed every sixth, each
	// try given a twelfth; a process that cannot renew it stops once half
	// is left, so that even after a try that hung to its end its graceful
	// stop (ShutdownTimeout, 10 s) ends well before the node can pass to
	// another, with room for clocks that drift apart.
	nodeTTL = time.Minute
	// leaseTTL is how long a named lease lasts unless renewed: how long a
	// dead process's federation peers wait for another to take over.
	leaseTTL = 6 * time.Second
	// leaseIdle is how long a process keeps a lease it no longer uses.
	leaseIdle = 5 * time.Minute
	// relayPoll is how often a process compares every log's head with
	// what it has read: the most an announcement lost can delay events.
	relayPoll = 5 * time.Second
)

// cluster is this process's membership of the processes sharing its
// database: its name, its snowflake node, its named leases.
type cluster struct {
	holder string
	node   uint16
	store  storage.LeaseStore
	leases *lease.Keeper
	log    *slog.Logger
}

// processName names this process in the lease tables: host, PID and a
// random part (PIDs repeat across machines and restarts).
func processName() string {
	host, _ := os.Hostname()
	var r [4]byte
	_, _ = rand.Read(r[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(r[:]))
}

// joinCluster leases a snowflake node for this process.
func joinCluster(ctx context.Context, store storage.LeaseStore, log *slog.Logger) (*cluster, error) {
	holder := processName()
	node, err := store.TakeNode(ctx, holder, time.Now(), nodeTTL)
	if err != nil {
		return nil, fmt.Errorf("cannot lease a snowflake node from the database: %w", err)
	}
	log.Info("leased snowflake node", "node", node, "holder", holder)
	return &cluster{holder: holder, node: node, store: store,
		leases: lease.New(store, holder, leaseTTL, leaseIdle, log), log: log}, nil
}

// keepNode renews the node lease until ctx ends, then gives the node up.
// It returns an error when the lease could not be renewed before it ran
// out: another process may then take the node, so this one must stop
// making IDs, and the server stops.
func (c *cluster) keepNode(ctx context.Context) error {
	t := time.NewTicker(nodeTTL / 6)
	defer t.Stop()
	until := time.Now().Add(nodeTTL)
	for {
		select {
		case <-ctx.Done():
			rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = c.store.ReleaseNode(rctx, c.node, c.holder) // expires by itself otherwise
			return nil
		case <-t.C:
		}
		now := time.Now()
		rctx, cancel := context.WithTimeout(ctx, nodeTTL/12)
		ok, err := c.store.RenewNode(rctx, c.node, c.holder, now, nodeTTL)
		cancel()
		switch {
		case err == nil && ok:
			until = now.Add(nodeTTL)
		case err == nil:
			return fmt.Errorf("snowflake node %d was taken by another process: this one stops rather than make IDs it may share", c.node)
		case time.Until(until) <= nodeTTL/2:
			return fmt.Errorf("snowflake node %d's lease could not be renewed before it ran out (%w): this one stops rather than make IDs it may share", c.node, err)
		default:
			c.log.Warn("snowflake node lease not renewed; retrying", "node", c.node, "err", err)
		}
	}
}

// clusterMetrics exports the relay's counters and this process's leases
// (docs/operations.md, metrics catalogue). With SQLite the relay's stay
// at zero and no lease is held.
type clusterMetrics struct {
	relay func() homeserver.RelayCounts
	c     *cluster // nil with SQLite

	sent, received, filled, dropped, held, takeovers *prometheus.Desc
}

func newClusterMetrics(relay func() homeserver.RelayCounts, c *cluster) *clusterMetrics {
	return &clusterMetrics{relay: relay, c: c,
		sent: prometheus.NewDesc("hearth_cluster_notify_sent_total",
			"Notifications this process sent to the others sharing its PostgreSQL database (commits, ended sign-ins, ephemeral events).", nil, nil),
		received: prometheus.NewDesc("hearth_cluster_notify_received_total",
			"Notifications of other processes sharing the database that this process received.", nil, nil),
		filled: prometheus.NewDesc("hearth_cluster_backstop_fills_total",
			"Events of other processes that this process read at its periodic look at the log heads, no announcement having told them: lost or late notifications.", nil, nil),
		dropped: prometheus.NewDesc("hearth_cluster_ephemeral_dropped_total",
			"Ephemeral events (typing, presences, dispatches for one user) too long for a notification, or queued past 16 MiB while NOTIFY lagged, so not relayed to the other processes' sessions.", nil, nil),
		held: prometheus.NewDesc("hearth_lease_held",
			"Leases this process holds now, by kind: node (its snowflake node), federation (one per peer it delivers to), maintenance, sweep-files, notices, backups.", []string{"kind"}, nil),
		takeovers: prometheus.NewDesc("hearth_lease_takeovers_total",
			"Leases this process took after finding them held by another process (which stopped, or died and let them expire), by kind.", []string{"kind"}, nil),
	}
}

// leaseKinds are the kinds always exported, at zero when none is held.
var leaseKinds = []string{"node", "federation", "maintenance", "sweep-files", "notices", "backups"}

// Describe implements prometheus.Collector.
func (m *clusterMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.sent, m.received, m.filled, m.dropped, m.held, m.takeovers} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *clusterMetrics) Collect(ch chan<- prometheus.Metric) {
	rc := m.relay()
	ch <- prometheus.MustNewConstMetric(m.sent, prometheus.CounterValue, float64(rc.Sent))
	ch <- prometheus.MustNewConstMetric(m.received, prometheus.CounterValue, float64(rc.Received))
	ch <- prometheus.MustNewConstMetric(m.filled, prometheus.CounterValue, float64(rc.BackstopFilled))
	ch <- prometheus.MustNewConstMetric(m.dropped, prometheus.CounterValue, float64(rc.EphemeralDropped))
	held, takeovers := map[string]int{}, map[string]int64{}
	if m.c != nil {
		held, takeovers = m.c.leases.Held(), m.c.leases.Takeovers()
		held["node"] = 1
	}
	kinds := slices.Clone(leaseKinds)
	for k := range held {
		if !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	for k := range takeovers {
		if !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	for _, k := range kinds {
		ch <- prometheus.MustNewConstMetric(m.held, prometheus.GaugeValue, float64(held[k]), k)
		ch <- prometheus.MustNewConstMetric(m.takeovers, prometheus.CounterValue, float64(takeovers[k]), k)
	}
}

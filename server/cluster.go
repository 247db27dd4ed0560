package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"time"

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

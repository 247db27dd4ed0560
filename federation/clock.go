package federation

import (
	"net/http"
	"sync"
	"time"
)

// Clock offsets of peers, learnt from the Date of their answers, so that
// an act's deadline can be written in the origin's clock (spec/federation.md
// §7.3, "Clocks"). A peer stamps its answer between the moment this server
// sent the request and the moment the answer arrived, and an HTTP date is
// truncated to the second, so Date minus the arrival time is never more
// than the true offset: each sample is a lower bound, and the largest
// recent one the best. A deadline written with a lower bound reaches the
// origin no later than meant, so an act is never carried out after this
// server stopped waiting for it.

// clockSampleTTL is how long a sample stands: clocks are stepped and drift,
// and a larger old sample would then overstate the offset.
const clockSampleTTL = 5 * time.Minute

// maxClockOffset bounds an offset taken from a peer: the Date window of
// signed requests (§3.2), beyond which the peer's requests fail anyway.
const maxClockOffset = 5 * time.Minute

// maxClockPeers bounds the peers remembered: servers are named by what
// people type, so their number is not this server's to choose.
const maxClockPeers = 4096

type clockSample struct {
	offset time.Duration
	at     time.Time
}

// clocks holds the offsets of the peers' clocks.
type clocks struct {
	mu    sync.Mutex
	peers map[string]clockSample
}

// note takes a sample from an answer of server's that arrived at recv.
func (c *clocks) note(server string, h http.Header, recv time.Time) {
	d, err := http.ParseTime(h.Get("Date"))
	if err != nil {
		return
	}
	off := d.Sub(recv)
	if off > maxClockOffset || off < -maxClockOffset {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.peers == nil {
		c.peers = map[string]clockSample{}
	}
	old, ok := c.peers[server]
	if ok && off < old.offset && recv.Sub(old.at) < clockSampleTTL {
		return
	}
	if !ok && len(c.peers) >= maxClockPeers {
		for k := range c.peers { // any one: a forgotten peer's offset is 0 until it answers again
			delete(c.peers, k)
			break
		}
	}
	c.peers[server] = clockSample{offset: off, at: recv}
}

// offset is how far server's clock is ahead of this server's (negative:
// behind), as far as its answers of the last minutes show; 0 when unknown.
func (c *clocks) offset(server string, now time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.peers[server]
	if !ok || now.Sub(s.at) >= clockSampleTTL {
		return 0
	}
	return s.offset
}

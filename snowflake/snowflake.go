// Package snowflake makes and reads Discord-format IDs: 42 bits of
// milliseconds since the Discord epoch, 5 bits of worker, 5 bits of process
// and a 12-bit increment. Every object a homeserver stores gets one, remote
// objects too, so that the client API can sort and paginate by ID as Discord
// libraries expect.
package snowflake

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// Epoch is the first millisecond of 2015, Discord's epoch, in Unix milliseconds.
const Epoch int64 = 1420070400000

// ID is a snowflake. Its JSON form is a decimal string, as Discord sends it,
// because JavaScript numbers cannot hold 64 bits.
type ID uint64

// Time is the moment encoded in the ID.
func (id ID) Time() time.Time {
	return time.UnixMilli(int64(id>>22) + Epoch)
}

// String is the decimal form.
func (id ID) String() string { return strconv.FormatUint(uint64(id), 10) }

// MarshalJSON writes the ID as a JSON string.
func (id ID) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 22)
	b = append(b, '"')
	b = strconv.AppendUint(b, uint64(id), 10)
	return append(b, '"'), nil
}

// UnmarshalJSON accepts a string or a bare number, as Discord does; null
// leaves the ID zero.
func (id *ID) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		*id = 0
		return nil
	}
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	v, err := Parse(s)
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// ErrInvalid is returned for text that is not a snowflake.
var ErrInvalid = errors.New("snowflake: not a valid ID")

// Parse reads a decimal snowflake.
func Parse(s string) (ID, error) {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || s == "" {
		return 0, fmt.Errorf("%w: %q", ErrInvalid, truncate(s))
	}
	return ID(v), nil
}

func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}

// FromTime is the smallest ID of the given moment, for range queries such as
// "messages after this date".
func FromTime(t time.Time) ID {
	ms := t.UnixMilli() - Epoch
	if ms < 0 {
		return 0
	}
	return ID(uint64(ms) << 22)
}

// Generator hands out IDs that increase strictly, even when many goroutines
// ask at once or the wall clock steps back.
type Generator struct {
	mu     sync.Mutex
	node   uint64 // worker and process bits, already shifted
	lastMS int64
	inc    uint64
	now    func() time.Time
}

// BackfillNode is the node (worker and process bits) reserved for the IDs
// a homeserver gives messages it fetches from another server's past
// (Backfill). No Generator uses it, so those IDs never meet a live one.
const BackfillNode uint16 = 0x3FF

// NewGenerator makes a generator for one node; node is the 10 bits of worker
// and process (0 to 1022), so that several processes sharing a database do
// not collide. BackfillNode is reserved: asked for, the generator takes
// node 0 instead (a node derived from a process ID can land on it).
func NewGenerator(node uint16) *Generator {
	node &= 0x3FF
	if node == BackfillNode {
		node = 0
	}
	return &Generator{node: uint64(node) << 12, now: time.Now}
}

// Node is the worker and process bits of the ID.
func (id ID) Node() uint16 { return uint16(id>>12) & 0x3FF }

// Backfill is the largest ID of BackfillNode that is below limit and no
// later than the millisecond of t: walking down from limit, IDs from it
// keep the order they were asked for in, and carry about the time given.
// ok is false when no such ID exists (limit at the epoch).
func Backfill(t time.Time, limit ID) (ID, bool) {
	ms := t.UnixMilli() - Epoch
	if ms < 0 {
		ms = 0
	}
	if top := int64(limit >> 22); ms > top {
		ms = top
	}
	for ; ms >= 0; ms-- {
		if id := ID(uint64(ms)<<22 | uint64(BackfillNode)<<12 | 0xFFF); id < limit {
			return id, true
		}
		// The millisecond's backfill IDs are at or above limit: the one
		// below limit, if any, is in it.
		if base := ID(uint64(ms)<<22 | uint64(BackfillNode)<<12); base < limit {
			return limit - 1, true
		}
	}
	return 0, false
}

// Next returns the next ID.
func (g *Generator) Next() ID {
	g.mu.Lock()
	defer g.mu.Unlock()
	ms := g.now().UnixMilli() - Epoch
	if ms < g.lastMS {
		// The clock went back: keep counting in the last millisecond seen
		// rather than hand out a smaller ID.
		ms = g.lastMS
	}
	if ms == g.lastMS {
		g.inc++
		if g.inc > 0xFFF {
			// 4096 IDs in one millisecond: borrow the next one.
			ms++
			g.inc = 0
		}
	} else {
		g.inc = 0
	}
	g.lastMS = ms
	return ID(uint64(ms)<<22 | g.node | g.inc)
}

package federation

import (
	"net/http"
	"testing"
	"time"
)

// A peer's offset is the largest recent lower bound its answers gave:
// Date minus arrival, never more than the true offset; samples age out,
// implausible ones are ignored, and the peers remembered are bounded.
func TestClockOffsets(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	date := func(at time.Time) http.Header {
		return http.Header{"Date": {at.UTC().Format(http.TimeFormat)}}
	}
	type sample struct {
		date time.Time // the peer's Date
		recv time.Time // arrival, by this server's clock
	}
	cases := []struct {
		name    string
		samples []sample
		at      time.Time
		want    time.Duration
	}{
		{"unknown", nil, t0, 0},
		{"ahead", []sample{{t0.Add(30 * time.Second), t0}}, t0, 30 * time.Second},
		{"behind", []sample{{t0.Add(-30 * time.Second), t0}}, t0, -30 * time.Second},
		{"a slow answer gives a smaller bound, and the larger stands",
			[]sample{{t0.Add(30 * time.Second), t0}, {t0.Add(31 * time.Second), t0.Add(4 * time.Second)}}, t0.Add(5 * time.Second), 30 * time.Second},
		{"a larger bound replaces a smaller", []sample{{t0.Add(27 * time.Second), t0}, {t0.Add(31 * time.Second), t0.Add(time.Second)}},
			t0.Add(2 * time.Second), 30 * time.Second},
		{"an old sample gives way", []sample{{t0.Add(30 * time.Second), t0}, {t0.Add(6*time.Minute + 10*time.Second), t0.Add(6 * time.Minute)}},
			t0.Add(6 * time.Minute), 10 * time.Second},
		{"an old sample is forgotten", []sample{{t0.Add(30 * time.Second), t0}}, t0.Add(clockSampleTTL), 0},
		{"beyond the Date window", []sample{{t0.Add(6 * time.Minute), t0}}, t0, 0},
		{"sub-second Date is truncated", []sample{{t0.Add(1500 * time.Millisecond), t0}}, t0, time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var cl clocks
			for _, s := range c.samples {
				cl.note("b.example", date(s.date), s.recv)
			}
			if got := cl.offset("b.example", c.at); got != c.want {
				t.Fatalf("offset = %s, want %s", got, c.want)
			}
		})
	}
	var cl clocks
	for i := range maxClockPeers + 10 {
		cl.note(time.Duration(i).String()+".example", date(t0), t0)
	}
	if len(cl.peers) > maxClockPeers {
		t.Fatalf("%d peers remembered, want at most %d", len(cl.peers), maxClockPeers)
	}
	cl.note("x.example", http.Header{"Date": {"not a date"}}, t0)
	if got := cl.offset("x.example", t0); got != 0 {
		t.Fatalf("offset from a bad Date = %s", got)
	}
}

package gateway

import (
	"maps"
	"testing"

	"hearth/snowflake"
)

// TestPlaceAt: where a client that has seq n stands in each log, from a
// record with a base and marks: whole events up to n are had, an event
// had in part is replayed without its first part, a log first met after
// n starts before its first event, and n older than the base cannot be
// placed.
func TestPlaceAt(t *testing.T) {
	const a, b, c = snowflake.ID(1), snowflake.ID(2), snowflake.ID(3)
	p := place{Base: 10, P: map[snowflake.ID]int64{a: 100, b: 50}, M: []mark{
		{First: 12, Last: 12, Log: a, Pos: 101},
		{First: 13, Last: 15, Log: b, Pos: 51}, // one event, three dispatches
		{First: 17, Last: 17, Log: c, Pos: 7},  // a log joined later
		{First: 18, Last: 18, Log: a, Pos: 104},
	}}
	for _, tc := range []struct {
		n       int64
		ok      bool
		pos     map[snowflake.ID]int64
		partial origin
		skip    int64
	}{
		{n: 9, ok: false},
		{n: 10, ok: true, pos: map[snowflake.ID]int64{a: 100, b: 50, c: 6}},
		{n: 12, ok: true, pos: map[snowflake.ID]int64{a: 101, b: 50, c: 6}},
		{n: 13, ok: true, pos: map[snowflake.ID]int64{a: 101, b: 50, c: 6}, partial: origin{b, 51}, skip: 1},
		{n: 14, ok: true, pos: map[snowflake.ID]int64{a: 101, b: 50, c: 6}, partial: origin{b, 51}, skip: 2},
		{n: 16, ok: true, pos: map[snowflake.ID]int64{a: 101, b: 51, c: 6}},
		{n: 17, ok: true, pos: map[snowflake.ID]int64{a: 101, b: 51, c: 7}},
		{n: 30, ok: true, pos: map[snowflake.ID]int64{a: 104, b: 51, c: 7}},
	} {
		pos, partial, skip, ok := p.at(tc.n)
		if ok != tc.ok || ok && (!maps.Equal(pos, tc.pos) || partial != tc.partial || skip != tc.skip) {
			t.Errorf("at(%d) = %v %v %d %v; want %v %v %d %v", tc.n, pos, partial, skip, ok, tc.pos, tc.partial, tc.skip, tc.ok)
		}
	}
	if p.P[a] != 100 {
		t.Fatal("at changed the record's base")
	}
	// Log c was met after seq 16 (a guild joined then): a client at 16
	// has not had it; at 17 it has; logs of the base never count.
	for _, tc := range []struct {
		n    int64
		want map[snowflake.ID]bool
	}{
		{n: 10, want: map[snowflake.ID]bool{c: true}},
		{n: 16, want: map[snowflake.ID]bool{c: true}},
		{n: 17, want: map[snowflake.ID]bool{}},
		{n: 30, want: map[snowflake.ID]bool{}},
	} {
		if got := p.metAfter(tc.n); !maps.Equal(got, tc.want) {
			t.Errorf("metAfter(%d) = %v, want %v", tc.n, got, tc.want)
		}
	}
	// One event written in parts: in two writes, or a take-over's mark
	// of the part had (reaching one past the client's seq) and the rest.
	for _, ms := range [][]mark{
		{{First: 13, Last: 14, Log: b, Pos: 51}, {First: 15, Last: 16, Log: b, Pos: 51}},
		{{First: 13, Last: 15, Log: b, Pos: 51}, {First: 15, Last: 16, Log: b, Pos: 51}},
	} {
		q := place{Base: 12, P: map[snowflake.ID]int64{b: 50}, M: ms}
		if pos, partial, skip, _ := q.at(15); pos[b] != 50 || partial != (origin{b, 51}) || skip != 3 {
			t.Errorf("parts %v: at(15) = %v %v %d", ms, pos, partial, skip)
		}
		if pos, _, skip, _ := q.at(16); pos[b] != 51 || skip != 0 {
			t.Errorf("parts %v: at(16) = %v %d", ms, pos, skip)
		}
	}
}

// TestFoldKeepsWhatTheClientMayLack: folding moves into the base only the
// marks a client can no longer be behind (its heartbeat, or far before
// what was written), and bounds how many are kept.
func TestFoldKeepsWhatTheClientMayLack(t *testing.T) {
	s := &session{seq: 5000, written: 5000, acked: 100}
	for i := int64(1); i <= 5000; i++ {
		s.marks = append(s.marks, mark{First: i, Last: i, Log: 1, Pos: i})
	}
	s.foldLocked()
	if len(s.marks) != foldSlack || s.base != 5000-foldSlack || s.basePos[1] != 5000-foldSlack {
		t.Fatalf("after fold: %d marks, base %d at %d", len(s.marks), s.base, s.basePos[1])
	}
	s = &session{seq: 5000, written: 0, acked: 0}
	for i := int64(1); i <= 5000; i++ {
		s.marks = append(s.marks, mark{First: i, Last: i, Log: 1, Pos: i})
	}
	s.foldLocked()
	if len(s.marks) != maxMarks || s.marks[0].First != 5000-maxMarks+1 || s.base != 5000-maxMarks {
		t.Fatalf("bounded fold: %d marks from %d, base %d", len(s.marks), s.marks[0].First, s.base)
	}
}

package ratelimit

import (
	"testing"
	"time"
)

func TestFixedWindow(t *testing.T) {
	now := time.Unix(1000, 0)
	l := New(3, time.Second, 10)
	l.now = func() time.Time { return now }
	for i := range 3 {
		r := l.Take("a")
		if !r.Allowed || r.Remaining != 2-i || r.Limit != 3 {
			t.Fatalf("take %d = %+v", i, r)
		}
	}
	r := l.Take("a")
	if r.Allowed || r.Remaining != 0 || r.RetryAfter(now) != time.Second {
		t.Fatalf("4th take = %+v", r)
	}
	if !l.Take("b").Allowed {
		t.Fatal("keys share a bucket")
	}
	now = now.Add(time.Second)
	if r := l.Take("a"); !r.Allowed || r.Remaining != 2 {
		t.Fatalf("after the window: %+v", r)
	}
}

func TestBoundedKeys(t *testing.T) {
	l := New(1, time.Hour, 2)
	l.Take("a")
	l.Take("b")
	l.Take("c") // evicts a
	if l.buckets.Len() != 2 {
		t.Fatalf("remembers %d keys, want 2", l.buckets.Len())
	}
	if !l.Take("a").Allowed {
		t.Fatal("an evicted key should start afresh")
	}
}

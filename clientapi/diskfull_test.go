package clientapi

import (
	"errors"
	"fmt"
	"net/http"
	"syscall"
	"testing"
	"time"

	"hearth/homeserver"
	"hearth/storage"
)

// TestStorageFullIs507: a full disk is 507 code 0 however the domain
// wrapped it (a failed store is also ErrUnavailable, which alone is 503).
func TestStorageFullIs507(t *testing.T) {
	for name, err := range map[string]error{
		"sqlite commit": fmt.Errorf("send message: %w: %w", homeserver.ErrUnavailable, fmt.Errorf("%w: commit: database or disk is full (13)", storage.ErrFull)),
		"file staging":  fmt.Errorf("upload: blobs: stage: %w: %w", storage.ErrFull, syscall.ENOSPC),
		"bare":          storage.ErrFull,
	} {
		status, body := statusFor(err)
		if status != http.StatusInsufficientStorage || body.Code != 0 || body.Message == "" {
			t.Errorf("%s: %d %+v, want 507 code 0", name, status, body)
		}
	}
	if status, _ := statusFor(fmt.Errorf("x: %w: %w", homeserver.ErrUnavailable, errors.New("connection refused"))); status != http.StatusServiceUnavailable {
		t.Errorf("an unavailable database: %d, want 503", status)
	}
}

// TestLogLimiter: one line per interval, and the next says how many were
// held back.
func TestLogLimiter(t *testing.T) {
	var l logLimiter
	start := time.Now()
	if n, ok := l.allow(start); !ok || n != 0 {
		t.Fatalf("first line: %d %v", n, ok)
	}
	for i := 1; i <= 5; i++ {
		if _, ok := l.allow(start.Add(time.Duration(i) * time.Second)); ok {
			t.Fatalf("line %d within the interval was let through", i)
		}
	}
	if n, ok := l.allow(start.Add(fullLogEvery)); !ok || n != 5 {
		t.Fatalf("after the interval: %d %v, want 5 held back", n, ok)
	}
}

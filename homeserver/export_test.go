package homeserver

import (
	"context"
	"errors"
	"testing"
)

// One export of an account at a time: a second waits for the first to
// close; another account's is not held up.
func TestExportOneAtATime(t *testing.T) {
	h := newTestHomeserver(t)
	ctx := context.Background()
	a, _, err := h.createAccount(ctx, Registration{Username: "ann", Password: "correct horse"}, false)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := h.createAccount(ctx, Registration{Username: "bob", Password: "correct horse"}, false)
	if err != nil {
		t.Fatal(err)
	}
	first, err := h.StartExport(ctx, Principal{User: a})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.StartExport(ctx, Principal{User: a}); !errors.Is(err, ErrExportRunning) {
		t.Fatalf("a second export while one runs: %v", err)
	}
	other, err := h.StartExport(ctx, Principal{User: b})
	if err != nil {
		t.Fatalf("another account's export: %v", err)
	}
	other.Close()
	first.Close()
	first.Close() // twice is harmless
	again, err := h.StartExport(ctx, Principal{User: a})
	if err != nil {
		t.Fatalf("an export after the first closed: %v", err)
	}
	again.Close()
}

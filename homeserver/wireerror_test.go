package homeserver

import (
	"errors"
	"fmt"
	"testing"
)

// A refusal crosses federation as the same domain error: the member
// server's client hears what the origin decided. A mirror's refusal
// (ErrMirrorAuthority, which is also a missing permission) keeps its own
// code, so that a Hearth person hears that Discord decides; a plain
// missing permission stays MISSING_PERMISSIONS.
func TestWireErrorRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code string
		is   []error
		not  []error
	}{
		{fmt.Errorf("guild 1 needs 16: %w", ErrMirrorAuthority), "MIRROR_AUTHORITY", []error{ErrMirrorAuthority, ErrMissingPermission}, nil},
		{fmt.Errorf("channel 1 needs 2048: %w", ErrMissingPermission), "MISSING_PERMISSIONS", []error{ErrMissingPermission}, []error{ErrMirrorAuthority}},
		{fmt.Errorf("channel 1: %w", ErrMissingAccess), "MISSING_ACCESS", []error{ErrMissingAccess}, []error{ErrMissingPermission}},
	} {
		w := ToWire(tc.err)
		if w.Code != tc.code {
			t.Errorf("%v goes as %s, want %s", tc.err, w.Code, tc.code)
		}
		back := FromWire("origin.example", w)
		for _, e := range tc.is {
			if !errors.Is(back, e) {
				t.Errorf("%s comes back as %v, not %v", w.Code, back, e)
			}
		}
		for _, e := range tc.not {
			if errors.Is(back, e) {
				t.Errorf("%s comes back as %v, which is %v", w.Code, back, e)
			}
		}
	}
	// A rogue origin claiming the mirror's word gives the member server's
	// client a 403 missing permission, nothing more.
	if back := FromWire("rogue.example", WireError{Code: "MIRROR_AUTHORITY", Message: "anything"}); !errors.Is(back, ErrMissingPermission) {
		t.Fatalf("MIRROR_AUTHORITY comes back as %v", back)
	}
}

package federation_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	st "hearth/server/servertest"
	"hearth/snowflake"
	"hearth/storage"
)

// TestInvitePreviewKeepsNothing: a peer's answer to an invite preview
// cannot make the receiver keep state nothing local needs. A preview
// of a guild the receiver does not hold shows the guild, its channel and
// its inviter under IDs no mapping or user row keeps, however often it is
// asked; a preview naming the receiver's own guild is refused and keeps
// nothing either (spec/federation.md §14, point 6).
func TestInvitePreviewKeepsNothing(t *testing.T) {
	st.ForEachBackend(t, testInvitePreviewKeepsNothing)
}

func testInvitePreviewKeepsNothing(t *testing.T, backend st.Backend) {
	ctx := context.Background()
	b := st.Start(t, st.Options{Backend: backend})
	B := b.ServerName()
	bob := register(t, b, "bob")
	bg := ok(t, bob.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Home"}), 201)["id"].(string)

	var preview atomic.Value
	rogue := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !strings.HasPrefix(r.URL.Path, "/_hearth/federation/v1/invites/") {
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(map[string]any{"code": "NOT_FOUND", "message": "no"})
			return
		}
		_ = json.NewEncoder(w).Encode(preview.Load())
	}))
	t.Cleanup(rogue.Close)
	F := strings.TrimPrefix(rogue.URL, "http://")
	ids := snowflake.NewGenerator(13)
	var named []string
	fresh := func() string {
		g := ids.Next().String() + "@" + F
		named = append(named, g)
		return g
	}
	invite := func(guild string) map[string]any {
		return map[string]any{"type": 0, "code": "fake", "guild_id": guild,
			"guild":                    map[string]any{"id": guild, "name": "Fake", "features": []any{}},
			"channel":                  map[string]any{"id": fresh(), "name": "general", "type": 0},
			"inviter":                  map[string]any{"id": fresh(), "username": "eve"},
			"approximate_member_count": 3}
	}
	kept := func() []string {
		var out []string
		for _, g := range named {
			raw, origin, _ := strings.Cut(g, "@")
			_, err := b.Store().FederatedID(ctx, origin, raw)
			if err == nil {
				out = append(out, g)
			} else if !errors.Is(err, storage.ErrNotFound) {
				t.Fatal(err)
			}
		}
		return out
	}

	for range 3 {
		preview.Store(invite(fresh()))
		pv := ok(t, bob.do(t, "GET", "/api/v10/invites/fake@"+F+"?with_counts=true", nil), 200)
		if g, _ := pv["guild"].(map[string]any); g == nil || g["name"] != "Fake" || pv["code"] != "fake@"+F ||
			pv["inviter"].(map[string]any)["username"] != "eve" {
			t.Fatalf("preview = %v", pv)
		}
		if k := kept(); len(k) != 0 {
			t.Fatalf("a preview left mappings of %v", k)
		}
	}
	// The inviter is no user here: its provisional ID names nobody.
	pv := ok(t, bob.do(t, "GET", "/api/v10/invites/fake@"+F, nil), 200)
	st.Expect(t, bob.do(t, "GET", "/api/v10/users/"+pv["inviter"].(map[string]any)["id"].(string), nil), 404, st.Code(10013))

	// A preview that names B's own guild as the peer's is refused, and
	// keeps nothing.
	preview.Store(invite(bg + "@" + B))
	if r := bob.do(t, "GET", "/api/v10/invites/fake@"+F, nil); r.Status == 200 {
		t.Fatalf("a preview naming B's guild was shown: %s", r.Body)
	}
	if k := kept(); len(k) != 0 {
		t.Fatalf("a refused preview left mappings of %v", k)
	}
}

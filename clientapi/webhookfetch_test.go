package clientapi

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"

	"hearth/federation"
	"hearth/homeserver"
)

// TestWebhookAvatarFetchGuard: an execute's avatar_url is fetched through
// the federation client, so a loopback address is refused unless the
// operator allows private addresses (--insecure-federation), before any
// request reaches it.
func TestWebhookAvatarFetchGuard(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("image bytes"))
	}))
	t.Cleanup(srv.Close)
	ctx := func() *gin.Context {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest(http.MethodPost, "/", nil)
		return c
	}
	log := slog.New(slog.DiscardHandler)

	guarded := &API{fetch: federation.NewClient(false), log: log}
	_, err := guarded.fetchAvatar(ctx(), srv.URL+"/face.png")
	var v *homeserver.ValidationError
	if !errors.As(err, &v) || hits.Load() != 0 {
		t.Fatalf("loopback avatar_url: %v, %d requests reached it", err, hits.Load())
	}
	for _, bad := range []string{"file:///etc/passwd", "gopher://x", "http://", "not a url"} {
		if _, err := guarded.fetchAvatar(ctx(), bad); !errors.As(err, &v) {
			t.Fatalf("%q: %v", bad, err)
		}
	}

	allowed := &API{fetch: federation.NewClient(true), log: log}
	b, err := allowed.fetchAvatar(ctx(), srv.URL+"/face.png")
	if err != nil || string(b) != "image bytes" || hits.Load() != 1 {
		t.Fatalf("allowed fetch = %q, %v (%d requests)", b, err, hits.Load())
	}
}

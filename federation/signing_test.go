package federation_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"hearth/federation"
	st "hearth/server/servertest"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	os.Exit(m.Run())
}

// ping sends a federation request from one server to another, built and
// then tampered with by the caller.
func ping(t *testing.T, to *st.Server, build func(req *http.Request) *http.Request) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", to.URL()+federation.PingPath, nil)
	req = build(req)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func signed(t *testing.T, from *st.Server, key federation.Key, body []byte, at time.Time, tamper func(req *http.Request)) func(*http.Request) *http.Request {
	return func(req *http.Request) *http.Request {
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		if err := federation.Sign(req, body, from.ServerName(), key, at); err != nil {
			t.Fatal(err)
		}
		if tamper != nil {
			tamper(req)
		}
		return req
	}
}

// TestSignedRequests: real HTTP signatures between two real homeservers;
// every forgery of the list is refused with its reason, and counted.
func TestSignedRequests(t *testing.T) {
	a, b := st.Start(t, st.Options{}), st.Start(t, st.Options{})
	key, err := federation.LoadOrCreateKey(filepath.Join(a.Options.DataDir, "signing.key"))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := federation.LoadOrCreateKey(filepath.Join(t.TempDir(), "other.key"))
	body := []byte(`{"hello":"there"}`)
	now := time.Now()

	code, resp := ping(t, b, signed(t, a, key, body, now, nil))
	if code != 200 || !strings.Contains(resp, `"origin":"`+a.ServerName()+`"`) {
		t.Fatalf("valid request: %d %s", code, resp)
	}
	cases := []struct {
		name   string
		build  func(*http.Request) *http.Request
		reason string
	}{
		{"no signature", func(r *http.Request) *http.Request { r.Body = io.NopCloser(bytes.NewReader(body)); return r }, "missing_signature"},
		{"body changed", signed(t, a, key, body, now, func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader(`{"hello":"evil"}`))
			r.ContentLength = 16
		}), "digest_mismatch"},
		{"digest and body changed", signed(t, a, key, body, now, func(r *http.Request) {
			evil := []byte(`{"hello":"evil!"}`)
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(evil)), int64(len(evil))
			r.Header.Set("Digest", "SHA-256=sMyFk8KWN2o4/zT6Hu61jLJP0XG3pMSuTlV4lwa2/7Q=")
		}), "digest_mismatch"},
		{"old date", signed(t, a, key, body, now.Add(-10*time.Minute), nil), "date_window"},
		{"future date", signed(t, a, key, body, now.Add(10*time.Minute), nil), "date_window"},
		{"wrong key", signed(t, a, other, body, now, func(r *http.Request) {
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), other.ID, key.ID, 1))
		}), "bad_signature"},
		{"unknown key id", signed(t, a, other, body, now, nil), "unknown_key"},
		{"claims another server", signed(t, a, key, body, now, func(r *http.Request) {
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), a.ServerName()+"#", b.ServerName()+"#", 1))
		}), "unknown_key"},
		{"date changed after signing", signed(t, a, key, body, now, func(r *http.Request) {
			r.Header.Set("Date", now.Add(time.Minute).UTC().Format(http.TimeFormat))
		}), "bad_signature"},
		{"replayed to another server", func(r *http.Request) *http.Request {
			// Signed for server a, sent to b.
			other, _ := http.NewRequest("POST", a.URL()+federation.PingPath, nil)
			signed(t, a, key, body, now, nil)(other)
			r.Header = other.Header
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
			r.Host = a.ServerName()
			return r
		}, "wrong_host"},
		{"digest left unsigned", signed(t, a, key, body, now, func(r *http.Request) {
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), " digest", "", 1))
		}), "unsigned_headers"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, resp := ping(t, b, c.build)
			if code != 401 || !strings.Contains(resp, c.reason) {
				t.Fatalf("%d %s, want 401 %s", code, resp, c.reason)
			}
		})
	}
	m := string(b.Do(t, "GET", "/metrics", "", nil).Body)
	for _, reason := range []string{"missing_signature", "digest_mismatch", "date_window", "bad_signature", "unknown_key", "unsigned_headers"} {
		if !strings.Contains(m, `hearth_federation_inbound_rejected_total{reason="`+reason+`"}`) {
			t.Errorf("no rejection metric for %s", reason)
		}
	}
}

// TestOutboundRefusesPrivateAddresses: without --insecure-federation the
// server will not fetch keys from (or otherwise call) loopback addresses.
func TestOutboundRefusesPrivateAddresses(t *testing.T) {
	client := federation.NewClient(false)
	for _, url := range []string{"http://127.0.0.1:1/", "http://[::1]:1/", "http://10.0.0.1:1/", "http://169.254.169.254/", "http://100.64.0.1/", "http://[64:ff9b::a00:1]/"} {
		_, err := client.Get(url)
		if err == nil || !strings.Contains(err.Error(), "refusing to contact") {
			t.Errorf("GET %s: %v, want a refusal", url, err)
		}
	}
	keys := federation.NewKeyCache(false)
	a := st.Start(t, st.Options{})
	if _, err := keys.Key(t.Context(), a.ServerName(), "ed25519:00000000"); err == nil {
		t.Fatal("fetched keys from a loopback server without insecure federation")
	}
}

package federation_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-fed/httpsig"

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

// rejected reads the server's count of refused federation requests for
// a reason from /metrics.
func rejected(t *testing.T, s *st.Server, reason string) float64 {
	t.Helper()
	prefix := `hearth_federation_inbound_rejected_total{reason="` + reason + `"} `
	for line := range strings.SplitSeq(string(s.Do(t, "GET", "/metrics", "", nil).Body), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", line, err)
			}
			return f
		}
	}
	return 0
}

// expectRefusal sends a request built by build and checks that it is
// refused with exactly that reason (401 UNAUTHORIZED, or 503 UNAVAILABLE
// for overloaded), and counted once.
func expectRefusal(t *testing.T, to *st.Server, reason string, build func(*http.Request) *http.Request) {
	t.Helper()
	before := rejected(t, to, reason)
	code, resp := ping(t, to, build)
	var e struct{ Code, Message string }
	if err := json.Unmarshal([]byte(resp), &e); err != nil {
		t.Fatalf("%d %q is not an error body: %v", code, resp, err)
	}
	wantCode, wantStatus := "UNAUTHORIZED", 401
	if reason == "overloaded" {
		wantCode, wantStatus = "UNAVAILABLE", 503
	}
	if code != wantStatus || e.Code != wantCode || e.Message != reason {
		t.Fatalf("%d %s, want %d %s %s", code, resp, wantStatus, wantCode, reason)
	}
	if after := rejected(t, to, reason); after != before+1 {
		t.Fatalf("rejected_total{reason=%q} went from %v to %v, want one more", reason, before, after)
	}
}

// digestOf is the Digest header of a body.
func digestOf(body []byte) string {
	sum := sha256.Sum256(body)
	return "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:])
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
		// The Digest matches the new body, so only the signature (which
		// covers the Digest header) can catch it.
		{"digest and body changed", signed(t, a, key, body, now, func(r *http.Request) {
			evil := []byte(`{"hello":"evil!"}`)
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(evil)), int64(len(evil))
			r.Header.Set("Digest", digestOf(evil))
		}), "bad_signature"},
		{"old date", signed(t, a, key, body, now.Add(-10*time.Minute), nil), "date_window"},
		{"future date", signed(t, a, key, body, now.Add(10*time.Minute), nil), "date_window"},
		{"two dates", signed(t, a, key, body, now, func(r *http.Request) {
			r.Header.Add("Date", now.UTC().Format(http.TimeFormat))
		}), "date_window"},
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
		{"two digests", signed(t, a, key, body, now, func(r *http.Request) {
			r.Header.Add("Digest", digestOf([]byte("other")))
		}), "digest_mismatch"},
		{"digest of another kind", signed(t, a, key, body, now, func(r *http.Request) {
			r.Header.Set("Digest", "SHA-512="+strings.TrimPrefix(r.Header.Get("Digest"), "SHA-256="))
		}), "digest_mismatch"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { expectRefusal(t, b, c.reason, c.build) })
	}
}

// signWith signs req as keyID over the headers listed, as a sender of the
// profile does but free to choose the list: the tricks below are real
// signatures, made with the signer's real key.
func signWith(t *testing.T, req *http.Request, body []byte, keyID string, key federation.Key, at time.Time, headers ...string) {
	t.Helper()
	req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	req.Header.Set("Date", at.UTC().Format(http.TimeFormat))
	req.Header.Set("Host", req.URL.Host)
	signer, _, err := httpsig.NewSigner([]httpsig.Algorithm{httpsig.ED25519}, httpsig.DigestSha256, headers, httpsig.Signature, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := signer.SignRequest(key.Private, keyID, req, body); err != nil {
		t.Fatal(err)
	}
}

// TestSignatureHeaderTricks: a peer with a real key signs less than the
// profile asks (or names a key nobody should fetch) and dresses the
// Signature header so that a lenient reading would take it for a full
// signature. Each is refused with its reason before the body is read, by a
// receiver on either database.
func TestSignatureHeaderTricks(t *testing.T) {
	st.ForEachBackend(t, testSignatureHeaderTricks)
}

func testSignatureHeaderTricks(t *testing.T, backend st.Backend) {
	a, b := st.Start(t, st.Options{}), st.Start(t, st.Options{Backend: backend})
	key, err := federation.LoadOrCreateKey(filepath.Join(a.Options.DataDir, "signing.key"))
	if err != nil {
		t.Fatal(err)
	}
	// A key server that counts being asked: a keyId that is not a server
	// name must not make b fetch anything, even when the name leads here.
	var fetched atomic.Int64
	keyServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
		http.NotFound(w, r)
	}))
	defer keyServer.Close()
	keyHost := strings.TrimPrefix(keyServer.URL, "http://")

	body := []byte(`{"hello":"there"}`)
	now := time.Now()
	keyID := a.ServerName() + "#" + key.ID
	all := []string{httpsig.RequestTarget, "host", "date", "digest"}
	// trick signs over headers and rewrites the Signature header.
	trick := func(keyID string, headers []string, rewrite func(sig string) string) func(*http.Request) *http.Request {
		return func(r *http.Request) *http.Request {
			signWith(t, r, body, keyID, key, now, headers...)
			if rewrite != nil {
				r.Header.Set("Signature", rewrite(r.Header.Get("Signature")))
			}
			return r
		}
	}
	// param replaces a parameter's value.
	param := func(sig, name, value string) string {
		i := strings.Index(sig, name+`="`)
		if i < 0 {
			t.Fatalf("no %s in %s", name, sig)
		}
		j := strings.IndexByte(sig[i+len(name)+2:], '"')
		return sig[:i+len(name)+2] + value + sig[i+len(name)+2+j:]
	}
	fullList := `"(request-target) host date digest"`
	cases := []struct {
		name   string
		build  func(*http.Request) *http.Request
		reason string
	}{
		// The list a lenient check finds first is the full one, the one
		// the library uses only "date".
		{"xheaders before headers", trick(keyID, []string{"date"}, func(s string) string { return "xheaders=" + fullList + "," + s }), "malformed_signature"},
		{"xheaders after headers", trick(keyID, []string{"date"}, func(s string) string { return s + ",xheaders=" + fullList }), "malformed_signature"},
		{"headers twice, full one first", trick(keyID, []string{"date"}, func(s string) string { return "headers=" + fullList + "," + s }), "malformed_signature"},
		{"headers twice, full one last", trick(keyID, []string{"date"}, func(s string) string { return s + ",headers=" + fullList }), "malformed_signature"},
		{"keyId twice", trick(keyID, all, func(s string) string { return s + `,keyId="` + keyID + `"` }), "malformed_signature"},
		{"created", trick(keyID, all, func(s string) string { return s + `,created="` + strconv.FormatInt(now.Unix(), 10) + `"` }), "malformed_signature"},
		{"unquoted value", trick(keyID, all, func(s string) string { return strings.Replace(s, `algorithm="hs2019"`, `algorithm=hs2019`, 1) }), "malformed_signature"},
		{"escaped quote", trick(keyID, all, func(s string) string { return strings.Replace(s, `algorithm="hs2019"`, `algorithm="hs\"2019"`, 1) }), "malformed_signature"},
		{"junk after a value", trick(keyID, all, func(s string) string { return strings.Replace(s, `algorithm="hs2019"`, `algorithm="hs2019"x`, 1) }), "malformed_signature"},
		{"another algorithm", trick(keyID, all, func(s string) string { return param(s, "algorithm", "rsa-sha256") }), "malformed_signature"},
		{"short signature", trick(keyID, all, func(s string) string { return param(s, "signature", "AAAA") }), "malformed_signature"},
		{"no signature parameter", trick(keyID, all, func(s string) string { return s[:strings.Index(s, ",signature=")] }), "malformed_signature"},
		{"a header listed twice", trick(keyID, append(all[:4:4], "date"), nil), "malformed_signature"},
		{"upper-case header name", trick(keyID, all, func(s string) string { return param(s, "headers", "(request-target) Host date digest") }), "malformed_signature"},
		{"(created) listed", trick(keyID, all, func(s string) string { return param(s, "headers", "(request-target) host date digest (created)") }), "malformed_signature"},
		{"two Signature headers", func(r *http.Request) *http.Request {
			signWith(t, r, body, keyID, key, now, all...)
			r.Header.Add("Signature", r.Header.Get("Signature"))
			return r
		}, "malformed_signature"},
		{"only date signed", trick(keyID, []string{"date"}, nil), "unsigned_headers"},
		{"no headers parameter", trick(keyID, []string{"date"}, func(s string) string { return strings.Replace(s, `headers="date",`, "", 1) }), "unsigned_headers"},
		{"keyId naming a path", trick(keyHost+"/x#"+key.ID, all, nil), "bad_key_id"},
		{"keyId naming a user", trick("x@"+keyHost+"#"+key.ID, all, nil), "bad_key_id"},
		{"keyId without a key", trick(keyHost, all, nil), "bad_key_id"},
		{"key ID with a path", trick(keyHost+"#ed25519:../../x", all, nil), "bad_key_id"},
		{"key ID of another algorithm", trick(keyHost+"#rsa:1", all, nil), "bad_key_id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { expectRefusal(t, b, c.reason, c.build) })
	}
	if n := fetched.Load(); n != 0 {
		t.Fatalf("b fetched keys %d times for malformed keyIds", n)
	}
	// Signing more than the profile asks is fine.
	code, resp := ping(t, b, func(r *http.Request) *http.Request {
		r.Header.Set("Content-Type", "application/json")
		signWith(t, r, body, keyID, key, now, append(all[:4:4], "content-type")...)
		return r
	})
	if code != 200 {
		t.Fatalf("a signature over more headers: %d %s", code, resp)
	}
}

// stalled is a request body that sends its first half and then waits
// until finish is called.
type stalled struct {
	pr     *io.PipeReader
	finish func()
}

func stall(t *testing.T, body []byte) stalled {
	pr, pw := io.Pipe()
	release := make(chan struct{})
	go func() { // owned by the test: ends when finish is called or the reader closes
		if _, err := pw.Write(body[:len(body)/2]); err != nil {
			return
		}
		<-release
		_, _ = pw.Write(body[len(body)/2:])
		pw.Close()
	}()
	var once sync.Once
	s := stalled{pr: pr, finish: func() { once.Do(func() { close(release) }) }}
	t.Cleanup(func() { s.finish(); pr.Close() })
	return s
}

// answer is a request's outcome, sent in the background.
type answer struct {
	status int
	body   string
	err    error
}

func sendAsync(req *http.Request) <-chan answer {
	ch := make(chan answer, 1)
	go func() { // owned by the test: ends with the request
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			ch <- answer{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		ch <- answer{status: res.StatusCode, body: string(b), err: err}
	}()
	return ch
}

// TestCheapChecksBeforeBody: requests whose headers fail are answered
// without the server reading their body (a body that never comes does not
// hold them up), and a signed body that stops coming is cut off at the
// body deadline; a receiver on either database.
func TestCheapChecksBeforeBody(t *testing.T) {
	st.ForEachBackend(t, testCheapChecksBeforeBody)
}

func testCheapChecksBeforeBody(t *testing.T, backend st.Backend) {
	a := st.Start(t, st.Options{})
	b := st.Start(t, st.Options{Backend: backend, FederationLimits: federation.Limits{BodyTimeout: 300 * time.Millisecond}})
	key, err := federation.LoadOrCreateKey(filepath.Join(a.Options.DataDir, "signing.key"))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := federation.LoadOrCreateKey(filepath.Join(t.TempDir(), "other.key"))
	body := bytes.Repeat([]byte("x"), 64<<10)
	now := time.Now()
	cases := []struct {
		name   string
		tamper func(r *http.Request)
		reason string
	}{
		{"bad signature", func(r *http.Request) {
			r.Header.Set("Date", now.Add(time.Second).UTC().Format(http.TimeFormat))
		}, "bad_signature"},
		{"unknown key", func(r *http.Request) {
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), key.ID, other.ID, 1))
		}, "unknown_key"},
		{"over 8 MiB announced", func(r *http.Request) { r.ContentLength = federation.MaxBody + 1 }, "digest_mismatch"},
		{"old date", func(r *http.Request) { r.Header.Set("Date", now.Add(-time.Hour).UTC().Format(http.TimeFormat)) }, "date_window"},
		{"body deadline", nil, "body_read"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := rejected(t, b, c.reason)
			req, _ := http.NewRequest("POST", b.URL()+federation.PingPath, nil)
			if err := federation.Sign(req, body, a.ServerName(), key, now); err != nil {
				t.Fatal(err)
			}
			req.ContentLength = int64(len(body))
			if c.tamper != nil {
				c.tamper(req)
			}
			s := stall(t, body)
			req.Body = s.pr
			select {
			case ans := <-sendAsync(req):
				if ans.err != nil || ans.status != 401 || !strings.Contains(ans.body, `"message":"`+c.reason+`"`) {
					t.Fatalf("%d %s %v, want 401 %s", ans.status, ans.body, ans.err, c.reason)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("no answer while the body is held back: the server waits for it")
			}
			if after := rejected(t, b, c.reason); after != before+1 {
				t.Fatalf("rejected_total{reason=%q} went from %v to %v", c.reason, before, after)
			}
		})
	}
}

// TestInboundConcurrencyCap: federation requests in flight are bounded,
// over all endpoints and per signer; over the bound the answer is an
// immediate 503, counted as overloaded, and the slots come back when the
// requests end; a receiver on either database.
func TestInboundConcurrencyCap(t *testing.T) {
	st.ForEachBackend(t, testInboundConcurrencyCap)
}

func testInboundConcurrencyCap(t *testing.T, backend st.Backend) {
	a, c := st.Start(t, st.Options{}), st.Start(t, st.Options{})
	b := st.Start(t, st.Options{Backend: backend, FederationLimits: federation.Limits{MaxInFlight: 2, MaxPerPeer: 1}})
	keyOf := func(s *st.Server) federation.Key {
		k, err := federation.LoadOrCreateKey(filepath.Join(s.Options.DataDir, "signing.key"))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	keyA, keyC := keyOf(a), keyOf(c)
	body := bytes.Repeat([]byte("y"), 4096)
	// hold starts a signed request whose body stops half-way.
	hold := func(from *st.Server, key federation.Key) (stalled, <-chan answer) {
		req, _ := http.NewRequest("POST", b.URL()+federation.PingPath, nil)
		if err := federation.Sign(req, body, from.ServerName(), key, time.Now()); err != nil {
			t.Fatal(err)
		}
		s := stall(t, body)
		req.Body, req.ContentLength = s.pr, int64(len(body))
		return s, sendAsync(req)
	}
	pingFrom := func(from *st.Server, key federation.Key) (int, string) {
		return ping(t, b, signed(t, from, key, body, time.Now(), nil))
	}
	overloaded := rejected(t, b, "overloaded")

	// Both keys known first, so that a held request is verified as soon
	// as it arrives.
	for _, from := range []struct {
		s *st.Server
		k federation.Key
	}{{a, keyA}, {c, keyC}} {
		if code, resp := pingFrom(from.s, from.k); code != 200 {
			t.Fatalf("a first ping from %s: %d %s", from.s.ServerName(), code, resp)
		}
	}
	// keepHeld (re)starts a held request whose answer came: a probe sent
	// before it held its share may have taken the share (or the last
	// slot) first, and the held request was then refused instead.
	keepHeld := func(from *st.Server, key federation.Key, held *stalled, ans *<-chan answer) string {
		if *ans != nil {
			select {
			case got := <-*ans:
				held.finish()
				*ans = nil
				return fmt.Sprintf("the held request was answered first: %d %s", got.status, got.body)
			default:
				return ""
			}
		}
		*held, *ans = hold(from, key)
		return "held request started"
	}
	var heldA, heldC stalled
	var ansA, ansC <-chan answer
	eventually(t, "a's second request refused while its first is in flight", func() string {
		if why := keepHeld(a, keyA, &heldA, &ansA); why != "" {
			return why
		}
		if code, resp := pingFrom(a, keyA); code != 503 || !strings.Contains(resp, `"code":"UNAVAILABLE","message":"overloaded"`) {
			return fmt.Sprintf("%d %s", code, resp)
		}
		return ""
	})
	if code, resp := pingFrom(c, keyC); code != 200 {
		t.Fatalf("c, with its share free, was answered %d %s", code, resp)
	}
	eventually(t, "every slot taken: even an unsigned request is refused at once", func() string {
		if why := keepHeld(c, keyC, &heldC, &ansC); why != "" {
			return why
		}
		code, resp := ping(t, b, func(r *http.Request) *http.Request { return r })
		if code != 503 || !strings.Contains(resp, `"message":"overloaded"`) {
			return fmt.Sprintf("%d %s", code, resp)
		}
		return ""
	})
	heldA.finish()
	heldC.finish()
	for _, ch := range []<-chan answer{ansA, ansC} {
		if ans := <-ch; ans.err != nil || ans.status != 200 {
			t.Fatalf("a held request, finished: %d %s %v", ans.status, ans.body, ans.err)
		}
	}
	if code, resp := pingFrom(a, keyA); code != 200 {
		t.Fatalf("after the held requests ended: %d %s", code, resp)
	}
	if n := rejected(t, b, "overloaded"); n < overloaded+2 {
		t.Fatalf("overloaded counted %v times, want at least 2", n-overloaded)
	}
}

// TestKeyCacheIsBounded: a flood of made-up server names costs the key
// cache a bounded number of remembered failures, and at most a bounded
// number of fetches run at once; one more is refused as overloaded
// without fetching.
func TestKeyCacheIsBounded(t *testing.T) {
	// Loopback addresses are refused at connect time without insecure
	// federation, so each of these fetches fails at once.
	keys := federation.NewKeyCache(false)
	for port := 1; port <= 5000; port++ {
		if _, err := keys.Key(t.Context(), "127.0.0.1:"+strconv.Itoa(port), "ed25519:00000000"); err == nil {
			t.Fatal("a key was fetched from loopback")
		}
	}
	if _, failed, inflight := keys.Len(); failed > 4096 || inflight != 0 {
		t.Fatalf("after 5000 failed names the cache remembers %d failures and has %d fetches running", failed, inflight)
	}

	host, release := tarpit(t)
	slow := federation.NewKeyCache(true)
	errs := make(chan error, 16)
	for i := range 16 {
		go func() { // owned by the test: ends when the tarpit answers
			_, err := slow.Key(context.Background(), host, fmt.Sprintf("ed25519:%08x", i))
			errs <- err
		}()
	}
	eventually(t, "16 fetches running", func() string {
		if _, _, n := slow.Len(); n != 16 {
			return fmt.Sprintf("%d running", n)
		}
		return ""
	})
	if _, err := slow.Key(t.Context(), host, "ed25519:ffffffff"); !errors.Is(err, federation.ErrOverloaded) {
		t.Fatalf("a 17th fetch: %v, want overloaded", err)
	}
	release()
	for range 16 {
		if err := <-errs; err == nil || errors.Is(err, federation.ErrOverloaded) {
			t.Fatalf("a fetch from a server without the key: %v", err)
		}
	}
	if _, _, n := slow.Len(); n != 0 {
		t.Fatalf("%d fetches still registered after they ended", n)
	}

	// Callers waiting for one slow key are bounded too: each holds an
	// inbound slot while it waits, and one fetch must not hold them all.
	host2, release2 := tarpit(t)
	one := federation.NewKeyCache(true)
	for range 16 {
		go func() { // owned by the test: ends when the tarpit answers
			_, err := one.Key(context.Background(), host2, "ed25519:0000000a")
			errs <- err
		}()
	}
	eventually(t, "16 callers waiting for one fetch", func() string {
		if _, _, n := one.Len(); n != 1 || one.Waiting() != 16 {
			return fmt.Sprintf("%d fetches, %d waiting", n, one.Waiting())
		}
		return ""
	})
	if _, err := one.Key(t.Context(), host2, "ed25519:0000000a"); !errors.Is(err, federation.ErrOverloaded) {
		t.Fatalf("a 17th caller for the same key: %v, want overloaded", err)
	}
	release2()
	for range 16 {
		if err := <-errs; err == nil || errors.Is(err, federation.ErrOverloaded) {
			t.Fatalf("a caller waiting for a fetch from a server without the key: %v", err)
		}
	}
	if one.Waiting() != 0 {
		t.Fatalf("%d callers still counted as waiting", one.Waiting())
	}
}

// tarpit is a key server that answers nothing until release is called
// (or the test ends), and then 404.
func tarpit(t *testing.T) (host string, release func()) {
	t.Helper()
	done := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(done) }) }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-done:
		case <-r.Context().Done():
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(release)
	return strings.TrimPrefix(srv.URL, "http://"), release
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

// TestKeyCacheAsksARestartedPeerAgain: a peer that was down while this
// server fetched its key is asked again as soon as it signs a request
// after its restart. The cache used to remember the refused connection
// for a minute and answer the restarted peer unknown_key all that time.
func TestKeyCacheAsksARestartedPeerAgain(t *testing.T) {
	key, err := federation.LoadOrCreateKey(filepath.Join(t.TempDir(), "signing.key"))
	if err != nil {
		t.Fatal(err)
	}
	// Reserve a loopback address, then leave nothing listening there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := ln.Addr().String()
	ln.Close()

	keys := federation.NewKeyCache(true)
	if _, err := keys.Key(t.Context(), host, key.ID); err == nil {
		t.Fatal("a key was fetched from a closed port")
	}
	if _, failed, _ := keys.Len(); failed != 0 {
		t.Fatalf("a refused connection is remembered (%d failures): the restarted peer would be refused", failed)
	}

	// The peer comes back at the same address.
	ln, err = net.Listen("tcp", host)
	if err != nil {
		t.Fatalf("listen again at %s: %v", host, err)
	}
	d := &federation.Discovery{ServerName: host, PublicURL: "http://" + host, Key: key}
	srv := &http.Server{Handler: http.HandlerFunc(d.ServeKeys), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) // owned by the test: Close below ends it
	t.Cleanup(func() { srv.Close() })
	pub, err := keys.Key(t.Context(), host, key.ID)
	if err != nil {
		t.Fatalf("the restarted peer's key: %v", err)
	}
	if !bytes.Equal(pub, key.Public) {
		t.Fatal("the restarted peer's key is not the key it published")
	}
}

// TestKeyCacheBacksOffBadKeyServers: a key server that answers, but
// badly, is asked again after one second, then after two, four and so
// on up to a minute; a good answer ends the backoff, and the next
// failure starts it from one second again.
func TestKeyCacheBacksOffBadKeyServers(t *testing.T) {
	key, err := federation.LoadOrCreateKey(filepath.Join(t.TempDir(), "signing.key"))
	if err != nil {
		t.Fatal(err)
	}
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	step := func(d time.Duration) { now.Add(int64(d)) }

	var healthy atomic.Bool
	var asked atomic.Int32
	var host string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		if !healthy.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(federation.KeyList{ServerName: host, Keys: []federation.PublishedKey{{
			KeyID: key.ID, Algorithm: "ed25519", PublicKey: key.PublicBase64(),
			ValidUntil: clock().Add(time.Hour).UnixMilli(),
		}}})
	}))
	t.Cleanup(srv.Close)
	host = strings.TrimPrefix(srv.URL, "http://")

	keys := federation.NewKeyCache(true)
	keys.SetClock(clock)
	want := int32(0)
	ask := func(after time.Duration, fetched, ok bool) {
		t.Helper()
		step(after)
		_, err := keys.Key(t.Context(), host, key.ID)
		if fetched {
			want++
		}
		if got := asked.Load(); got != want {
			t.Fatalf("after %s: the key server was asked %d times, want %d", after, got, want)
		}
		if (err == nil) != ok {
			t.Fatalf("after %s: err = %v, want success %v", after, err, ok)
		}
	}
	ask(0, true, false)                      // first failure: back off 1 s
	ask(500*time.Millisecond, false, false)  // within it
	ask(500*time.Millisecond, true, false)   // 1 s on; second failure: 2 s
	ask(1500*time.Millisecond, false, false) // within it
	ask(500*time.Millisecond, true, false)   // third failure: 4 s
	ask(3*time.Second, false, false)         // within it
	ask(time.Second, true, false)            // fourth: 8 s
	ask(8*time.Second, true, false)          // fifth: 16 s
	ask(16*time.Second, true, false)         // sixth: 32 s
	ask(32*time.Second, true, false)         // seventh: 64 s, capped at a minute
	ask(59*time.Second, false, false)        // within the minute
	ask(time.Second, true, false)            // eighth: still a minute
	ask(59*time.Second, false, false)        // within it
	healthy.Store(true)                      //
	ask(time.Second, true, true)             // a good answer
	ask(0, false, true)                      // cached
	healthy.Store(false)                     //
	ask(2*time.Hour, true, false)            // the key expired; the server fails again
	ask(time.Second, true, false)            // one second on: the backoff started over
}

package federation

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-fed/httpsig"
)

// The HTTP Signatures profile of spec/federation.md: ed25519 over
// "(request-target) host date digest", the Signature header, keyId
// "<server-name>#<key-id>", a ±5-minute Date window and a SHA-256 Digest
// that the receiver checks against the body itself (go-fed/httpsig signs
// the Digest header but does not compare it with the body).

// SignedHeaders are the headers every federation request signs.
var signedHeaders = []string{httpsig.RequestTarget, "host", "date", "digest"}

// DateWindow is how far a request's Date may be from the receiver's clock.
const DateWindow = 5 * time.Minute

// MaxBody bounds a federation request body.
const MaxBody = 8 << 20

// Sign signs an outgoing request (its body is body, nil for none) as
// serverName with key.
func Sign(req *http.Request, body []byte, serverName string, key Key, now time.Time) error {
	if body == nil {
		body = []byte{}
	}
	req.Header.Set("Date", now.UTC().Format(http.TimeFormat))
	// httpsig reads "host" from the header map, where Go keeps no Host.
	req.Header.Set("Host", req.URL.Host)
	signer, _, err := httpsig.NewSigner([]httpsig.Algorithm{httpsig.ED25519}, httpsig.DigestSha256, signedHeaders, httpsig.Signature, 0)
	if err != nil {
		return fmt.Errorf("federation: signer: %w", err)
	}
	if err := signer.SignRequest(key.Private, serverName+"#"+key.ID, req, body); err != nil {
		return fmt.Errorf("federation: sign: %w", err)
	}
	return nil
}

// Verification failures, each a reason in the metrics and the logs.
var (
	ErrNoSignature   = errors.New("missing signature")
	ErrBadSignature  = errors.New("bad signature")
	ErrUnknownKey    = errors.New("unknown key")
	ErrDateWindow    = errors.New("date outside the window")
	ErrDigest        = errors.New("body does not match its digest")
	ErrHeadersUnsign = errors.New("required headers not signed")
)

// Reason names a verification error for a metric label.
func Reason(err error) string {
	for _, e := range []struct {
		err    error
		reason string
	}{
		{ErrNoSignature, "missing_signature"}, {ErrBadSignature, "bad_signature"}, {ErrUnknownKey, "unknown_key"},
		{ErrDateWindow, "date_window"}, {ErrDigest, "digest_mismatch"}, {ErrHeadersUnsign, "unsigned_headers"},
		{ErrWrongHost, "wrong_host"},
	} {
		if errors.Is(err, e.err) {
			return e.reason
		}
	}
	return "other"
}

// KeySource finds a server's public key by its ID.
type KeySource interface {
	Key(ctx context.Context, server, keyID string) (ed25519.PublicKey, error)
}

// ErrWrongHost: the request was signed for another server (a replay).
var ErrWrongHost = errors.New("signed for another server")

// Verify checks an incoming federation request: signature, key, Date and
// Digest, and that it was addressed to this server (ourName), so that a
// request signed for one server cannot be replayed to another. It returns
// the signing server and the body (read, at most MaxBody bytes).
func Verify(ctx context.Context, r *http.Request, ourName string, keys KeySource, now time.Time) (string, []byte, error) {
	if r.Header.Get("Signature") == "" {
		return "", nil, ErrNoSignature
	}
	if !strings.EqualFold(r.Host, ourName) {
		return "", nil, fmt.Errorf("%w: %q", ErrWrongHost, r.Host)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return "", nil, fmt.Errorf("read body: %w", err)
	}
	if len(body) > MaxBody {
		return "", nil, fmt.Errorf("%w: body over %d bytes", ErrDigest, MaxBody)
	}
	date, err := http.ParseTime(r.Header.Get("Date"))
	if err != nil || date.Sub(now) > DateWindow || now.Sub(date) > DateWindow {
		return "", nil, ErrDateWindow
	}
	sum := sha256.Sum256(body)
	if r.Header.Get("Digest") != "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]) {
		return "", nil, ErrDigest
	}
	if !signsAll(r.Header.Get("Signature")) {
		return "", nil, ErrHeadersUnsign
	}
	r.Header.Set("Host", r.Host)
	v, err := httpsig.NewVerifier(r)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	server, keyID, ok := strings.Cut(v.KeyId(), "#")
	if !ok || server == "" || keyID == "" {
		return "", nil, fmt.Errorf("%w: keyId %q", ErrUnknownKey, v.KeyId())
	}
	pub, err := keys.Key(ctx, server, keyID)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %s: %w", ErrUnknownKey, v.KeyId(), err)
	}
	if err := v.Verify(pub, httpsig.ED25519); err != nil {
		return "", nil, fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	return server, body, nil
}

// signsAll reports whether a Signature header's headers list covers the
// profile's.
func signsAll(sig string) bool {
	i := strings.Index(sig, `headers="`)
	if i < 0 {
		return false
	}
	rest := sig[i+len(`headers="`):]
	list, _, _ := strings.Cut(rest, `"`)
	have := map[string]bool{}
	for _, h := range strings.Fields(strings.ToLower(list)) {
		have[h] = true
	}
	for _, h := range signedHeaders {
		if !have[h] {
			return false
		}
	}
	return true
}

// KeyCache fetches and caches other servers' published keys.
type KeyCache struct {
	client   *http.Client
	insecure bool
	mu       sync.Mutex
	keys     map[string]cachedKey
	// inflight shares one fetch among concurrent requests for a key, and
	// failed remembers a failed fetch for a while: unauthenticated input
	// names the server to fetch from, so fetches must stay few.
	inflight map[string]*fetch
	failed   map[string]time.Time
	now      func() time.Time
}

type fetch struct {
	done chan struct{}
	pub  ed25519.PublicKey
	err  error
}

// failureTTL is how long a failed key fetch is not retried.
const failureTTL = time.Minute

type cachedKey struct {
	pub   ed25519.PublicKey
	until time.Time
}

// NewKeyCache makes a key cache. Unless insecure, it fetches over https
// only and refuses servers whose addresses are private or loopback, so that
// a name in a request or an invite cannot make this server call into its
// own network.
func NewKeyCache(insecure bool) *KeyCache {
	return &KeyCache{client: NewClient(insecure), insecure: insecure, keys: make(map[string]cachedKey),
		inflight: make(map[string]*fetch), failed: make(map[string]time.Time), now: time.Now}
}

// Key implements KeySource.
func (k *KeyCache) Key(ctx context.Context, server, keyID string) (ed25519.PublicKey, error) {
	id := server + "#" + keyID
	k.mu.Lock()
	if c, ok := k.keys[id]; ok && k.now().Before(c.until) {
		k.mu.Unlock()
		return c.pub, nil
	}
	if at, ok := k.failed[id]; ok && k.now().Sub(at) < failureTTL {
		k.mu.Unlock()
		return nil, fmt.Errorf("keys of %s: fetch failed recently", server)
	}
	f, running := k.inflight[id]
	if !running {
		f = &fetch{done: make(chan struct{})}
		k.inflight[id] = f
	}
	k.mu.Unlock()
	if !running {
		// Detached from the first caller's context: others wait on it.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		f.pub, f.err = k.fetchKey(fctx, server, keyID)
		cancel()
		k.mu.Lock()
		delete(k.inflight, id)
		if f.err != nil {
			if len(k.failed) > 10000 {
				clear(k.failed) // bounded: a flood of names forgets, it does not grow
			}
			k.failed[id] = k.now()
		}
		k.mu.Unlock()
		close(f.done)
	}
	select {
	case <-f.done:
		return f.pub, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fetchKey asks a server for its key list and caches the key asked for.
func (k *KeyCache) fetchKey(ctx context.Context, server, keyID string) (ed25519.PublicKey, error) {
	id := server + "#" + keyID
	scheme := "https://"
	if k.insecure {
		scheme = "http://"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+server+KeysPath, nil)
	if err != nil {
		return nil, err
	}
	res, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch keys of %s: %w", server, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch keys of %s: status %d", server, res.StatusCode)
	}
	var list KeyList
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&list); err != nil {
		return nil, fmt.Errorf("keys of %s: %w", server, err)
	}
	if list.ServerName != server {
		return nil, fmt.Errorf("keys of %s name %q", server, list.ServerName)
	}
	for _, pk := range list.Keys {
		if pk.KeyID != keyID || pk.Algorithm != "ed25519" {
			continue
		}
		raw, err := base64.RawStdEncoding.DecodeString(pk.PublicKey)
		if err != nil || len(raw) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("key %s of %s is malformed", keyID, server)
		}
		until := time.UnixMilli(pk.ValidUntil)
		if !k.now().Before(until) {
			return nil, fmt.Errorf("key %s of %s expired at %s", keyID, server, until.UTC().Format(time.RFC3339))
		}
		if max := k.now().Add(24 * time.Hour); until.After(max) {
			until = max
		}
		k.mu.Lock()
		k.keys[id] = cachedKey{pub: ed25519.PublicKey(raw), until: until}
		k.mu.Unlock()
		return ed25519.PublicKey(raw), nil
	}
	return nil, fmt.Errorf("%s publishes no key %s", server, keyID)
}

// sharedOrTranslated reports carrier-grade NAT space (100.64.0.0/10) and
// NAT64 (64:ff9b::/96), which can also lead into private networks.
func sharedOrTranslated(ip net.IP) bool {
	if v4 := ip.To4(); v4 != nil {
		return v4[0] == 100 && v4[1]&0xC0 == 64
	}
	return len(ip) == net.IPv6len && ip[0] == 0x00 && ip[1] == 0x64 && ip[2] == 0xff && ip[3] == 0x9b
}

// ErrForbiddenAddress: an outbound federation request named a private or
// loopback address while insecure federation is off.
var ErrForbiddenAddress = errors.New("refusing to contact a private or loopback address")

// NewClient is the HTTP client for talking to other servers: bounded in
// time, and (unless insecure) refusing to connect to private, loopback,
// link-local or unspecified addresses, checked on the resolved address at
// connect time so that DNS cannot smuggle one in.
func NewClient(insecure bool) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	if !insecure {
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip := net.ParseIP(host)
			if ip == nil || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
				ip.IsUnspecified() || ip.IsMulticast() || sharedOrTranslated(ip) {
				return fmt.Errorf("%w: %s", ErrForbiddenAddress, host)
			}
			return nil
		}
	}
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext:            dialer.DialContext,
			TLSHandshakeTimeout:    10 * time.Second,
			ResponseHeaderTimeout:  20 * time.Second,
			MaxResponseHeaderBytes: 64 << 10,
			MaxIdleConnsPerHost:    8,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

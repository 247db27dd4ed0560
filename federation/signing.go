package federation

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
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
	lru "github.com/hashicorp/golang-lru/v2"
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
	// ErrMalformedSig: the Signature header does not parse (a parameter
	// twice, one this profile does not know, a value that is not a plain
	// quoted string, a signature that is not 64 bytes).
	ErrMalformedSig = errors.New("malformed signature header")
	// ErrBadKeyID: keyId is not "<server name>#ed25519:<name>"; no key is
	// fetched for it.
	ErrBadKeyID = errors.New("malformed keyId")
	// ErrBodyRead: the body could not be read (cut short, or too slow).
	ErrBodyRead = errors.New("body not read")
	// ErrOverloaded: too many federation requests are in flight (or key
	// fetches running); the request is refused before any work.
	ErrOverloaded = errors.New("too many federation requests in flight")
	// ErrBlocked: this homeserver does not federate with the server (an
	// administrator blocked it, or it is not on the allow list); nothing
	// is fetched from it, accepted from it or sent to it.
	ErrBlocked = errors.New("server not federated with")
)

// Policy reports whether this homeserver federates with a server now.
type Policy func(ctx context.Context, server string) bool

// PolicyKeys is keys for the servers policy lets federate, and ErrBlocked
// for the others, before any key is fetched: a blocked server's requests
// cost a header parse.
func PolicyKeys(keys KeySource, policy Policy) KeySource {
	return policyKeys{keys: keys, policy: policy}
}

type policyKeys struct {
	keys   KeySource
	policy Policy
}

// Key implements KeySource.
func (p policyKeys) Key(ctx context.Context, server, keyID string) (ed25519.PublicKey, error) {
	if !p.policy(ctx, server) {
		return nil, fmt.Errorf("keys of %s: %w", server, ErrBlocked)
	}
	return p.keys.Key(ctx, server, keyID)
}

// Reason names a verification error for a metric label.
func Reason(err error) string {
	for _, e := range []struct {
		err    error
		reason string
	}{
		{ErrBlocked, "blocked"},
		{ErrNoSignature, "missing_signature"}, {ErrBadSignature, "bad_signature"}, {ErrUnknownKey, "unknown_key"},
		{ErrDateWindow, "date_window"}, {ErrDigest, "digest_mismatch"}, {ErrHeadersUnsign, "unsigned_headers"},
		{ErrWrongHost, "wrong_host"}, {ErrMalformedSig, "malformed_signature"}, {ErrBadKeyID, "bad_key_id"},
		{ErrBodyRead, "body_read"}, {ErrOverloaded, "overloaded"},
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

// Verify checks an incoming federation request completely (VerifyHeaders,
// then ReadBody) and returns the signing server and the body.
func Verify(ctx context.Context, r *http.Request, ourName string, keys KeySource, now time.Time) (string, []byte, error) {
	s, err := VerifyHeaders(ctx, r, ourName, keys, now)
	if err != nil {
		return "", nil, err
	}
	body, err := s.ReadBody(r)
	if err != nil {
		return "", nil, err
	}
	return s.Server, body, nil
}

// Signed is a request whose headers and signature have been verified but
// whose body has not been read yet.
type Signed struct {
	// Server is the signer, the server named in keyId.
	Server string
	digest []byte // the SHA-256 the Digest header promises
}

// VerifyHeaders makes every check that does not need the body, cheapest
// first, without reading a byte of it: the Signature header is present
// and parses, the request is addressed to ourName (so that a request
// signed for one server cannot be replayed to another), Date is within
// the window, the required headers are signed, keyId names a well-formed
// server and key, the Digest header is well-formed, the announced length
// fits, the key is known or fetchable, and the signature verifies. The
// signature covers the Digest header, so only the signer can make this
// server read a body; ReadBody then holds the body to that digest.
func VerifyHeaders(ctx context.Context, r *http.Request, ourName string, keys KeySource, now time.Time) (*Signed, error) {
	sigs := r.Header.Values("Signature")
	if len(sigs) == 0 || sigs[0] == "" {
		return nil, ErrNoSignature
	}
	if !strings.EqualFold(r.Host, ourName) {
		return nil, fmt.Errorf("%w: %q", ErrWrongHost, r.Host)
	}
	dates := r.Header.Values("Date")
	if len(dates) != 1 {
		return nil, fmt.Errorf("%w: %d Date headers", ErrDateWindow, len(dates))
	}
	date, err := http.ParseTime(dates[0])
	if err != nil || date.Sub(now) > DateWindow || now.Sub(date) > DateWindow {
		return nil, ErrDateWindow
	}
	if len(sigs) != 1 {
		return nil, fmt.Errorf("%w: %d Signature headers", ErrMalformedSig, len(sigs))
	}
	p, err := parseSignature(sigs[0])
	if err != nil {
		return nil, err
	}
	digest, err := parseDigest(r.Header.Values("Digest"))
	if err != nil {
		return nil, err
	}
	if r.ContentLength > MaxBody {
		return nil, fmt.Errorf("%w: body of %d bytes is over %d", ErrDigest, r.ContentLength, MaxBody)
	}
	pub, err := keys.Key(ctx, p.server, p.key)
	if err != nil {
		if errors.Is(err, ErrOverloaded) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrUnknownKey, p.keyID, err)
	}
	// The library is handed the parameters as parsed above, rebuilt, on
	// a copy of the request: what it verifies is what was checked.
	vr := r.WithContext(ctx)
	vr.Header = r.Header.Clone()
	vr.Header.Del("Authorization")
	vr.Header.Set("Signature", p.canonical())
	// httpsig reads "host" from the header map, where Go keeps no Host.
	vr.Header.Set("Host", r.Host)
	v, err := httpsig.NewVerifier(vr)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	if v.KeyId() != p.keyID {
		return nil, fmt.Errorf("%w: keyId read as %q, parsed as %q", ErrBadSignature, v.KeyId(), p.keyID)
	}
	if err := v.Verify(pub, httpsig.ED25519); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	return &Signed{Server: p.server, digest: digest}, nil
}

// parseDigest reads the one Digest header: "SHA-256=" and the padded
// base64 of 32 bytes, in canonical form.
func parseDigest(values []string) ([]byte, error) {
	if len(values) != 1 {
		return nil, fmt.Errorf("%w: %d Digest headers", ErrDigest, len(values))
	}
	b64, ok := strings.CutPrefix(values[0], "SHA-256=")
	if !ok {
		return nil, fmt.Errorf("%w: not a SHA-256 digest", ErrDigest)
	}
	sum, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || len(sum) != sha256.Size {
		return nil, fmt.Errorf("%w: malformed SHA-256 digest", ErrDigest)
	}
	return sum, nil
}

// ReadBody reads the body of a verified request, at most MaxBody bytes,
// hashing it as it streams in, and compares the hash with the signed
// Digest in constant time.
func (s *Signed) ReadBody(r *http.Request) ([]byte, error) {
	h := sha256.New()
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength)) // at most MaxBody: VerifyHeaders checked it
	}
	if _, err := buf.ReadFrom(io.TeeReader(io.LimitReader(r.Body, MaxBody+1), h)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBodyRead, err)
	}
	if buf.Len() > MaxBody {
		return nil, fmt.Errorf("%w: body over %d bytes", ErrDigest, MaxBody)
	}
	if subtle.ConstantTimeCompare(h.Sum(nil), s.digest) != 1 {
		return nil, ErrDigest
	}
	return buf.Bytes(), nil
}

// KeyCache fetches and caches other servers' published keys. Everything
// it keeps is bounded: unauthenticated input names the servers and keys
// it is asked for.
type KeyCache struct {
	client   *http.Client
	insecure bool
	keys     *lru.Cache[string, cachedKey]
	// failed remembers failed fetches, so that a key server that
	// answers badly or slowly is asked again only after a backoff
	// (failure.backoff); being an LRU, a flood of names evicts the oldest.
	failed *lru.Cache[string, failure]
	// fetching bounds the fetches running at once: each may hold a
	// request for up to 30 s, and names are free to make up.
	fetching chan struct{}
	// waiting bounds the callers waiting for fetches (maxKeyWaiters).
	waiting chan struct{}
	now     func() time.Time

	mu sync.Mutex
	// inflight shares one fetch among concurrent requests for a key. An
	// entry lives only while its fetch runs, and at most cap(fetching)
	// fetches run, so the map stays that small.
	inflight map[string]*fetch
}

type fetch struct {
	done chan struct{}
	pub  ed25519.PublicKey
	err  error
}

// Key cache bounds.
const (
	// firstFailureBackoff is how long a key server is not asked again
	// after one failed fetch; each further failure in a row doubles it,
	// up to maxFailureBackoff.
	firstFailureBackoff = time.Second
	maxFailureBackoff   = time.Minute
	// keyCacheSize bounds the keys kept, and failedCacheSize the failed
	// fetches remembered.
	keyCacheSize    = 4096
	failedCacheSize = 4096
	// maxKeyFetches bounds the key fetches running at once; a request
	// that would start another is refused as overloaded.
	maxKeyFetches = 16
	// maxKeyWaiters bounds the requests waiting for a key fetch at once,
	// whichever keys they wait for; one more is refused as overloaded. A
	// request waits holding one of the inbound slots (DefaultLimits), and
	// a peer that names a key server that never answers must not be able
	// to hold them all: this leaves three quarters of them to requests
	// whose keys are known.
	maxKeyWaiters = 16
)

type cachedKey struct {
	pub   ed25519.PublicKey
	until time.Time
}

// failure is a remembered failed fetch: when the last one ended and how
// many failed in a row.
type failure struct {
	at    time.Time
	count int
}

// backoff is how long after the last failure the key is not fetched again.
func (f failure) backoff() time.Duration {
	return min(firstFailureBackoff<<min(f.count-1, 6), maxFailureBackoff) // 2^6 s is past the cap
}

// gone reports a fetch that failed because nothing listened at the
// server's address, or the connection broke before an answer: the peer
// process is down or restarting. Such a failure is not remembered. A
// peer that restarts signs its first requests with the key this cache
// failed to fetch while it was down, and remembering the failure for a
// minute refused them all (unknown_key) long after the peer was back.
// It is cheap to try again: the connection is refused at once, and
// concurrent requests for the key share one fetch.
func gone(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// NewKeyCache makes a key cache. Unless insecure, it fetches over https
// only and refuses servers whose addresses are private or loopback, so that
// a name in a request or an invite cannot make this server call into its
// own network.
func NewKeyCache(insecure bool) *KeyCache {
	keys, _ := lru.New[string, cachedKey](keyCacheSize)    // only fails on a size <= 0
	failed, _ := lru.New[string, failure](failedCacheSize) // idem
	return &KeyCache{client: NewClient(insecure), insecure: insecure, keys: keys, failed: failed,
		fetching: make(chan struct{}, maxKeyFetches), waiting: make(chan struct{}, maxKeyWaiters),
		inflight: make(map[string]*fetch), now: time.Now}
}

// Len reports how many keys and failed fetches the cache holds, and how
// many fetches are running.
func (k *KeyCache) Len() (keys, failed, inflight int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.keys.Len(), k.failed.Len(), len(k.inflight)
}

// Waiting reports how many callers are waiting for key fetches.
func (k *KeyCache) Waiting() int { return len(k.waiting) }

// Key implements KeySource.
func (k *KeyCache) Key(ctx context.Context, server, keyID string) (ed25519.PublicKey, error) {
	id := server + "#" + keyID
	if c, ok := k.keys.Get(id); ok && k.now().Before(c.until) {
		return c.pub, nil
	}
	if f, ok := k.failed.Get(id); ok && k.now().Sub(f.at) < f.backoff() {
		return nil, fmt.Errorf("keys of %s: fetch failed recently", server)
	}
	select {
	case k.waiting <- struct{}{}:
		defer func() { <-k.waiting }()
	default:
		return nil, fmt.Errorf("%w: %d requests waiting for keys", ErrOverloaded, maxKeyWaiters)
	}
	k.mu.Lock()
	f, running := k.inflight[id]
	if !running {
		select {
		case k.fetching <- struct{}{}:
		default:
			k.mu.Unlock()
			return nil, fmt.Errorf("%w: %d key fetches running", ErrOverloaded, maxKeyFetches)
		}
		f = &fetch{done: make(chan struct{})}
		k.inflight[id] = f
	}
	k.mu.Unlock()
	if !running {
		// Detached from the first caller's context: others wait on it.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		f.pub, f.err = k.fetchKey(fctx, server, keyID)
		cancel()
		switch {
		case f.err == nil:
			k.failed.Remove(id)
		case gone(f.err):
			// Not remembered (see gone), but neither forgotten: a peer
			// that was failing before it went down keeps its backoff.
		default:
			last, _ := k.failed.Peek(id)
			k.failed.Add(id, failure{at: k.now(), count: last.count + 1})
		}
		k.mu.Lock()
		delete(k.inflight, id)
		<-k.fetching
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
		k.keys.Add(id, cachedKey{pub: ed25519.PublicKey(raw), until: until})
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

package federation

import (
	"encoding/base64"
	"fmt"
	"hearth/homeserver/globalid"
	"strings"

	"github.com/go-fed/httpsig"
)

// The Signature header is parsed here, once, strictly; the parse is what
// the coverage check reads and what go-fed/httpsig is handed (rebuilt in
// canonical form), so that the two can never read different parameters.
// The library's own parser is lenient (it splits on commas, ignores
// unknown parameters and keeps the last of duplicates), and a check made
// on the raw header beside it could be fooled by, say, an `xheaders=`
// parameter carrying the full list while `headers=` names only `date`.

// sigParams is a Signature header's parameters.
type sigParams struct {
	keyID     string // as sent: "<server>#<key id>"
	server    string // the server part of keyID
	key       string // the key ID part of keyID
	algorithm string // empty when absent
	headers   []string
	signature string // padded standard base64, as sent
}

// canonical writes the parameters back as a Signature header, in the form
// go-fed/httpsig parses: no value holds a comma or a quote, so its split
// on commas finds exactly these four.
func (p sigParams) canonical() string {
	return `keyId="` + p.keyID + `",algorithm="hs2019",headers="` + strings.Join(p.headers, " ") +
		`",signature="` + p.signature + `"`
}

// maxSigParams bounds the parameters of a Signature header: there are
// four names and each may appear once.
const maxSigParams = 4

// parseSignature parses a Signature header: comma-separated name="value"
// pairs, each of the known names at most once, values of printable ASCII
// without quotes, commas or backslashes. Whitespace is allowed only around
// the commas. Errors wrap ErrMalformedSig, ErrHeadersUnsign or ErrBadKeyID.
func parseSignature(v string) (sigParams, error) {
	var p sigParams
	seen := map[string]bool{}
	rest := v
	for n := 0; ; n++ {
		if n == maxSigParams {
			return p, fmt.Errorf("%w: more than %d parameters", ErrMalformedSig, maxSigParams)
		}
		name, after, ok := strings.Cut(rest, "=")
		if !ok || name == "" || !isAlpha(name) {
			return p, fmt.Errorf("%w: parameter %d is not name=\"value\"", ErrMalformedSig, n+1)
		}
		if len(after) < 2 || after[0] != '"' {
			return p, fmt.Errorf("%w: %s is not a quoted string", ErrMalformedSig, name)
		}
		end := strings.IndexByte(after[1:], '"')
		if end < 0 {
			return p, fmt.Errorf("%w: %s is not terminated", ErrMalformedSig, name)
		}
		value := after[1 : 1+end]
		rest = after[2+end:]
		if value == "" || !plainValue(value) {
			return p, fmt.Errorf("%w: %s has an empty value or a forbidden character", ErrMalformedSig, name)
		}
		if seen[name] {
			return p, fmt.Errorf("%w: %s appears twice", ErrMalformedSig, name)
		}
		seen[name] = true
		switch name {
		case "keyId":
			p.keyID = value
		case "algorithm":
			// Verified as ed25519 whatever it says; only the names a
			// sender of this profile may use are let through.
			if value != "hs2019" && value != "ed25519" {
				return p, fmt.Errorf("%w: algorithm %q", ErrMalformedSig, value)
			}
			p.algorithm = value
		case "headers":
			p.headers = strings.Split(value, " ")
		case "signature":
			p.signature = value
		default:
			// created and expires included: this profile does not use
			// them, and an ignored parameter is room for a disagreement.
			return p, fmt.Errorf("%w: unknown parameter %q", ErrMalformedSig, name)
		}
		rest = strings.TrimLeft(rest, " \t")
		if rest == "" {
			break
		}
		if rest[0] != ',' {
			return p, fmt.Errorf("%w: junk after %s", ErrMalformedSig, name)
		}
		rest = strings.TrimLeft(rest[1:], " \t")
	}
	if p.keyID == "" || p.signature == "" {
		return p, fmt.Errorf("%w: keyId and signature are required", ErrMalformedSig)
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(p.signature)
	if err != nil || len(sig) != 64 {
		return p, fmt.Errorf("%w: signature is not 64 bytes of padded base64", ErrMalformedSig)
	}
	if err := checkHeaderList(p.headers); err != nil {
		return p, err
	}
	server, key, ok := strings.Cut(p.keyID, "#")
	if !ok || !globalid.ValidServer(server) || !validKeyID(key) {
		return p, fmt.Errorf("%w: %q", ErrBadKeyID, p.keyID)
	}
	p.server, p.key = server, key
	return p, nil
}

// checkHeaderList checks a headers parameter: lower-case header names or
// (request-target), each once, covering every header of the profile.
func checkHeaderList(list []string) error {
	if list == nil {
		// Absent, the draft's default is "date" alone.
		return fmt.Errorf("%w: no headers parameter", ErrHeadersUnsign)
	}
	have := make(map[string]bool, len(list))
	for _, h := range list {
		if h != httpsig.RequestTarget && !isHeaderName(h) {
			return fmt.Errorf("%w: %q in headers", ErrMalformedSig, h)
		}
		if have[h] {
			return fmt.Errorf("%w: %q twice in headers", ErrMalformedSig, h)
		}
		have[h] = true
	}
	for _, h := range signedHeaders {
		if !have[h] {
			return fmt.Errorf("%w: %s", ErrHeadersUnsign, h)
		}
	}
	return nil
}

func isAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// plainValue reports whether a parameter value is printable ASCII
// without the characters that would let it be read differently by
// another parser: quotes, backslashes (escapes) and commas.
func plainValue(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == ',' {
			return false
		}
	}
	return true
}

// isHeaderName reports a lower-case HTTP header name.
func isHeaderName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validKeyID reports a key ID of the form of spec §2.2, "ed25519:" and a
// short name; Hearth's own are 8 hex digits, other servers may choose
// other letters and digits.
func validKeyID(s string) bool {
	name, ok := strings.CutPrefix(s, "ed25519:")
	if !ok || name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

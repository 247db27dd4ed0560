package federation

import (
	"errors"
	"hearth/homeserver/globalid"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseSignature: any header either is refused with one of the
// parse's reasons or parses to parameters that survive the canonical form
// go-fed/httpsig is handed unchanged, so that the library cannot read
// them otherwise.
func FuzzParseSignature(f *testing.F) {
	sig := strings.Repeat("A", 86) + "=="
	for _, s := range []string{
		`keyId="a.example#ed25519:fff7b47d",algorithm="hs2019",headers="(request-target) host date digest",signature="` + sig + `"`,
		`keyId="a.example:8448#ed25519:1",headers="(request-target) host date digest content-type" , signature="` + sig + `"`,
		`xheaders="(request-target) host date digest",keyId="a.example#ed25519:1",headers="date",signature="` + sig + `"`,
		`keyId="[::1]:80#ed25519:1",headers="(request-target) host date digest",signature="` + sig + `",headers="date"`,
		`keyId="a.example#ed25519:1",headers="(request-target) host date digest",signature="` + sig + `",created=1`,
		`keyId="a\"b#ed25519:1"`, `=`, `,`, `keyId=""`, ``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseSignature(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedSig) && !errors.Is(err, ErrHeadersUnsign) && !errors.Is(err, ErrBadKeyID) {
				t.Fatalf("%q: an error without a reason: %v", s, err)
			}
			return
		}
		again, err := parseSignature(p.canonical())
		if err != nil {
			t.Fatalf("%q parsed, but its canonical form %q does not: %v", s, p.canonical(), err)
		}
		p.algorithm, again.algorithm = "", ""
		if !reflect.DeepEqual(p, again) {
			t.Fatalf("%q: %+v, canonical form read back as %+v", s, p, again)
		}
		if strings.Count(p.canonical(), ",") != 3 {
			t.Fatalf("canonical form %q has a comma inside a value", p.canonical())
		}
	})
}

func TestValidServerName(t *testing.T) {
	for name, want := range map[string]bool{
		"a.example": true, "a.example:8448": true, "127.0.0.1:39551": true, "[::1]:8448": true, "[2001:db8::1]": true,
		"chat-1.example.org": true, "localhost": true,
		"": false, "a.example/x": false, "x@a.example": false, "a.example:0": false, "a.example:65536": false,
		"a.example:08448": false, "-a.example": false, "a..example": false, "a.example.": false, "[::1": false,
		"[127.0.0.1]": false, "::1": false, "a example": false, "a.example:": false, "[fe80::1%eth0]": false,
		"A.example": false, "a.Example:8448": false, "a.example:443": false, "[::1]:443": false, "[2001:DB8::1]": false, "LOCALHOST": false,
		strings.Repeat("a", 256): false,
	} {
		if got := globalid.ValidServer(name); got != want {
			t.Errorf("globalid.ValidServer(%q) = %v, want %v", name, got, want)
		}
	}
}

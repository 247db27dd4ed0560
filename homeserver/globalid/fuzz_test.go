package globalid

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzValidServer: a name ValidServer admits is in its one canonical
// form: lower case, what a URL's host reads back as, and usable in a
// global ID that parses back to it.
func FuzzValidServer(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		if !ValidServer(s) {
			return
		}
		if s != strings.ToLower(s) || len(s) > 255 || strings.ContainsAny(s, " /?#@\\%") {
			t.Fatalf("ValidServer(%q) admits a name not in canonical form", s)
		}
		u, err := url.Parse("https://" + s + "/")
		if err != nil || u.Host != s {
			t.Fatalf("ValidServer(%q): as a URL host it reads %q (%v)", s, u.Host, err)
		}
		id, origin, ok := Parse("42@" + s)
		if !ok || id != "42" || origin != s {
			t.Fatalf("Parse(42@%s) = %q %q %v", s, id, origin, ok)
		}
	})
}

// FuzzParse: what Parse accepts is digits, "@", and a valid server name,
// and nothing else.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		id, origin, ok := Parse(s)
		if !ok {
			return
		}
		if id+"@"+origin != s || !ValidServer(origin) || id == "" || len(id) > 20 || strings.Trim(id, "0123456789") != "" {
			t.Fatalf("Parse(%q) = %q, %q", s, id, origin)
		}
	})
}

// FuzzMentions: the mentions of global IDs in a text are found
// consistently, and putting each back as it was leaves the text as it was.
func FuzzMentions(f *testing.F) {
	f.Fuzz(func(t *testing.T, content string) {
		found := MentionsIn(content)
		calls := 0
		out := Mentions(content, func(kind, global string) string {
			calls++
			if kind != "@" && kind != "@!" && kind != "@&" && kind != "#" {
				t.Fatalf("mention kind %q in %q", kind, content)
			}
			return "<" + kind + global + ">"
		})
		if out != content {
			t.Fatalf("Mentions with identity changed %q to %q", content, out)
		}
		if calls != len(found) {
			t.Fatalf("%q: Mentions saw %d mentions, MentionsIn %d", content, calls, len(found))
		}
	})
}

package federation_test

import (
	"fmt"
	"strings"
	"testing"

	st "hearth/server/servertest"
)

// TestGroupDMByHandles: a group DM made with "recipient_handles" names
// people of this server and of another without opening one-to-one DMs
// first; the remote member gets it and can write in it. Handles that are
// malformed, unknown or too many are refused, the last before any peer is
// asked.
func TestGroupDMByHandles(t *testing.T) {
	a := st.Start(t, st.Options{Backend: st.SQLite})
	b := st.Start(t, st.Options{Backend: st.SQLite})
	ann, amy, bob := register(t, a, "ann"), register(t, a, "amy"), register(t, b, "bob")
	gw := dialGateway(t, b, bob.tok)

	grp := ok(t, ann.do(t, "POST", "/api/v10/users/@me/channels", map[string]any{
		"recipient_handles": []string{"bob@" + b.ServerName(), "amy@" + a.ServerName(), "bob@" + b.ServerName()},
		"name":              "mixed",
	}), 200)
	if grp["type"] != float64(3) || grp["name"] != "mixed" {
		t.Fatalf("group = %v", grp)
	}
	var names []string
	for _, r := range grp["recipients"].([]any) {
		names = append(names, r.(map[string]any)["username"].(string))
	}
	if len(names) != 2 || !strings.Contains(strings.Join(names, ","), "bob") || !strings.Contains(strings.Join(names, ","), "amy") {
		t.Fatalf("recipients = %v", names)
	}
	// No one-to-one DMs were opened on the way.
	if chans := list(t, ann.do(t, "GET", "/api/v10/users/@me/channels", nil)); len(chans) != 1 {
		t.Fatalf("ann's DM channels = %v", chans)
	}
	gid := grp["id"].(string)
	ok(t, ann.do(t, "POST", "/api/v10/channels/"+gid+"/messages", map[string]any{"content": "hello mixed"}), 200)
	opened := gw.until(t, "CHANNEL_CREATE", func(d map[string]any) bool { return d["type"] == float64(3) && d["name"] == "mixed" })
	bGroup := opened["id"].(string)
	ok(t, bob.do(t, "POST", "/api/v10/channels/"+bGroup+"/messages", map[string]any{"content": "hi from b"}), 200)
	want := "hello mixed|hi from b"
	for _, v := range []struct {
		u  user
		ch string
	}{{ann, gid}, {amy, gid}, {bob, bGroup}} {
		eventually(t, "group on "+v.u.s.ServerName(), func() string {
			if got := strings.Join(v.u.contents(t, v.ch, 10), "|"); got != want {
				return fmt.Sprintf("got %q, want %q", got, want)
			}
			return ""
		})
	}

	// Handles with recipients by ID together.
	mixed := ok(t, ann.do(t, "POST", "/api/v10/users/@me/channels", map[string]any{
		"recipients": []string{amy.id}, "recipient_handles": []string{"bob@" + b.ServerName()},
	}), 200)
	if mixed["type"] != float64(3) || len(mixed["recipients"].([]any)) != 2 {
		t.Fatalf("ids and handles = %v", mixed)
	}

	st.Expect(t, ann.do(t, "POST", "/api/v10/users/@me/channels", map[string]any{"recipient_handles": []string{"no-server"}}), 400, st.Code(50035))
	st.Expect(t, ann.do(t, "POST", "/api/v10/users/@me/channels", map[string]any{"recipient_handles": "bob"}), 400, st.Code(50035))
	st.Expect(t, ann.do(t, "POST", "/api/v10/users/@me/channels", map[string]any{"recipient_handles": []string{"nobody@" + b.ServerName()}}), 404, st.Code(10013))
	st.Expect(t, ann.do(t, "POST", "/api/v10/users/@me/channels", map[string]any{"recipient_handles": []string{"nobody@" + a.ServerName()}}), 404, st.Code(10013))
	// Ten handles of a server that does not exist: refused by count, so
	// no lookup is tried (one would fail with an unreachable server instead).
	var many []string
	for i := range 10 {
		many = append(many, fmt.Sprintf("u%d@nowhere.invalid", i))
	}
	st.Expect(t, ann.do(t, "POST", "/api/v10/users/@me/channels", map[string]any{"recipient_handles": many}), 400, st.Code(50035))
}

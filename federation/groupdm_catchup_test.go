package federation_test

import (
	"fmt"
	"strings"
	"testing"

	st "hearth/server/servertest"
)

// TestGroupDMReplicaConverges: a group DM whose log is longer than one
// batch (500 events) when a member server first hears of it reaches that
// server in pages: the first opens the DM replica, the rest follow it,
// and the member's history ends up the origin's, in order, nothing twice,
// on both databases.
func TestGroupDMReplicaConverges(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		a := st.Start(t, st.Options{})
		b := st.Start(t, st.Options{Backend: backend})
		ann, amy, bob := register(t, a, "ann"), register(t, a, "amy"), register(t, b, "bob")
		// A one-to-one DM first, so that A knows bob without asking B.
		dm := ok(t, ann.do(t, "POST", "/api/v10/users/@me/channels", map[string]any{"recipient": "bob@" + b.ServerName()}), 200)
		bobOnA := dm["recipients"].([]any)[0].(map[string]any)["id"].(string)

		b.Stop()
		grp := ok(t, ann.do(t, "POST", "/api/v10/users/@me/channels", map[string]any{
			"recipients": []string{bobOnA, amy.id}, "name": "long"}), 200)
		gid := grp["id"].(string)
		const n = 620
		want := make([]string, 0, n)
		for i := range n {
			want = append(want, fmt.Sprintf("m%d", i))
			author := ann
			if i%2 == 1 {
				author = amy
			}
			ok(t, author.do(t, "POST", "/api/v10/channels/"+gid+"/messages", map[string]any{"content": want[i]}), 200)
		}
		if got := ann.history(t, gid); len(got) != n {
			t.Fatalf("A holds %d messages of the group, want %d", len(got), n)
		}

		b = b.Restart(t)
		bob.s = b
		bGroup := ""
		eventually(t, "B has the group DM", func() string {
			for _, c := range list(t, bob.do(t, "GET", "/api/v10/users/@me/channels", nil)) {
				if c["type"] == float64(3) && c["name"] == "long" {
					bGroup = c["id"].(string)
					return ""
				}
			}
			return "no group DM named long"
		})
		eventually(t, "B caught up with the group", func() string {
			got := bob.history(t, bGroup)
			if len(got) != n || strings.Join(got, ",") != strings.Join(want, ",") {
				return fmt.Sprintf("B has %d messages (want %d); first %v", len(got), n, got[:min(3, len(got))])
			}
			return ""
		})
		// Bob writes in it; the origin takes it after the whole log.
		ok(t, bob.do(t, "POST", "/api/v10/channels/"+bGroup+"/messages", map[string]any{"content": "caught up"}), 200)
		eventually(t, "A has bob's message last", func() string {
			if got := ann.contents(t, gid, 1); len(got) != 1 || got[0] != "caught up" {
				return fmt.Sprintf("A's newest is %v", got)
			}
			return ""
		})
	})
}

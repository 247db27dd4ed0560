package main

import (
	"fmt"
	"net/http"
	"testing"

	st "hearth/server/servertest"
)

// fullHistory is all of a channel's messages on a server as tok's holder
// reads them, oldest first, read in pages of 100.
func fullHistory(t *testing.T, s *st.Server, tok, channel string) []map[string]any {
	t.Helper()
	var all []map[string]any
	before := ""
	for {
		path := "/api/v10/channels/" + channel + "/messages?limit=100"
		if before != "" {
			path += "&before=" + before
		}
		page := st.List(t, s.Do(t, "GET", path, tok, nil))
		all = append(all, page...) // newest first; reversed below
		if len(page) < 100 {
			break
		}
		before = page[len(page)-1]["id"].(string)
	}
	for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
		all[i], all[j] = all[j], all[i]
	}
	return all
}

// TestBridgeCatchUpOlderEdits: while the bridge is down, alice edits and
// deletes messages on Discord older than the channel's newest 100 (within
// the reconcile window: the week before the bridge last saw the channel,
// at most 1,000 messages). On start the mirror has the edit and not the
// deleted message, and nothing else changed.
func TestBridgeCatchUpOlderEdits(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		// Written after the link, so that the link's own wait is short;
		// imported live.
		const n = 105
		e := linked(t, backend, 0)
		ids := make([]string, 0, n)
		for i := 1; i <= n; i++ {
			ids = append(ids, st.OK(t, e.d.Do(t, "POST", "/api/v10/channels/"+e.d.general+"/messages", e.d.alice,
				map[string]any{"content": fmt.Sprintf("early %d", i)}), http.StatusOK)["id"].(string))
		}
		st.WaitFor(t, "alice's messages on Hearth", 4*wait, func() string {
			if got := fullHistory(t, e.h, e.bob, e.mirror); len(got) < n {
				return fmt.Sprintf("%d messages", len(got))
			}
			return ""
		})

		e.br.stop()
		st.OK(t, e.d.Do(t, "PATCH", "/api/v10/channels/"+e.d.general+"/messages/"+ids[1], e.d.alice,
			map[string]any{"content": "early 2 (edited while away)"}), http.StatusOK)
		st.Expect(t, e.d.Do(t, "DELETE", "/api/v10/channels/"+e.d.general+"/messages/"+ids[2], e.d.alice, nil), http.StatusNoContent, nil)
		e.br = startBridge(t, e.flags, e.d)

		var got []string
		st.WaitFor(t, "the old edit and delete on Hearth", wait, func() string {
			got = contents(fullHistory(t, e.h, e.bob, e.mirror))
			if has("early 2 (edited while away)")(got) && hasNot("early 3")(got) && hasNot("early 2")(got) {
				return ""
			}
			return fmt.Sprintf("%d messages, the oldest %q", len(got), got[:min(4, len(got))])
		})
		if len(got) != n-1 || got[0] != "early 1" || got[len(got)-1] != fmt.Sprintf("early %d", n) {
			t.Fatalf("after the catch-up Hearth has %d messages, from %q to %q", len(got), got[0], got[len(got)-1])
		}
	})
}

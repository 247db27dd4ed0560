package main

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"testing"

	st "hearth/server/servertest"
)

// TestBridgeForeignWebhooks: messages a webhook that is not the bridge's
// posts on Discord (alice's, with an avatar) come to Hearth as one puppet
// per webhook and name: "Ann" twice is one author, "Ben" another, each
// named so and pictured with the webhook's avatar.
func TestBridgeForeignWebhooks(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		e := linked(t, backend, 0)
		img, _ := avatarPNG(t, 120)
		hook := st.OK(t, e.d.Do(t, "POST", "/api/v10/channels/"+e.d.general+"/webhooks", e.d.alice, map[string]any{"name": "feeds",
			"avatar": "data:image/png;base64," + base64.StdEncoding.EncodeToString(img)}), http.StatusOK)
		exec := "/api/v10/webhooks/" + hook["id"].(string) + "/" + hook["token"].(string) + "?wait=true"
		for _, m := range []struct{ name, content string }{{"Ann", "ann one"}, {"Ben", "ben one"}, {"Ann", "ann two"}} {
			st.OK(t, e.d.Do(t, "POST", exec, "", map[string]any{"username": m.name, "content": m.content}), http.StatusOK)
		}
		onHearth := waitContents(t, "the webhook's messages on Hearth", e.h, e.bob, e.mirror, has("ann one", "ben one", "ann two"))
		author := func(content string) map[string]any { return find(t, onHearth, content)["author"].(map[string]any) }
		ann1, ben, ann2 := author("ann one"), author("ben one"), author("ann two")
		if ann1["id"] != ann2["id"] || ann1["id"] == ben["id"] {
			t.Fatalf("authors: ann %v and %v, ben %v: want one puppet per name", ann1["id"], ann2["id"], ben["id"])
		}
		for _, a := range []struct {
			who  map[string]any
			name string
		}{{ann1, "Ann"}, {ben, "Ben"}} {
			if a.who["global_name"] != a.name {
				t.Fatalf("the puppet of %s is shown as %v", a.name, a.who["global_name"])
			}
			if av, _ := a.who["avatar"].(string); av == "" {
				t.Fatalf("the puppet of %s has no avatar: %v", a.name, a.who)
			}
		}

		// Names past the bound (50 per webhook) share one more puppet: a
		// webhook naming every post anew cannot add users without end.
		for i := range 48 {
			st.OK(t, e.d.Do(t, "POST", exec, "", map[string]any{"username": fmt.Sprintf("Feed %d", i), "content": fmt.Sprintf("feed %d", i)}), http.StatusOK)
		}
		for _, m := range []struct{ name, content string }{{"Over one", "over one"}, {"Over two", "over two"}} {
			st.OK(t, e.d.Do(t, "POST", exec, "", map[string]any{"username": m.name, "content": m.content}), http.StatusOK)
		}
		onHearth = waitContents(t, "the webhook's messages past the bound on Hearth", e.h, e.bob, e.mirror, has("feed 0", "feed 47", "over one", "over two"))
		over1, over2 := author("over one"), author("over two")
		feed := author("feed 47")
		if over1["id"] != over2["id"] || over1["id"] == feed["id"] || over1["id"] == ann1["id"] {
			t.Fatalf("authors past the bound: %v and %v (the 50th name's %v): want one shared puppet", over1["id"], over2["id"], feed["id"])
		}
	})
}

package gateway_test

import (
	"encoding/json"
	"testing"

	st "hearth/server/servertest"
)

// TestGroupDMRecipientEvents: as on Discord, the one added to a group DM
// gets CHANNEL_CREATE with the channel whole and the one removed gets
// CHANNEL_DELETE, while the others get CHANNEL_RECIPIENT_ADD and _REMOVE
// (a client ignores recipient events of a channel it does not hold, so
// the added one would otherwise never see the group live).
func TestGroupDMRecipientEvents(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		alice, bob, carol := s.Register(t, "alice", "correct horse"), s.Register(t, "bob", "correct horse"), s.Register(t, "carol", "correct horse")
		id := func(tok string) string { return do(t, s, "GET", "/api/v10/users/@me", tok, nil)["id"].(string) }
		bobID, carolID := id(bob), id(carol)
		group := do(t, s, "POST", "/api/v10/users/@me/channels", alice, map[string]any{"recipients": []string{carolID}, "name": "planning"})["id"].(string)

		bc := dial(t, s, "?v=10")
		identify(bc, bob, allIntents)
		cc := dial(t, s, "?v=10")
		identify(cc, carol, allIntents)

		do(t, s, "PUT", "/api/v10/channels/"+group+"/recipients/"+bobID, alice, nil)
		var created struct {
			ID         string `json:"id"`
			Type       int    `json:"type"`
			Name       string `json:"name"`
			Recipients []struct {
				ID string `json:"id"`
			} `json:"recipients"`
		}
		if p := bc.until("CHANNEL_CREATE"); json.Unmarshal(p.D, &created) != nil || created.ID != group || created.Type != 3 ||
			created.Name != "planning" || len(created.Recipients) != 2 {
			t.Fatalf("the added one's CHANNEL_CREATE: %s", p.D)
		}
		var add struct {
			ChannelID string `json:"channel_id"`
			User      struct {
				ID string `json:"id"`
			} `json:"user"`
		}
		if p := cc.until("CHANNEL_RECIPIENT_ADD"); json.Unmarshal(p.D, &add) != nil || add.ChannelID != group || add.User.ID != bobID {
			t.Fatalf("the others' CHANNEL_RECIPIENT_ADD: %s", p.D)
		}
		// The added one hears the group's messages from here.
		do(t, s, "POST", "/api/v10/channels/"+group+"/messages", carol, map[string]any{"content": "welcome bob"})
		bc.until("MESSAGE_CREATE")

		do(t, s, "DELETE", "/api/v10/channels/"+group+"/recipients/"+bobID, alice, nil)
		var deleted struct {
			ID string `json:"id"`
		}
		if p := bc.until("CHANNEL_DELETE"); json.Unmarshal(p.D, &deleted) != nil || deleted.ID != group {
			t.Fatalf("the removed one's CHANNEL_DELETE: %s", p.D)
		}
		if p := cc.until("CHANNEL_RECIPIENT_REMOVE"); json.Unmarshal(p.D, &add) != nil || add.ChannelID != group || add.User.ID != bobID {
			t.Fatalf("the others' CHANNEL_RECIPIENT_REMOVE: %s", p.D)
		}
		// And no more of it: the next dispatch bob's session gets is of
		// a DM of his own.
		do(t, s, "POST", "/api/v10/channels/"+group+"/messages", carol, map[string]any{"content": "bye bob"})
		dm := do(t, s, "POST", "/api/v10/users/@me/channels", carol, map[string]any{"recipient_id": bobID})["id"].(string)
		do(t, s, "POST", "/api/v10/channels/"+dm+"/messages", carol, map[string]any{"content": "just us"})
		var msg struct {
			ChannelID string `json:"channel_id"`
			Content   string `json:"content"`
		}
		if p := bc.until("MESSAGE_CREATE"); json.Unmarshal(p.D, &msg) != nil || msg.ChannelID != dm {
			t.Fatalf("bob, removed, got %s", p.D)
		}
	})
}

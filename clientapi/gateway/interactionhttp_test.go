package gateway_test

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	st "hearth/server/servertest"
)

// endpoint is an application's interactions endpoint written as Discord's
// documentation says to write one: it checks the signature (401 when it
// does not verify), answers PING with PONG and commands with a message.
func endpoint(t *testing.T, verifyKey string, checks bool, seen *atomic.Int32) *httptest.Server {
	key, err := hex.DecodeString(verifyKey)
	if err != nil || len(key) != ed25519.PublicKeySize {
		t.Fatalf("verify_key %q", verifyKey)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sig, _ := hex.DecodeString(r.Header.Get("X-Signature-Ed25519"))
		ts := r.Header.Get("X-Signature-Timestamp")
		if checks && !ed25519.Verify(ed25519.PublicKey(key), append([]byte(ts), body...), sig) {
			http.Error(w, "invalid request signature", http.StatusUnauthorized)
			return
		}
		var in struct {
			Type int `json:"type"`
			Data struct {
				Name string `json:"name"`
			} `json:"data"`
			Token  string `json:"token"`
			Member struct {
				User struct {
					Username string `json:"username"`
				} `json:"user"`
			} `json:"member"`
		}
		_ = json.Unmarshal(body, &in)
		w.Header().Set("Content-Type", "application/json")
		switch in.Type {
		case 1:
			_, _ = w.Write([]byte(`{"type":1}`))
		case 2:
			seen.Add(1)
			_ = json.NewEncoder(w).Encode(map[string]any{"type": 4, "data": map[string]any{
				"content": "from http: " + in.Data.Name + " for " + in.Member.User.Username}})
		default:
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestHTTPInteractions: an application with an interactions endpoint URL
// gets its interactions as signed HTTP POSTs and answers in the POST's
// answer; setting the URL runs Discord's handshake, which an endpoint
// that does not check signatures fails.
func TestHTTPInteractions(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		s := st.Start(t, st.Options{Backend: backend})
		ownerTok := s.Register(t, "owner", "correct horse")
		gid, general := newGuild(t, s, ownerTok, "HTTP bots")
		botTok := newBot(t, s, ownerTok, "webbot", gid)
		appID := do(t, s, "GET", "/api/v10/users/@me", "Bot "+botTok, nil)["id"].(string)
		app := do(t, s, "GET", "/api/v10/applications/"+appID, ownerTok, nil)
		if app["interactions_endpoint_url"] != nil {
			t.Fatalf("a new application has an endpoint: %v", app)
		}
		var seen atomic.Int32
		good := endpoint(t, app["verify_key"].(string), true, &seen)
		careless := endpoint(t, app["verify_key"].(string), false, &seen)

		st.Expect(t, s.Do(t, "PATCH", "/api/v10/applications/"+appID, ownerTok, map[string]any{"interactions_endpoint_url": careless.URL}), 400, st.Code(50035))
		st.Expect(t, s.Do(t, "PATCH", "/api/v10/applications/"+appID, ownerTok, map[string]any{"interactions_endpoint_url": "ftp://x"}), 400, st.Code(50035))
		set := do(t, s, "PATCH", "/api/v10/applications/@me", "Bot "+botTok, map[string]any{"interactions_endpoint_url": good.URL})
		if set["interactions_endpoint_url"] != good.URL || set["verify_key"] != app["verify_key"] {
			t.Fatalf("after setting the endpoint: %v", set)
		}

		cmds := listOf(t, s, "/api/v10/applications/"+appID+"/commands", "Bot "+botTok)
		if len(cmds) != 0 {
			t.Fatalf("commands: %v", cmds)
		}
		put := s.Do(t, "PUT", "/api/v10/applications/"+appID+"/commands", "Bot "+botTok, []any{map[string]any{"name": "hello", "description": "hi"}})
		if put.Status != 200 {
			t.Fatalf("register: %d %s", put.Status, put.Body)
		}
		var registered []map[string]any
		_ = json.Unmarshal(put.Body, &registered)

		p := newPerson(t, s, ownerTok)
		r := p.interact(map[string]any{"type": 2, "application_id": appID, "guild_id": gid, "channel_id": general,
			"data": map[string]any{"id": registered[0]["id"], "name": "hello", "type": 1}})
		if r.Status != 204 {
			t.Fatalf("interaction: %d %s", r.Status, r.Body)
		}
		p.next("MESSAGE_CREATE", hasContent("from http: hello for owner"))
		p.next("INTERACTION_SUCCESS", nil)
		if seen.Load() != 1 {
			t.Fatalf("the endpoint saw %d commands", seen.Load())
		}

		cleared := do(t, s, "PATCH", "/api/v10/applications/"+appID, ownerTok, map[string]any{"interactions_endpoint_url": nil})
		if cleared["interactions_endpoint_url"] != nil {
			t.Fatalf("after clearing: %v", cleared)
		}
	})
}

package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	st "hearth/server/servertest"
)

// TestAdminDeactivate: the operator deactivates an account from the command
// line while the server runs: the running server closes its gateway with
// 4004 and refuses its token, it cannot sign in, and it shows as deleted.
func TestAdminDeactivate(t *testing.T) {
	dir := t.TempDir()
	admin := func(stdin string, args ...string) (string, error) {
		var out, errs strings.Builder
		err := run(context.Background(), append([]string{"admin", "--data", dir}, args...),
			func(string) string { return "" }, strings.NewReader(stdin), &out, &errs)
		return out.String(), err
	}
	if _, err := admin("correct horse\n", "create-user", "root"); err != nil {
		t.Fatal(err)
	}
	s := st.Start(t, st.Options{DataDir: dir})
	dave := s.Register(t, "dave", "correct horse")
	root := st.OK(t, s.Do(t, "POST", "/api/v10/auth/login", "", map[string]string{"login": "root", "password": "correct horse"}), 200)["token"].(string)
	daveID := st.OK(t, s.Do(t, "GET", "/api/v10/users/@me", dave, nil), 200)["id"].(string)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, strings.Replace(s.URL(), "http", "ws", 1)+"/gateway?v=10&encoding=json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	read := func() (map[string]any, error) {
		_, b, err := c.Read(ctx)
		if err != nil {
			return nil, err
		}
		var p map[string]any
		return p, json.Unmarshal(b, &p)
	}
	if _, err := read(); err != nil { // HELLO
		t.Fatal(err)
	}
	id, _ := json.Marshal(map[string]any{"op": 2, "d": map[string]any{"token": dave, "intents": 513, "properties": map[string]string{"os": "linux"}}})
	if err := c.Write(ctx, websocket.MessageText, id); err != nil {
		t.Fatal(err)
	}
	if p, err := read(); err != nil || p["t"] != "READY" {
		t.Fatalf("after IDENTIFY: %v %v", p, err)
	}

	if _, err := admin("", "deactivate", "nobody"); err == nil {
		t.Fatal("deactivated an account that does not exist")
	}
	if out, err := admin("", "deactivate", "dave"); err != nil || !strings.Contains(out, "deactivated") {
		t.Fatalf("admin deactivate dave: %q %v", out, err)
	}
	for {
		_, err := read()
		if err == nil {
			continue
		}
		if code := websocket.CloseStatus(err); code != 4004 {
			t.Fatalf("dave's gateway ended with %v (%d), want 4004", err, code)
		}
		break
	}
	st.Expect(t, s.Do(t, "GET", "/api/v10/users/@me", dave, nil), 401, st.Code(0))
	st.Expect(t, s.Do(t, "POST", "/api/v10/auth/login", "", map[string]string{"login": "dave", "password": "correct horse"}), 400, st.Code(50035))
	st.WaitFor(t, "dave shown as deleted", 30*time.Second, func() string {
		if u := st.OK(t, s.Do(t, "GET", "/api/v10/users/"+daveID, root, nil), 200); u["global_name"] != "Deleted User" {
			return "dave is " + u["username"].(string)
		}
		return ""
	})
}

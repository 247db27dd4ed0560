package clientapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"testing"
	"time"

	st "hearth/server/servertest"
)

// The fuzz targets here send outside bytes through a real homeserver on a
// loopback port: whatever arrives, the answer is below 500 and, when it
// is an error, Discord's JSON shape. Each fuzzing worker starts its own
// server (the code before f.Fuzz runs once per worker). The server
// federates only with allowed servers, of which it has none, so that no
// input makes it call out to a host the fuzzer made up.

// fuzzFixture is a server with an account, a guild, its text channel and
// a message in it.
type fuzzFixture struct {
	s                       *st.Server
	tok, user               string
	guild, channel, message string
	webhook                 string // its execute path
	client                  *http.Client
}

func newFuzzFixture(f *testing.F) *fuzzFixture {
	f.Helper()
	s := st.Start(f, st.Options{FederationAllowList: true})
	x := &fuzzFixture{s: s, client: &http.Client{Timeout: 60 * time.Second}}
	x.tok = s.Register(f, "fuzzer", "correct horse")
	x.user = st.OK(f, s.Do(f, "GET", "/api/v10/users/@me", x.tok, nil), 200)["id"].(string)
	x.guild = st.OK(f, s.Do(f, "POST", "/api/v10/guilds", x.tok, map[string]any{"name": "Fuzz"}), 201)["id"].(string)
	for _, c := range st.List(f, s.Do(f, "GET", "/api/v10/guilds/"+x.guild+"/channels", x.tok, nil)) {
		if c["type"] == float64(0) {
			x.channel = c["id"].(string)
		}
	}
	x.message = st.OK(f, s.Do(f, "POST", "/api/v10/channels/"+x.channel+"/messages", x.tok, map[string]any{"content": "seed"}), 200)["id"].(string)
	hook := st.OK(f, s.Do(f, "POST", "/api/v10/channels/"+x.channel+"/webhooks", x.tok, map[string]any{"name": "fuzz"}), 200)
	x.webhook = "/api/v10/webhooks/" + hook["id"].(string) + "/" + hook["token"].(string)
	return x
}

// do sends a request and checks the answer's shape; it returns the status
// and body.
func (x *fuzzFixture) do(t *testing.T, method, path, ctype string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, x.s.URL()+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil // a path Go itself refuses never reaches the server
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Authorization", x.tok)
	res, err := x.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 500 {
		t.Fatalf("%s %s answered %d: %s\nbody sent: %q", method, path, res.StatusCode, b, body)
	}
	if res.StatusCode >= 400 && res.StatusCode != http.StatusMethodNotAllowed {
		var e struct {
			Code    *int    `json:"code"`
			Message *string `json:"message"`
		}
		if err := json.Unmarshal(b, &e); err != nil || e.Code == nil || e.Message == nil {
			t.Fatalf("%s %s answered %d without a Discord error: %s", method, path, res.StatusCode, b)
		}
	}
	return res.StatusCode, b
}

// FuzzRESTJSON sends fuzzed JSON bodies to the routes that read one.
func FuzzRESTJSON(f *testing.F) {
	x := newFuzzFixture(f)
	routes := []struct{ method, path string }{
		{"POST", "/api/v10/auth/register"},
		{"POST", "/api/v10/auth/login"},
		{"POST", "/api/v10/guilds"},
		{"PATCH", "/api/v10/guilds/" + x.guild},
		{"POST", "/api/v10/guilds/" + x.guild + "/channels"},
		{"PATCH", "/api/v10/channels/" + x.channel},
		{"POST", "/api/v10/channels/" + x.channel + "/messages"},
		{"PATCH", "/api/v10/channels/" + x.channel + "/messages/" + x.message},
		{"POST", "/api/v10/channels/" + x.channel + "/invites"},
		{"POST", "/api/v10/guilds/" + x.guild + "/roles"},
		{"POST", "/api/v10/users/@me/relationships"},
		{"POST", "/api/v10/users/@me/channels"},
		{"POST", "/api/v10/guilds/" + x.guild + "/emojis"},
		{"POST", "/api/v10/applications"},
		{"POST", "/api/v10/channels/" + x.channel + "/webhooks"},
		{"PATCH", "/api/v10/guilds/" + x.guild + "/members/@me"},
		{"POST", "/api/v10/channels/" + x.channel + "/threads"},
		{"POST", "/api/v10/channels/" + x.channel + "/messages/bulk-delete"},
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r := routes[int(route)%len(routes)]
		x.do(t, r.method, r.path, "application/json", body)
	})
}

// FuzzRESTMultipart sends a message with a fuzzed payload_json and file
// (name, declared type, bytes); a message accepted serves the file back
// byte for byte.
func FuzzRESTMultipart(f *testing.F) {
	x := newFuzzFixture(f)
	f.Fuzz(func(t *testing.T, payload, name, ctype string, file []byte) {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		if payload != "" {
			fw, _ := w.CreateFormField("payload_json")
			_, _ = fw.Write([]byte(payload))
		}
		h := make(textproto.MIMEHeader)
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="files[0]"; filename=%q`, name))
		if ctype != "" {
			h.Set("Content-Type", ctype)
		}
		fw, err := w.CreatePart(h)
		if err != nil {
			return
		}
		_, _ = fw.Write(file)
		w.Close()
		status, body := x.do(t, "POST", "/api/v10/channels/"+x.channel+"/messages", w.FormDataContentType(), buf.Bytes())
		if status != 200 {
			return
		}
		var m struct {
			Attachments []struct {
				URL  string `json:"url"`
				Size int    `json:"size"`
			} `json:"attachments"`
		}
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("message: %v: %s", err, body)
		}
		if len(m.Attachments) != 1 {
			t.Fatalf("message with one file has %d attachments: %s", len(m.Attachments), body)
		}
		u, err := url.Parse(m.Attachments[0].URL)
		if err != nil {
			t.Fatalf("attachment URL %q: %v", m.Attachments[0].URL, err)
		}
		res, err := x.client.Get(x.s.URL() + u.RequestURI())
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !bytes.Equal(got, file) || m.Attachments[0].Size != len(file) {
			t.Fatalf("attachment %s: status %d, %d bytes back (size %d) of %d sent", u, res.StatusCode, len(got), m.Attachments[0].Size, len(file))
		}
	})
}

// FuzzRESTMultipartRaw sends fuzzed bytes as a multipart body with a fixed
// boundary (broken parts, headers and encodings) to the routes that read
// multipart: message sends, webhook executions and interactions.
func FuzzRESTMultipartRaw(f *testing.F) {
	x := newFuzzFixture(f)
	const ctype = "multipart/form-data; boundary=hearthfuzz"
	f.Fuzz(func(t *testing.T, body []byte) {
		x.do(t, "POST", "/api/v10/channels/"+x.channel+"/messages", ctype, body)
		x.do(t, "POST", x.webhook+"?wait=true", ctype, body)
		x.do(t, "POST", "/api/v10/interactions", ctype, body)
	})
}

// FuzzAddresses sends fuzzed `code@server` and `name@server` addresses
// where the API takes them: invites (preview and join), friend requests
// and DMs by handle.
func FuzzAddresses(f *testing.F) {
	x := newFuzzFixture(f)
	f.Fuzz(func(t *testing.T, addr string) {
		esc := url.PathEscape(addr)
		x.do(t, "GET", "/api/v10/invites/"+esc, "", nil)
		x.do(t, "POST", "/api/v10/invites/"+esc, "application/json", []byte("{}"))
		b, _ := json.Marshal(map[string]string{"username": addr})
		x.do(t, "POST", "/api/v10/users/@me/relationships", "application/json", b)
		b, _ = json.Marshal(map[string]string{"recipient": addr})
		x.do(t, "POST", "/api/v10/users/@me/channels", "application/json", b)
		b, _ = json.Marshal(map[string][]string{"recipient_handles": {addr, addr + "x"}})
		x.do(t, "POST", "/api/v10/users/@me/channels", "application/json", b)
	})
}

// FuzzMessageContent sends fuzzed message text (mentions, custom emoji,
// markup); what is accepted reads back as the answer said.
func FuzzMessageContent(f *testing.F) {
	x := newFuzzFixture(f)
	f.Fuzz(func(t *testing.T, content string) {
		b, _ := json.Marshal(map[string]any{"content": content})
		status, body := x.do(t, "POST", "/api/v10/channels/"+x.channel+"/messages", "application/json", b)
		if status != 200 {
			return
		}
		var sent map[string]any
		if err := json.Unmarshal(body, &sent); err != nil {
			t.Fatal(err)
		}
		_, got := x.do(t, "GET", "/api/v10/channels/"+x.channel+"/messages/"+sent["id"].(string), "", nil)
		var read map[string]any
		if err := json.Unmarshal(got, &read); err != nil {
			t.Fatal(err)
		}
		if read["content"] != sent["content"] {
			t.Fatalf("content %q answered, %q read back (sent %q)", sent["content"], read["content"], content)
		}
	})
}

// FuzzReactionEmoji reacts with fuzzed emoji (unicode, name:id, junk); a
// reaction accepted is listed and can be taken back.
func FuzzReactionEmoji(f *testing.F) {
	x := newFuzzFixture(f)
	f.Fuzz(func(t *testing.T, emoji string) {
		path := "/api/v10/channels/" + x.channel + "/messages/" + x.message + "/reactions/" + url.PathEscape(emoji)
		status, _ := x.do(t, "PUT", path+"/@me", "", nil)
		if status != http.StatusNoContent {
			return
		}
		status, body := x.do(t, "GET", path, "", nil)
		if status != 200 || !strings.Contains(string(body), x.user) {
			t.Fatalf("reaction %q accepted but listed as %d %s", emoji, status, body)
		}
		if status, _ := x.do(t, "DELETE", path+"/@me", "", nil); status != http.StatusNoContent {
			t.Fatalf("reaction %q accepted but not removed: %d", emoji, status)
		}
	})
}

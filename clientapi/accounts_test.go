package clientapi_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	st "hearth/server/servertest"
)

func TestRegisterLoginProfile(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		tok := s.Register(t, "Alice", "correct horse")

		// Every prefix and every API base reaches the same account.
		for _, base := range []string{"/api", "/api/v9", "/api/v10"} {
			for _, auth := range []string{tok, "Bot " + tok, "Bearer " + tok} {
				r := s.Do(t, "GET", base+"/users/@me", auth, nil)
				st.Expect(t, r, 200, nil)
				me := r.JSON(t)
				if me["username"] != "Alice" || me["discriminator"] != "0" || me["global_name"] != nil {
					t.Fatalf("%s with %q: %s", base, auth[:4], r.Body)
				}
			}
		}
		me := s.Do(t, "GET", "/api/v10/users/@me", tok, nil).JSON(t)
		id, _ := me["id"].(string)
		if id == "" || me["verified"] != true || me["mfa_enabled"] != false {
			t.Fatalf("@me = %v", me)
		}

		// Login is case-insensitive on the name and answers Discord's shape.
		r := s.Do(t, "POST", "/api/v10/auth/login", "", map[string]string{"login": "alice", "password": "correct horse"})
		st.Expect(t, r, 200, nil)
		login := r.JSON(t)
		tok2, _ := login["token"].(string)
		if tok2 == "" || tok2 == tok || login["user_id"] != id {
			t.Fatalf("login = %s", r.Body)
		}

		// Profile edits, and null clearing them again.
		r = s.Do(t, "PATCH", "/api/v10/users/@me", tok2, map[string]any{"global_name": "Alice A.", "bio": "hi there", "accent_color": 0x5865F2})
		st.Expect(t, r, 200, nil)
		if m := r.JSON(t); m["global_name"] != "Alice A." || m["bio"] != "hi there" || m["accent_color"] != float64(0x5865F2) {
			t.Fatalf("patch = %s", r.Body)
		}
		pub := s.Do(t, "GET", "/api/v10/users/"+id, tok, nil)
		st.Expect(t, pub, 200, nil)
		pm := pub.JSON(t)
		if pm["global_name"] != "Alice A." || pm["id"] != id {
			t.Fatalf("public user = %s", pub.Body)
		}
		for _, private := range []string{"email", "bio", "mfa_enabled", "locale", "token"} {
			if _, ok := pm[private]; ok {
				t.Fatalf("public user shows %q: %s", private, pub.Body)
			}
		}
		r = s.Do(t, "PATCH", "/api/v10/users/@me", tok, map[string]any{"global_name": nil, "accent_color": nil})
		st.Expect(t, r, 200, nil)
		if m := r.JSON(t); m["global_name"] != nil || m["accent_color"] != nil || m["bio"] != "hi there" {
			t.Fatalf("patch null = %s", r.Body)
		}

		// A new name needs the password.
		r = s.Do(t, "PATCH", "/api/v10/users/@me", tok, map[string]any{"username": "alice2"})
		st.Expect(t, r, 400, st.Code(50035))
		if !bytes.Contains(r.Body, []byte("PASSWORD_DOES_NOT_MATCH")) {
			t.Fatalf("rename without password: %s", r.Body)
		}
		r = s.Do(t, "PATCH", "/api/v10/users/@me", tok, map[string]any{"username": "alice2", "password": "correct horse"})
		st.Expect(t, r, 200, nil)
		if r.JSON(t)["username"] != "alice2" {
			t.Fatalf("rename: %s", r.Body)
		}
		s.Register(t, "bob", "correct horse")
		r = s.Do(t, "PATCH", "/api/v10/users/@me", tok, map[string]any{"username": "BOB", "password": "correct horse"})
		st.Expect(t, r, 400, st.Code(50035))
		if !bytes.Contains(r.Body, []byte("USERNAME_ALREADY_TAKEN")) {
			t.Fatalf("rename to taken name: %s", r.Body)
		}
	})
}

func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		tok := s.Register(t, "carol", "first password")
		other := s.Do(t, "POST", "/api/v10/auth/login", "", map[string]string{"login": "carol", "password": "first password"}).JSON(t)["token"].(string)

		r := s.Do(t, "PATCH", "/api/v10/users/@me", tok, map[string]any{"password": "wrong password", "new_password": "second password"})
		st.Expect(t, r, 400, st.Code(50035))
		st.Expect(t, s.Do(t, "GET", "/api/v10/users/@me", other, nil), 200, nil)

		r = s.Do(t, "PATCH", "/api/v10/users/@me", tok, map[string]any{"password": "first password", "new_password": "second password"})
		st.Expect(t, r, 200, nil)
		if r.JSON(t)["token"] != tok {
			t.Fatalf("password change should answer the token to keep: %s", r.Body)
		}
		st.Expect(t, s.Do(t, "GET", "/api/v10/users/@me", other, nil), 401, st.Code(0))
		st.Expect(t, s.Do(t, "GET", "/api/v10/users/@me", tok, nil), 200, nil)
		st.Expect(t, s.Do(t, "POST", "/api/v10/auth/login", "", map[string]string{"login": "carol", "password": "first password"}), 400, st.Code(50035))
		st.Expect(t, s.Do(t, "POST", "/api/v10/auth/login", "", map[string]string{"login": "carol", "password": "second password"}), 200, nil)

		// Logging out ends that token only.
		st.Expect(t, s.Do(t, "POST", "/api/v10/auth/logout", tok, nil), 204, nil)
		st.Expect(t, s.Do(t, "GET", "/api/v10/users/@me", tok, nil), 401, st.Code(0))
	})
}

func pngDataURI(t *testing.T) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 16, 16))); err != nil {
		t.Fatal(err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), buf.Bytes()
}

func TestAvatar(t *testing.T) {
	s := st.Start(t, st.Options{})
	tok := s.Register(t, "dave", "correct horse")
	uri, raw := pngDataURI(t)
	r := s.Do(t, "PATCH", "/api/v10/users/@me", tok, map[string]any{"avatar": uri})
	st.Expect(t, r, 200, nil)
	me := r.JSON(t)
	hash, _ := me["avatar"].(string)
	if len(hash) != 64 {
		t.Fatalf("avatar hash %q", hash)
	}
	res := s.Do(t, "GET", fmt.Sprintf("/avatars/%s/%s.png", me["id"], hash), "", nil)
	st.Expect(t, res, 200, nil)
	if !bytes.Equal(res.Body, raw) || res.Header.Get("Content-Type") != "image/png" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("avatar served as %v, %d bytes", res.Header, len(res.Body))
	}
	// Not an image, however it is labelled.
	for _, bad := range []string{
		"data:image/png;base64," + base64.StdEncoding.EncodeToString([]byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)),
		"data:image/png;base64,%%%%",
		"https://example.com/cat.png",
	} {
		r := s.Do(t, "PATCH", "/api/v10/users/@me", tok, map[string]any{"avatar": bad})
		st.Expect(t, r, 400, st.Code(50035))
		if !bytes.Contains(r.Body, []byte("AVATAR_INVALID")) {
			t.Fatalf("bad avatar: %s", r.Body)
		}
	}
	// Unknown and stale avatars are 404s, and paths cannot escape.
	st.Expect(t, s.Do(t, "GET", fmt.Sprintf("/avatars/%s/%s.png", me["id"], strings.Repeat("0", 64)), "", nil), 404, st.Code(0))
	st.Expect(t, s.Do(t, "GET", "/avatars/1/..%2F..%2Fetc%2Fpasswd", "", nil), 404, st.Code(0))
	r = s.Do(t, "PATCH", "/api/v10/users/@me", tok, map[string]any{"avatar": nil})
	st.Expect(t, r, 200, nil)
	st.Expect(t, s.Do(t, "GET", fmt.Sprintf("/avatars/%s/%s.png", me["id"], hash), "", nil), 404, st.Code(0))
}

// TestBadInput: each mistake gets Discord's error and status, never a 500.
func TestBadInput(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		tok := s.Register(t, "erin", "correct horse")
		huge := strings.Repeat("a", 10<<20)
		cases := []struct {
			name         string
			method, path string
			token        string
			body         any
			status       int
			code         int
			field        string // a field code that must appear in "errors"
		}{
			{"malformed JSON", "POST", "/api/v10/auth/register", "", []byte(`{"username": "x",`), 400, 50109, ""},
			{"array body", "POST", "/api/v10/auth/register", "", []byte(`["a"]`), 400, 50109, ""},
			{"wrong type", "POST", "/api/v10/auth/register", "", map[string]any{"username": 12, "password": "correct horse"}, 400, 50035, "BASE_TYPE_STRING"},
			{"missing fields", "POST", "/api/v10/auth/register", "", map[string]any{}, 400, 50035, "BASE_TYPE_REQUIRED"},
			{"null field", "POST", "/api/v10/auth/register", "", map[string]any{"username": nil, "password": "correct horse"}, 400, 50035, "BASE_TYPE_REQUIRED"},
			{"short username", "POST", "/api/v10/auth/register", "", map[string]any{"username": "a", "password": "correct horse"}, 400, 50035, "BASE_TYPE_BAD_LENGTH"},
			{"long username", "POST", "/api/v10/auth/register", "", map[string]any{"username": strings.Repeat("a", 33), "password": "correct horse"}, 400, 50035, "BASE_TYPE_BAD_LENGTH"},
			{"username characters", "POST", "/api/v10/auth/register", "", map[string]any{"username": "bad name!", "password": "correct horse"}, 400, 50035, "USERNAME_INVALID_CHARACTERS"},
			{"username with server", "POST", "/api/v10/auth/register", "", map[string]any{"username": "a@b", "password": "correct horse"}, 400, 50035, "USERNAME_INVALID_CHARACTERS"},
			{"reserved username", "POST", "/api/v10/auth/register", "", map[string]any{"username": "Everyone", "password": "correct horse"}, 400, 50035, "USERNAME_INVALID_CONTAINS"},
			{"short password", "POST", "/api/v10/auth/register", "", map[string]any{"username": "frank", "password": "short"}, 400, 50035, "BASE_TYPE_BAD_LENGTH"},
			{"duplicate username", "POST", "/api/v10/auth/register", "", map[string]any{"username": "ERIN", "password": "correct horse"}, 400, 50035, "USERNAME_ALREADY_TAKEN"},
			{"10 MB username", "POST", "/api/v10/auth/register", "", map[string]any{"username": huge, "password": "correct horse"}, 413, 40005, ""},
			{"wrong password", "POST", "/api/v10/auth/login", "", map[string]any{"login": "erin", "password": "wrong horse"}, 400, 50035, "INVALID_LOGIN"},
			{"unknown login", "POST", "/api/v10/auth/login", "", map[string]any{"login": "nobody", "password": "correct horse"}, 400, 50035, "INVALID_LOGIN"},
			{"huge login", "POST", "/api/v10/auth/login", "", map[string]any{"login": strings.Repeat("x", 5000), "password": "correct horse"}, 400, 50035, "INVALID_LOGIN"},
			{"no token", "GET", "/api/v10/users/@me", "", nil, 401, 0, ""},
			{"forged token", "GET", "/api/v10/users/@me", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIiwic2lkIjoiMSJ9.c2lnbmF0dXJl", nil, 401, 0, ""},
			{"garbage token", "GET", "/api/v10/users/@me", "Bot not-a-token!!", nil, 401, 0, ""},
			{"tampered token", "GET", "/api/v10/users/@me", tok[:len(tok)-2] + "xx", nil, 401, 0, ""},
			{"alg none token", "GET", "/api/v10/users/@me", "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxIiwic2lkIjoiMSJ9.", nil, 401, 0, ""},
			{"unknown user", "GET", "/api/v10/users/1234567890123", tok, nil, 404, 10013, ""},
			{"not a snowflake", "GET", "/api/v10/users/abc", tok, nil, 400, 50035, "NUMBER_TYPE_COERCE"},
			{"unknown route", "GET", "/api/v10/nothing/here", tok, nil, 404, 0, ""},
			{"wrong method", "DELETE", "/api/v10/users/@me", tok, nil, 405, 0, ""},
			{"old API version", "GET", "/api/v6/users/@me", tok, nil, 400, 50041, ""},
			{"patch wrong type", "PATCH", "/api/v10/users/@me", tok, map[string]any{"accent_color": "blue"}, 400, 50035, "NUMBER_TYPE_COERCE"},
			{"patch color range", "PATCH", "/api/v10/users/@me", tok, map[string]any{"accent_color": 1 << 25}, 400, 50035, "NUMBER_TYPE_MAX"},
			{"patch long bio", "PATCH", "/api/v10/users/@me", tok, map[string]any{"bio": strings.Repeat("b", 191)}, 400, 50035, "BASE_TYPE_MAX_LENGTH"},
			{"patch empty global name", "PATCH", "/api/v10/users/@me", tok, map[string]any{"global_name": ""}, 400, 50035, "BASE_TYPE_BAD_LENGTH"},
			{"patch short new password", "PATCH", "/api/v10/users/@me", tok, map[string]any{"password": "correct horse", "new_password": "x"}, 400, 50035, "BASE_TYPE_BAD_LENGTH"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := s.Do(t, c.method, c.path, c.token, c.body)
				st.Expect(t, r, c.status, st.Code(c.code))
				if c.field != "" && !bytes.Contains(r.Body, []byte(`"code":"`+c.field+`"`)) {
					t.Fatalf("errors do not name %s: %s", c.field, r.Body)
				}
				if r.Header.Get("Content-Type") == "" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
					t.Fatalf("error is not JSON: %q", r.Header.Get("Content-Type"))
				}
			})
		}
		// Nothing above changed the account.
		st.Expect(t, s.Do(t, "POST", "/api/v10/auth/login", "", map[string]string{"login": "erin", "password": "correct horse"}), 200, nil)
	})
}

func TestFieldErrorsAreNested(t *testing.T) {
	s := st.Start(t, st.Options{})
	r := s.Do(t, "POST", "/api/v10/auth/register", "", map[string]any{"username": 5})
	st.Expect(t, r, 400, st.Code(50035))
	m := r.JSON(t)
	errs, _ := m["errors"].(map[string]any)
	u, _ := errs["username"].(map[string]any)
	list, _ := u["_errors"].([]any)
	if m["message"] != "Invalid Form Body" || len(list) != 1 || errs["password"] == nil {
		t.Fatalf("errors = %s", r.Body)
	}
	first, _ := list[0].(map[string]any)
	if first["code"] != "BASE_TYPE_STRING" || first["message"] == "" {
		t.Fatalf("username error = %v", first)
	}
}

func TestExpiredToken(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := st.Start(t, st.Options{TokenTTL: time.Hour, Now: clock})
	tok := s.Register(t, "gina", "correct horse")
	st.Expect(t, s.Do(t, "GET", "/api/v10/users/@me", tok, nil), 200, nil)
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	st.Expect(t, s.Do(t, "GET", "/api/v10/users/@me", tok, nil), 401, st.Code(0))
}

func TestTokenOfAnotherServerIsRefused(t *testing.T) {
	a := st.Start(t, st.Options{})
	b := st.Start(t, st.Options{})
	tok := a.Register(t, "hank", "correct horse")
	b.Register(t, "hank", "correct horse")
	st.Expect(t, b.Do(t, "GET", "/api/v10/users/@me", tok, nil), 401, st.Code(0))
}

func TestConcurrentRegistrationOfOneName(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		const n = 10
		statuses := make(chan int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := "ivy"
				if i%2 == 1 {
					name = "IVY"
				}
				statuses <- s.Do(t, "POST", "/api/v10/auth/register", "", map[string]string{"username": name, "password": "correct horse"}).Status
			}()
		}
		wg.Wait()
		close(statuses)
		won := 0
		for code := range statuses {
			switch code {
			case 201:
				won++
			case 400:
			default:
				t.Fatalf("unexpected status %d", code)
			}
		}
		if won != 1 {
			t.Fatalf("%d registrations of one name succeeded", won)
		}
	})
}

func TestRateLimits(t *testing.T) {
	s := st.Start(t, st.Options{RateLimit: true})
	tok := s.Register(t, "jack", "correct horse")

	// Failed logins: five, then 429 even with the right password.
	for i := range 5 {
		r := s.Do(t, "POST", "/api/v10/auth/login", "", map[string]string{"login": "jack", "password": "wrong horse"})
		st.Expect(t, r, 400, st.Code(50035))
		_ = i
	}
	r := s.Do(t, "POST", "/api/v10/auth/login", "", map[string]string{"login": "jack", "password": "correct horse"})
	st.Expect(t, r, 429, nil)
	body := r.JSON(t)
	ra, ok := body["retry_after"].(float64)
	if !ok || ra <= 0 || ra > 60 || body["global"] != false || body["message"] != "You are being rate limited." {
		t.Fatalf("429 body = %s", r.Body)
	}
	if r.Header.Get("Retry-After") == "" {
		t.Fatalf("429 without Retry-After: %v", r.Header)
	}
	// Another account from the same address is not locked out.
	s.Register(t, "kate", "correct horse")
	st.Expect(t, s.Do(t, "POST", "/api/v10/auth/login", "", map[string]string{"login": "kate", "password": "correct horse"}), 200, nil)

	// A signed-in person's password checks share one per-account limit:
	// a stolen token cannot guess the password through recovery codes
	// or profile changes either.
	wrong := []struct{ method, path string }{
		{"POST", "/api/v10/users/@me/recovery-codes"},
		{"PATCH", "/api/v10/users/@me"},
		{"POST", "/api/v10/users/@me/recovery-codes"},
		{"PATCH", "/api/v10/users/@me"},
		{"POST", "/api/v10/users/@me/delete"},
	}
	for _, w := range wrong {
		body := map[string]string{"password": "wrong horse", "new_password": "battery staple"}
		st.Expect(t, s.Do(t, w.method, w.path, tok, body), 400, st.Code(50035))
	}
	r = s.Do(t, "POST", "/api/v10/users/@me/recovery-codes", tok, map[string]string{"password": "correct horse"})
	st.Expect(t, r, 429, nil)
	// A change that names no password is not a guess.
	st.Expect(t, s.Do(t, "PATCH", "/api/v10/users/@me", tok, map[string]string{"global_name": "Jack"}), 200, nil)

	// The per-route bucket: headers on every answer, 429 past the limit.
	var last st.Response
	for i := 0; i < 60; i++ {
		last = s.Do(t, "GET", "/api/v10/users/@me", tok, nil)
		if i == 0 {
			if last.Header.Get("X-RateLimit-Limit") != "50" || last.Header.Get("X-RateLimit-Remaining") != "49" ||
				last.Header.Get("X-RateLimit-Bucket") == "" || last.Header.Get("X-RateLimit-Reset-After") == "" {
				t.Fatalf("rate limit headers: %v", last.Header)
			}
		}
		if last.Status == 429 {
			break
		}
	}
	st.Expect(t, last, 429, nil)
	if last.Header.Get("X-RateLimit-Remaining") != "0" || last.Header.Get("X-RateLimit-Scope") != "user" {
		t.Fatalf("429 headers: %v", last.Header)
	}
}

func TestCORS(t *testing.T) {
	s := st.Start(t, st.Options{})
	req, _ := http.NewRequest("OPTIONS", s.URL()+"/api/v10/users/@me", nil)
	req.Header.Set("Origin", "https://client.example")
	req.Header.Set("Access-Control-Request-Method", "PATCH")
	req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	h := res.Header
	if res.StatusCode != 204 || h.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(h.Get("Access-Control-Allow-Methods"), "PATCH") ||
		!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight: %d %v", res.StatusCode, h)
	}
	r := s.Do(t, "GET", "/api/v10/users/@me", "", nil)
	if r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("no CORS header on an error answer: %v", r.Header)
	}
}

// TestLimitsCannotBeDodged: parallel guesses at one account are held to
// the failed-login limit, and made-up Authorization headers on public
// routes do not buy fresh buckets.
func TestLimitsCannotBeDodged(t *testing.T) {
	s := st.Start(t, st.Options{RateLimit: true})
	s.Register(t, "target", "correct horse")
	var wg sync.WaitGroup
	statuses := make(chan int, 30)
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses <- s.Do(t, "POST", "/api/v10/auth/login", "", map[string]string{"login": "target", "password": "guess guess"}).Status
		}()
	}
	wg.Wait()
	close(statuses)
	checked := 0
	for code := range statuses {
		if code == 400 {
			checked++
		}
	}
	if checked > 5 {
		t.Fatalf("%d parallel guesses were checked, want at most 5", checked)
	}
	limited := false
	for i := 0; i < 80 && !limited; i++ {
		r := s.Do(t, "GET", "/api/v10/invites/nothing", fmt.Sprint("junk-", i), nil)
		limited = r.Status == 429
	}
	if !limited {
		t.Fatal("distinct junk Authorization headers dodged the per-address limit")
	}
	// The file routes, outside /api, are limited per address too.
	limited = false
	for i := 0; i < 400 && !limited; i++ {
		limited = s.Do(t, "GET", fmt.Sprintf("/emojis/%d.png", i+1), "", nil).Status == 429
	}
	if !limited {
		t.Fatal("file routes are not rate limited")
	}
}

// TestFirstAccountsAtOnce: registrations racing on a fresh homeserver make
// exactly one instance administrator, on PostgreSQL too, where two
// transactions could otherwise both count no accounts.
func TestFirstAccountsAtOnce(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		const n = 8
		tokens := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := s.Do(t, "POST", "/api/v10/auth/register", "", map[string]string{"username": fmt.Sprintf("early%d", i), "password": "correct horse"})
				if r.Status != 201 {
					t.Errorf("register %d: %d %s", i, r.Status, r.Body)
					return
				}
				tokens[i], _ = r.JSON(t)["token"].(string)
			}()
		}
		wg.Wait()
		admins := 0
		for _, tok := range tokens {
			switch r := s.Do(t, "GET", "/api/v10/admin/federation-rules", tok, nil); r.Status {
			case 200:
				admins++
			case 403:
			default:
				t.Fatalf("federation rules: %d %s", r.Status, r.Body)
			}
		}
		if admins != 1 {
			t.Fatalf("%d of %d racing first accounts administer the server, want 1", admins, n)
		}
	})
}

// TestPasswordGuardCountsOnlyWrongPasswords: the per-account guard on a
// signed-in person's password checks counts wrong passwords only: the
// right password with a name already taken is not a guess and never
// locks the person out.
func TestPasswordGuardCountsOnlyWrongPasswords(t *testing.T) {
	s := st.Start(t, st.Options{RateLimit: true})
	tok := s.Register(t, "jack", "correct horse")
	s.Register(t, "kate", "correct horse")
	for range 8 {
		st.Expect(t, s.Do(t, "PATCH", "/api/v10/users/@me", tok, map[string]string{"username": "kate", "password": "correct horse"}), 400, st.Code(50035))
	}
	st.Expect(t, s.Do(t, "POST", "/api/v10/users/@me/recovery-codes", tok, map[string]string{"password": "correct horse"}), 200, nil)
	// Four wrong passwords and the right one still passes; the fifth
	// wrong one closes the account's checks.
	for range 4 {
		st.Expect(t, s.Do(t, "POST", "/api/v10/users/@me/recovery-codes", tok, map[string]string{"password": "wrong horse"}), 400, st.Code(50035))
	}
	st.Expect(t, s.Do(t, "PATCH", "/api/v10/users/@me", tok, map[string]string{"username": "kate", "password": "correct horse"}), 400, st.Code(50035))
	st.Expect(t, s.Do(t, "POST", "/api/v10/users/@me/recovery-codes", tok, map[string]string{"password": "wrong horse"}), 400, st.Code(50035))
	st.Expect(t, s.Do(t, "POST", "/api/v10/users/@me/recovery-codes", tok, map[string]string{"password": "correct horse"}), 429, nil)
}

package gateway_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	st "hearth/server/servertest"
)

// TestDevicesAndRecovery: a person sees their signed-in devices and ends
// chosen ones (their tokens stop working, their gateway connections close
// with 4004), signs a new device in with a one-time link code, and gets back
// into the account with a recovery code, which ends every other session.
func TestDevicesAndRecovery(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		first := s.Register(t, "dana", "correct horse")
		login := func(pw string) string {
			return do(t, s, "POST", "/api/v10/auth/login", "", map[string]string{"login": "dana", "password": pw})["token"].(string)
		}
		second, third := login("correct horse"), login("correct horse")
		eve := s.Register(t, "eve", "correct horse")
		live := dial(t, s, "?v=10&encoding=json")
		identify(live, second, 1)

		sessions := func(tok string) []any {
			return do(t, s, "GET", "/api/v10/auth/sessions", tok, nil)["user_sessions"].([]any)
		}
		list := sessions(first)
		if len(list) != 3 {
			t.Fatalf("sessions = %v, want 3", list)
		}
		hashes := map[string]bool{}
		current := 0
		for _, x := range list {
			m := x.(map[string]any)
			info := m["client_info"].(map[string]any)
			if info["location"] != "127.0.0.1" || info["platform"] != "Go" || m["approx_last_used_time"] == "" {
				t.Fatalf("session %v", m)
			}
			hashes[m["id_hash"].(string)] = true
			if m["current"] == true {
				current++
			}
		}
		if len(hashes) != 3 || current != 1 {
			t.Fatalf("sessions %v: %d distinct hashes, %d current", list, len(hashes), current)
		}
		// The second session is the one the gateway connection holds:
		// listed from it, it is the current one.
		secondHash := ""
		for _, x := range sessions(second) {
			if m := x.(map[string]any); m["current"] == true {
				secondHash = m["id_hash"].(string)
			}
		}
		// Another person cannot end dana's sessions by naming them.
		st.Expect(t, s.Do(t, "POST", "/api/v10/auth/sessions/logout", eve, map[string]any{"session_id_hashes": []string{secondHash}}), 204, nil)
		st.Expect(t, s.Do(t, "GET", "/api/v10/users/@me", second, nil), 200, nil)
		st.Expect(t, s.Do(t, "POST", "/api/v10/auth/sessions/logout", first, map[string]any{"session_id_hashes": []string{secondHash}}), 204, nil)
		if code := live.closeCode(); code != 4004 {
			t.Fatalf("the ended session's gateway closed with %d, want 4004", code)
		}
		st.Expect(t, s.Do(t, "GET", "/api/v10/users/@me", second, nil), 401, st.Code(0))
		if n := len(sessions(first)); n != 2 {
			t.Fatalf("%d sessions after ending one, want 2", n)
		}
		st.Expect(t, s.Do(t, "POST", "/api/v10/auth/sessions/logout", first, map[string]any{"session_id_hashes": "all"}), 400, st.Code(50035))

		// Linking a device: a code from a signed-in one, used once.
		linked := do(t, s, "POST", "/api/v10/auth/link-codes", first, nil)
		code := linked["code"].(string)
		expires, err := time.Parse(time.RFC3339Nano, linked["expires_at"].(string))
		if len(code) != 9 || code[4] != '-' || err != nil || expires.Before(time.Now().Add(4*time.Minute)) {
			t.Fatalf("link code %v (%v)", linked, err)
		}
		fourth := do(t, s, "POST", "/api/v10/auth/link", "", map[string]string{"code": strings.ToLower(strings.ReplaceAll(code, "-", ""))})["token"].(string)
		if me := do(t, s, "GET", "/api/v10/users/@me", fourth, nil); me["username"] != "dana" {
			t.Fatalf("the linked device is %v", me)
		}
		st.Expect(t, s.Do(t, "POST", "/api/v10/auth/link", "", map[string]string{"code": code}), 400, st.Code(50035))
		st.Expect(t, s.Do(t, "POST", "/api/v10/auth/link", "", map[string]string{}), 400, st.Code(50035))

		// Recovery codes: behind the password, shown once, used once.
		st.Expect(t, s.Do(t, "POST", "/api/v10/users/@me/recovery-codes", first, map[string]string{"password": "wrong horse"}), 400, st.Code(50035))
		codes := do(t, s, "POST", "/api/v10/users/@me/recovery-codes", first, map[string]string{"password": "correct horse"})["codes"].([]any)
		distinct := map[any]bool{}
		for _, c := range codes {
			distinct[c] = true
		}
		if len(codes) != 10 || len(distinct) != 10 {
			t.Fatalf("recovery codes %v", codes)
		}
		if left := do(t, s, "GET", "/api/v10/users/@me/recovery-codes", first, nil)["remaining"]; left != float64(10) {
			t.Fatalf("remaining = %v", left)
		}
		// A link code minted before the recovery dies with the sessions.
		pending := do(t, s, "POST", "/api/v10/auth/link-codes", first, nil)["code"].(string)
		recover := func(user string, code any) st.Response {
			return s.Do(t, "POST", "/api/v10/auth/recover", "", map[string]any{"username": user, "code": code, "new_password": "new battery staple"})
		}
		st.Expect(t, recover("nobody", codes[0]), 400, st.Code(50035))
		st.Expect(t, recover("eve", codes[0]), 400, st.Code(50035))
		r := recover("DANA", codes[0])
		st.Expect(t, r, 200, nil)
		fifth := r.JSON(t)["token"].(string)
		for _, old := range []string{first, third, fourth} {
			st.Expect(t, s.Do(t, "GET", "/api/v10/users/@me", old, nil), 401, st.Code(0))
		}
		st.Expect(t, s.Do(t, "POST", "/api/v10/auth/link", "", map[string]string{"code": pending}), 400, st.Code(50035))
		st.Expect(t, s.Do(t, "POST", "/api/v10/auth/login", "", map[string]string{"login": "dana", "password": "correct horse"}), 400, st.Code(50035))
		login("new battery staple")
		if left := do(t, s, "GET", "/api/v10/users/@me/recovery-codes", fifth, nil)["remaining"]; left != float64(9) {
			t.Fatalf("remaining after one used = %v", left)
		}
		st.Expect(t, recover("dana", codes[0]), 400, st.Code(50035))
		st.Expect(t, s.Do(t, "POST", "/api/v10/auth/recover", "", map[string]any{"username": "dana", "code": codes[1], "new_password": "x"}), 400, st.Code(50035))
	})
}

// Guesses at link and recovery codes are limited as logins are.
func TestCodeGuessesAreLimited(t *testing.T) {
	s := st.Start(t, st.Options{RateLimit: true})
	s.Register(t, "dana", "correct horse")
	limited := false
	for range 10 {
		r := s.Do(t, "POST", "/api/v10/auth/recover", "", map[string]any{"username": "dana", "code": "AAAA-AAAA-AAAA-AAAA", "new_password": "new battery staple"})
		if r.Status == 429 {
			limited = true
			break
		}
		st.Expect(t, r, 400, st.Code(50035))
	}
	if !limited {
		t.Fatal("ten wrong recovery codes in a row were all checked")
	}
	limited = false
	for range 10 {
		r := s.Do(t, "POST", "/api/v10/auth/link", "", map[string]any{"code": "AAAA-AAAA"})
		if r.Status == 429 {
			limited = true
			break
		}
		st.Expect(t, r, 400, st.Code(50035))
	}
	if !limited {
		t.Fatal("ten wrong link codes in a row were all checked")
	}
}

// A session's last use is recorded as requests come, to a few minutes.
func TestSessionLastUse(t *testing.T) {
	var clock atomic.Int64
	start := time.Now().Truncate(time.Millisecond)
	clock.Store(start.UnixMilli())
	s := st.Start(t, st.Options{Now: func() time.Time { return time.UnixMilli(clock.Load()) }})
	tok := s.Register(t, "dana", "correct horse")
	lastUse := func() time.Time {
		m := do(t, s, "GET", "/api/v10/auth/sessions", tok, nil)["user_sessions"].([]any)[0].(map[string]any)
		at, err := time.Parse(time.RFC3339Nano, m["approx_last_used_time"].(string))
		if err != nil {
			t.Fatal(err)
		}
		return at
	}
	if at := lastUse(); !at.Equal(start) {
		t.Fatalf("last use %v, want the sign-in's %v", at, start)
	}
	clock.Add(time.Minute.Milliseconds())
	if at := lastUse(); !at.Equal(start) {
		t.Fatalf("a minute later, last use %v: recorded again too soon", at)
	}
	clock.Add((6 * time.Minute).Milliseconds())
	lastUse() // this request is the use recorded
	if at := lastUse(); !at.Equal(start.Add(7 * time.Minute)) {
		t.Fatalf("seven minutes later, last use %v, want %v", at, start.Add(7*time.Minute))
	}
}

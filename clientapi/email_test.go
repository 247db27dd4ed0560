package clientapi_test

import (
	"bufio"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	st "hearth/server/servertest"
)

// smtpSink is a minimal SMTP server for tests: it takes every message and
// hands it to msgs.
type smtpSink struct {
	addr string
	msgs chan string
}

func startSMTP(t *testing.T) *smtpSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpSink{addr: ln.Addr().String(), msgs: make(chan string, 16)}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // owned by the test: its cleanup closes the listener and waits
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); s.serve(c) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return s
}

func (s *smtpSink) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	say := func(line string) { _, _ = c.Write([]byte(line + "\r\n")) }
	say("220 sink ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		switch verb {
		case "EHLO", "HELO", "MAIL", "RCPT", "RSET", "NOOP":
			say("250 ok")
		case "DATA":
			say("354 go on")
			var msg strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				msg.WriteString(l)
			}
			say("250 queued")
			s.msgs <- msg.String()
		case "QUIT":
			say("221 bye")
			return
		default:
			say("502 no")
		}
	}
}

// next waits for the next message.
func (s *smtpSink) next(t *testing.T) string {
	t.Helper()
	select {
	case m := <-s.msgs:
		return m
	case <-time.After(30 * time.Second):
		t.Fatal("no mail")
		return ""
	}
}

var mailToken = regexp.MustCompile(`(?:token=|\n\r?\n)([0-9a-f]{40})\r?\n`)

// TestEmail: an address is added with the password and confirmed by a
// single-use link mailed to it; a forgotten password is reset with a
// single-use code mailed to the confirmed address, which ends every
// session; without --smtp-url the routes are refused.
func TestEmail(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		sink := startSMTP(t)
		s := st.Start(t, st.Options{Backend: b, SMTPURL: "smtp://" + sink.addr + "?from=hearth@test.example"})
		ann, bob := s.Register(t, "ann", "correct horse"), s.Register(t, "bob", "correct horse")
		add := func(tok, email, pw string) st.Response {
			return s.Do(t, "POST", "/api/v10/users/@me/email", tok, map[string]string{"email": email, "password": pw})
		}
		st.Expect(t, add(ann, "ann@example.org", "wrong horse"), 400, st.Code(50035))
		st.Expect(t, add(ann, "not an address", "correct horse"), 400, st.Code(50035))
		st.Expect(t, add(ann, "Ann <ann@example.org>", "correct horse"), 400, st.Code(50035))
		st.Expect(t, add(ann, "ann@example.org", "correct horse"), 204, nil)
		msg := sink.next(t)
		m := mailToken.FindStringSubmatch(msg)
		if !strings.Contains(msg, "To: ann@example.org") || m == nil || !strings.Contains(msg, "/api/v10/auth/email/confirm?token=") {
			t.Fatalf("confirmation mail: %q", msg)
		}
		st.Expect(t, s.Do(t, "GET", "/api/v10/users/@me/email", ann, nil), 404, st.Code(0))
		confirmed := st.OK(t, s.Do(t, "GET", "/api/v10/auth/email/confirm?token="+m[1], "", nil), 200)
		if confirmed["email"] != "ann@example.org" {
			t.Fatalf("confirmed: %v", confirmed)
		}
		st.Expect(t, s.Do(t, "GET", "/api/v10/auth/email/confirm?token="+m[1], "", nil), 400, st.Code(50035))
		if e := st.OK(t, s.Do(t, "GET", "/api/v10/users/@me/email", ann, nil), 200); e["email"] != "ann@example.org" {
			t.Fatalf("ann's email: %v", e)
		}
		st.Expect(t, add(bob, "ANN@example.org", "correct horse"), 400, st.Code(50035))

		// A forgotten password: no account, no mail (the next mail is
		// ann's); the same answer either way.
		st.Expect(t, s.Do(t, "POST", "/api/v10/auth/forgot", "", map[string]string{"login": "nobody"}), 204, nil)
		st.Expect(t, s.Do(t, "POST", "/api/v10/auth/forgot", "", map[string]string{"login": "bob"}), 204, nil) // no address
		st.Expect(t, s.Do(t, "POST", "/api/v10/auth/forgot", "", map[string]string{"login": "Ann@Example.org"}), 204, nil)
		msg = sink.next(t)
		m = mailToken.FindStringSubmatch(msg)
		if !strings.Contains(msg, "To: ann@example.org") || !strings.Contains(msg, "Reset your password") || m == nil {
			t.Fatalf("reset mail: %q", msg)
		}
		reset := func(tok, pw string) st.Response {
			return s.Do(t, "POST", "/api/v10/auth/reset", "", map[string]string{"token": tok, "password": pw})
		}
		st.Expect(t, reset(strings.Repeat("0", 40), "new battery staple"), 400, st.Code(50035))
		st.Expect(t, reset(m[1], "short"), 400, st.Code(50035))
		fresh := st.OK(t, reset(m[1], "new battery staple"), 200)["token"].(string)
		st.Expect(t, s.Do(t, "GET", "/api/v10/users/@me", ann, nil), 401, st.Code(0))
		if me := st.OK(t, s.Do(t, "GET", "/api/v10/users/@me", fresh, nil), 200); me["username"] != "ann" {
			t.Fatalf("after the reset: %v", me)
		}
		st.Expect(t, reset(m[1], "another staple"), 400, st.Code(50035))
		st.Expect(t, s.Do(t, "POST", "/api/v10/auth/login", "", map[string]string{"login": "ann", "password": "new battery staple"}), 200, nil)

		plain := st.Start(t, st.Options{Backend: b})
		st.Expect(t, plain.Do(t, "POST", "/api/v10/auth/forgot", "", map[string]string{"login": "ann"}), 400, st.Code(0))
	})
}

// TestResetCodesEndWithPassword: a mailed reset code, and a link code,
// stop working once the password changes (PATCH /users/@me), and every
// other reset code ends with a successful reset; recovery codes stay.
func TestResetCodesEndWithPassword(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		sink := startSMTP(t)
		s := st.Start(t, st.Options{Backend: b, SMTPURL: "smtp://" + sink.addr + "?from=hearth@test.example"})
		ann := s.Register(t, "ann", "correct horse")
		st.Expect(t, s.Do(t, "POST", "/api/v10/users/@me/email", ann, map[string]string{"email": "ann@example.org", "password": "correct horse"}), 204, nil)
		m := mailToken.FindStringSubmatch(sink.next(t))
		st.OK(t, s.Do(t, "GET", "/api/v10/auth/email/confirm?token="+m[1], "", nil), 200)
		forgot := func() string {
			t.Helper()
			st.Expect(t, s.Do(t, "POST", "/api/v10/auth/forgot", "", map[string]string{"login": "ann"}), 204, nil)
			m := mailToken.FindStringSubmatch(sink.next(t))
			if m == nil {
				t.Fatal("no reset code mailed")
			}
			return m[1]
		}
		reset := func(tok, pw string) st.Response {
			return s.Do(t, "POST", "/api/v10/auth/reset", "", map[string]string{"token": tok, "password": pw})
		}
		codes := st.OK(t, s.Do(t, "POST", "/api/v10/users/@me/recovery-codes", ann, map[string]string{"password": "correct horse"}), 200)["codes"].([]any)
		old := forgot()
		link := st.OK(t, s.Do(t, "POST", "/api/v10/auth/link-codes", ann, nil), 200)["code"].(string)
		st.OK(t, s.Do(t, "PATCH", "/api/v10/users/@me", ann, map[string]string{"password": "correct horse", "new_password": "new battery staple"}), 200)
		st.Expect(t, reset(old, "stolen staple"), 400, st.Code(50035))
		st.Expect(t, s.Do(t, "POST", "/api/v10/auth/link", "", map[string]string{"code": link}), 400, st.Code(50035))
		st.Expect(t, s.Do(t, "POST", "/api/v10/auth/login", "", map[string]string{"login": "ann", "password": "new battery staple"}), 200, nil)

		first, second := forgot(), forgot()
		st.OK(t, reset(first, "third staple here"), 200)
		st.Expect(t, reset(second, "stolen staple"), 400, st.Code(50035))
		st.Expect(t, s.Do(t, "POST", "/api/v10/auth/login", "", map[string]string{"login": "ann", "password": "third staple here"}), 200, nil)

		// Recovery codes outlive the password changes, as Discord's backup
		// codes do.
		st.OK(t, s.Do(t, "POST", "/api/v10/auth/recover", "", map[string]string{"username": "ann", "code": codes[0].(string), "new_password": "fourth staple"}), 200)
	})
}

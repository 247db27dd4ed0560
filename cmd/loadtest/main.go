// Command loadtest drives a running homeserver over real HTTP (and, as the
// gateway lands, WebSockets) and reports throughput, latency percentiles and
// the CPU time both sides spent. It sends traffic only to the URL it is
// given, which must be a loopback address unless --allow-remote is set, and
// every scenario is bounded in count and time.
//
//	loadtest -url http://127.0.0.1:8080 -scenario accounts -n 2000 -c 16 -server-pid $(pgrep homeserver)
//
// Several processes serving one homeserver (sharing one PostgreSQL) are
// measured together: -url and -server-pid take comma-separated lists, the
// requests and gateway sessions are spread over the URLs in turn, and the
// server CPU reported is the sum over the PIDs.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "loadtest: %v\n", err)
		os.Exit(1)
	}
}

type config struct {
	// url is the first of urls, where the setup (accounts, the guild) goes.
	url         string
	urls        []string
	scenario    string
	n           int
	concurrency int
	serverPIDs  pids
	timeout     time.Duration
	allowRemote bool
	prefix      string
	sessions    int
	users       int
	rate        int
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	var c config
	urls := fs.String("url", "http://127.0.0.1:8080", "homeserver base URL; several, comma-separated, for processes serving one homeserver (the load is spread over them)")
	fs.StringVar(&c.scenario, "scenario", "accounts", "what to measure: accounts (register, login, authenticated reads), messages (sends into one guild channel) or gateway (sessions, memory, fan-out latency; -n messages at -rate)")
	fs.IntVar(&c.n, "n", 1000, "operations per phase")
	fs.IntVar(&c.concurrency, "c", 16, "concurrent clients")
	fs.Var(&c.serverPIDs, "server-pid", "PID of the homeserver, to report its CPU time; several, comma-separated, are summed")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Minute, "give up after this long")
	fs.BoolVar(&c.allowRemote, "allow-remote", false, "allow a non-loopback URL")
	fs.StringVar(&c.prefix, "prefix", "", "username prefix (default: random per run)")
	fs.IntVar(&c.sessions, "sessions", 1000, "gateway scenario: sessions to open")
	fs.IntVar(&c.users, "users", 50, "gateway scenario: accounts the sessions and sends are spread over")
	fs.IntVar(&c.rate, "rate", 20, "gateway scenario: messages sent per second")
	baseline := fs.String("serve-baseline", "", "instead of a load, serve the bare baseline stand-in for the gateway scenario on this loopback address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *baseline != "" {
		if err := checkTarget("http://"+*baseline, false); err != nil {
			return err
		}
		return serveBaseline(ctx, *baseline, out)
	}
	c.urls = strings.Split(*urls, ",")
	c.url = c.urls[0]
	for _, u := range c.urls {
		if err := checkTarget(u, c.allowRemote); err != nil {
			return err
		}
	}
	if c.prefix == "" {
		c.prefix = "lt" + strconv.FormatInt(time.Now().UnixNano()%1_000_000_000, 36)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	switch c.scenario {
	case "accounts":
		return accounts(ctx, c, out)
	case "messages":
		return messages(ctx, c, out)
	case "gateway":
		return gatewayLoad(ctx, c, out)
	default:
		return fmt.Errorf("unknown scenario %q", c.scenario)
	}
}

// at is the URL the i-th request or session goes to: the URLs in turn.
func (c config) at(i int) string {
	if len(c.urls) == 0 {
		return c.url
	}
	return c.urls[i%len(c.urls)]
}

// pids is -server-pid: the processes whose CPU time is reported, summed.
type pids []int

func (p *pids) String() string {
	s := make([]string, len(*p))
	for i, pid := range *p {
		s[i] = strconv.Itoa(pid)
	}
	return strings.Join(s, ",")
}

func (p *pids) Set(v string) error {
	*p = (*p)[:0]
	for _, f := range strings.Split(v, ",") {
		pid, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || pid < 0 {
			return fmt.Errorf("%q is not a PID", f)
		}
		if pid > 0 {
			*p = append(*p, pid)
		}
	}
	return nil
}

// cpu is the processes' user+system CPU time, summed.
func (p pids) cpu() time.Duration {
	var d time.Duration
	for _, pid := range p {
		d += procCPU(pid)
	}
	return d
}

// rss is the processes' resident memory, summed.
func (p pids) rss() int64 {
	var n int64
	for _, pid := range p {
		n += procRSS(pid)
	}
	return n
}

// checkTarget keeps load on this machine unless told otherwise.
func checkTarget(raw string, allowRemote bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("bad -url: %w", err)
	}
	if allowRemote {
		return nil
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-url %s is not a loopback address (use -allow-remote for your own test hosts)", raw)
	}
	return nil
}

// phase runs op n times on c workers and reports what it measured.
type result struct {
	name      string
	ok, fails int64
	elapsed   time.Duration
	latencies []time.Duration
	clientCPU time.Duration
	serverCPU time.Duration
}

func phase(ctx context.Context, c config, name string, op func(ctx context.Context, i int) error) result {
	var (
		next  atomic.Int64
		ok    atomic.Int64
		fails atomic.Int64
		mu    sync.Mutex
		lats  = make([]time.Duration, 0, c.n)
		wg    sync.WaitGroup
	)
	cpu0, srv0 := selfCPU(), c.serverPIDs.cpu()
	start := time.Now()
	for range c.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= c.n || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				err := op(ctx, i)
				d := time.Since(t0)
				if err != nil {
					if fails.Add(1) <= 3 {
						fmt.Fprintf(os.Stderr, "%s %d: %v\n", name, i, err)
					}
					continue
				}
				ok.Add(1)
				mu.Lock()
				lats = append(lats, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return result{
		name: name, ok: ok.Load(), fails: fails.Load(), elapsed: time.Since(start), latencies: lats,
		clientCPU: selfCPU() - cpu0, serverCPU: c.serverPIDs.cpu() - srv0,
	}
}

func (r result) print(w io.Writer, serverKnown bool) {
	sort.Slice(r.latencies, func(i, j int) bool { return r.latencies[i] < r.latencies[j] })
	pct := func(p float64) time.Duration {
		if len(r.latencies) == 0 {
			return 0
		}
		return r.latencies[min(len(r.latencies)-1, int(p*float64(len(r.latencies))))]
	}
	secs := r.elapsed.Seconds()
	server := "n/a"
	if serverKnown {
		server = fmt.Sprintf("%.0f%%", 100*r.serverCPU.Seconds()/secs)
	}
	fmt.Fprintf(w, "%-10s ok=%d failed=%d  %.1f/s  p50=%s p90=%s p99=%s  client_cpu=%.0f%% server_cpu=%s (of one core)\n",
		r.name, r.ok, r.fails, float64(r.ok)/secs, pct(.5).Round(10*time.Microsecond), pct(.9).Round(10*time.Microsecond),
		pct(.99).Round(10*time.Microsecond), 100*r.clientCPU.Seconds()/secs, server)
}

func accounts(ctx context.Context, c config, out io.Writer) error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c.concurrency}, Timeout: 30 * time.Second}
	const pw = "loadtest password"
	name := func(i int) string { return fmt.Sprintf("%s_%d", c.prefix, i) }
	reg := phase(ctx, c, "register", func(ctx context.Context, i int) error {
		return post(ctx, client, c.at(i)+"/api/v10/auth/register", map[string]string{"username": name(i), "password": pw}, 201)
	})
	reg.print(out, len(c.serverPIDs) > 0)
	tokens := make([]string, c.n)
	login := phase(ctx, c, "login", func(ctx context.Context, i int) error {
		var res struct {
			Token string `json:"token"`
		}
		err := postJSON(ctx, client, c.at(i)+"/api/v10/auth/login", map[string]string{"login": name(i), "password": pw}, 200, &res)
		tokens[i] = res.Token
		return err
	})
	login.print(out, len(c.serverPIDs) > 0)
	// An authenticated read: token check, session and user lookups, JSON.
	me := phase(ctx, config{n: c.n * 10, concurrency: c.concurrency, serverPIDs: c.serverPIDs}, "get @me", func(ctx context.Context, i int) error {
		req, err := http.NewRequestWithContext(ctx, "GET", c.at(i)+"/api/v10/users/@me", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", tokens[i%len(tokens)])
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			return fmt.Errorf("status %d", res.StatusCode)
		}
		return nil
	})
	me.print(out, len(c.serverPIDs) > 0)
	if reg.fails+login.fails+me.fails > 0 {
		return errors.New("some requests failed")
	}
	return nil
}

func post(ctx context.Context, client *http.Client, url string, body any, want int) error {
	return postJSON(ctx, client, url, body, want, nil)
}

func postJSON(ctx context.Context, client *http.Client, url string, body any, want int, into any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	rb, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		return fmt.Errorf("status %d: %s", res.StatusCode, rb)
	}
	if into != nil {
		return json.Unmarshal(rb, into)
	}
	return nil
}

// selfCPU is this process's user+system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU reads another process's user+system CPU time from /proc.
func procCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may
	// contain spaces.
	s := string(b)
	rest := s[strings.LastIndexByte(s, ')')+2:]
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks
}

// messages measures sustained message sends: c senders, each its own user,
// post n messages in all into one guild channel.
func messages(ctx context.Context, c config, out io.Writer) error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c.concurrency}, Timeout: 30 * time.Second}
	const pw = "loadtest password"
	tokens := make([]string, c.concurrency)
	for i := range tokens {
		var res struct {
			Token string `json:"token"`
		}
		if err := postJSON(ctx, client, c.url+"/api/v10/auth/register", map[string]string{"username": fmt.Sprintf("%s_s%d", c.prefix, i), "password": pw}, 201, &res); err != nil {
			return fmt.Errorf("register sender: %w", err)
		}
		tokens[i] = res.Token
	}
	channel, err := fillGuild(ctx, client, c.url, "loadtest", tokens)
	if err != nil {
		return err
	}
	body := map[string]string{"content": "a message of an ordinary length, about as long as people write them"}
	res := phase(ctx, c, "send", func(ctx context.Context, i int) error {
		return authJSON(ctx, client, "POST", c.at(i)+"/api/v10/channels/"+channel+"/messages", tokens[i%len(tokens)], body, 200, nil)
	})
	res.print(out, len(c.serverPIDs) > 0)
	if res.fails > 0 {
		return errors.New("some sends failed")
	}
	return nil
}

// fillGuild has the first token's user make a guild and every other user
// join it by invite, and returns the guild's text channel.
func fillGuild(ctx context.Context, client *http.Client, base, name string, tokens []string) (string, error) {
	var guild struct {
		ID string `json:"id"`
	}
	if err := authJSON(ctx, client, "POST", base+"/api/v10/guilds", tokens[0], map[string]string{"name": name}, 201, &guild); err != nil {
		return "", fmt.Errorf("create guild: %w", err)
	}
	var channels []struct {
		ID   string `json:"id"`
		Type int    `json:"type"`
	}
	if err := authJSON(ctx, client, "GET", base+"/api/v10/guilds/"+guild.ID+"/channels", tokens[0], nil, 200, &channels); err != nil {
		return "", err
	}
	var channel string
	for _, ch := range channels {
		if ch.Type == 0 {
			channel = ch.ID
		}
	}
	var inv struct {
		Code string `json:"code"`
	}
	if err := authJSON(ctx, client, "POST", base+"/api/v10/channels/"+channel+"/invites", tokens[0], map[string]any{"max_age": 0}, 200, &inv); err != nil {
		return "", err
	}
	for _, tok := range tokens[1:] {
		if err := authJSON(ctx, client, "POST", base+"/api/v10/invites/"+inv.Code, tok, nil, 200, nil); err != nil {
			return "", fmt.Errorf("join: %w", err)
		}
	}
	return channel, nil
}

func authJSON(ctx context.Context, client *http.Client, method, url, token string, body any, want int, into any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", token)
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	rb, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		return fmt.Errorf("%s %s: status %d: %s", method, url, res.StatusCode, rb)
	}
	if into != nil {
		return json.Unmarshal(rb, into)
	}
	return nil
}

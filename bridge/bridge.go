// Package bridge is the Discord side of a Hearth Discord bridge
// (spec/bridge.md): it reads a Discord bot's gateway and REST API with
// discordgo and calls the homeserver domain as an adapter, as clientapi
// does. Discord messages are imported into mirror guilds as the messages
// of puppets (the bridge's local users); what Hearth people write in a
// mirror is relayed to Discord through one webhook per channel. The
// process around it is an ordinary homeserver (cmd/bridge), so Hearth
// servers reach the mirrors by federation.
package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"hearth/homeserver"
	"hearth/homeserver/bus"
	"hearth/snowflake"
)

// Config is what a bridge needs.
type Config struct {
	// Homeserver is the domain of the bridge's own homeserver.
	Homeserver *homeserver.Homeserver
	// Token is the Discord bot's token, with or without "Bot ".
	Token string
	// DiscordURL is where Discord is: https://discord.com by default, or a
	// Hearth homeserver playing Discord (tests). Its REST API is under
	// /api/v10, and the gateway's URL comes from it.
	DiscordURL string
	// Poll is how often link requests are looked for and the relay reads
	// the mirrors' logs when the bus did not wake it; zero means 500 ms.
	Poll time.Duration
	Log  *slog.Logger
	// Metrics registers the bridge's metrics; nil registers none.
	Metrics Registerer
	// HearthRole is the Discord role, by ID or name, that Discord gives
	// Hearth people in a mirror: they may see and do what @everyone and
	// this role may (spec/bridge.md "Authority"). Empty: @everyone only.
	HearthRole string
	// Failpoint, when set, names a point where the bridge stops as if
	// killed there (tests of crash safety; see failpoint).
	Failpoint string
}

// Bridge links Discord guilds to mirror guilds while Run runs.
type Bridge struct {
	cfg     Config
	base    *url.URL
	hs      *homeserver.Homeserver
	dom     *homeserver.Bridge
	log     *slog.Logger
	session *discordgo.Session
	metrics *metrics

	// bot is the Discord bot's user; owner its puppet, which owns the
	// mirror guilds.
	bot   *discordgo.User
	owner homeserver.Principal

	mu sync.Mutex
	// links are the linked guilds by Discord guild ID, as the control
	// loop last read them.
	links map[string]Link
	// hooks are the IDs of the bridge's own webhooks: their messages are
	// Hearth people's, never imported back.
	hooks map[string]bool
	// avatars are the Discord avatar hashes puppets have, by Discord user.
	avatars map[string]string
	// members: puppet joined mirror guild (user, guild).
	members map[[2]snowflake.ID]bool
	// wake tells the relay that a mirror's log may have grown.
	wake chan struct{}
	// typist relays Hearth people's typing (typing.go).
	typist *typist
	// chanLocks serialise, per Discord channel, a relay's post with its
	// mapping against the import of that channel's events, so that a
	// Discord reply or reaction to a relayed message racing Discord's
	// answer still finds the mapping.
	chanLocks map[string]*sync.Mutex
	// runCtx is Run's context, for the gateway's handlers (discordgo
	// gives them none); nil until Run.
	runCtx context.Context
	// catchUpDue are the guilds whose catch-up Discord held up, and when
	// to try again (catchup.go); made on first use.
	catchUpDue map[string]time.Time
}

// New checks the configuration and prepares a bridge; Run connects.
func New(cfg Config) (*Bridge, error) {
	if cfg.Homeserver == nil {
		return nil, errors.New("bridge: no homeserver")
	}
	tok := strings.TrimSpace(cfg.Token)
	tok = strings.TrimPrefix(tok, "Bot ")
	if tok == "" {
		return nil, errors.New("a Discord bot token is needed (--discord-token)")
	}
	if cfg.DiscordURL == "" {
		cfg.DiscordURL = "https://discord.com"
	}
	base, err := url.Parse(strings.TrimSuffix(cfg.DiscordURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("--discord-url %q is not an http(s) URL", cfg.DiscordURL)
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 500 * time.Millisecond
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s, err := discordgo.New("Bot " + tok)
	if err != nil {
		return nil, fmt.Errorf("discord session: %w", err)
	}
	// discordgo's own retry on 429 sleeps without a context and forever:
	// the relay decides what to retry (spec/bridge.md).
	s.ShouldRetryOnRateLimit = false
	s.MaxRestRetries = 0
	// Handlers run one after the other on the gateway's reader, so that a
	// channel's events are imported in the order Discord sent them.
	s.SyncEvents = true
	m := newMetrics(cfg.Metrics)
	s.Client = &http.Client{Timeout: 30 * time.Second, Transport: &rewrite{base: base, next: http.DefaultTransport, metrics: m}}
	s.Identify.Intents = discordgo.IntentsGuilds | discordgo.IntentsGuildMessages | discordgo.IntentsMessageContent |
		discordgo.IntentsGuildWebhooks | discordgo.IntentsGuildMessageReactions | discordgo.IntentsGuildMessageTyping |
		discordgo.IntentsGuildEmojis
	s.LogLevel = discordgo.LogError
	b := &Bridge{
		cfg: cfg, base: base, hs: cfg.Homeserver, dom: cfg.Homeserver.Bridge(), log: cfg.Log, session: s,
		links: map[string]Link{}, avatars: map[string]string{}, chanLocks: map[string]*sync.Mutex{}, hooks: map[string]bool{}, members: map[[2]snowflake.ID]bool{},
		wake: make(chan struct{}, 1), metrics: m, typist: newTypist(),
	}
	return b, nil
}

// rewrite sends what discordgo addresses to Discord's hosts to the
// configured Discord URL, and its API v9 paths to v10. It also turns a
// 429 into a *RateLimitedError carrying the wait Discord announced, in
// the body (retry_after) or only in the headers (Retry-After), which
// discordgo cannot read from a 429 without a JSON body.
type rewrite struct {
	base    *url.URL
	next    http.RoundTripper
	metrics *metrics
}

// RoundTrip implements http.RoundTripper.
func (r *rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	switch req.URL.Host {
	case "discord.com", "discordapp.com", "cdn.discordapp.com", "media.discordapp.net":
		out := req.Clone(req.Context())
		out.URL.Scheme, out.URL.Host, out.Host = r.base.Scheme, r.base.Host, ""
		if rest, ok := strings.CutPrefix(out.URL.Path, "/api/v9/"); ok {
			out.URL.Path = "/api/v10/" + rest
			out.URL.RawPath = ""
		}
		req = out
	}
	if thread := threadOf(req.Context()); thread != "" && strings.HasPrefix(req.URL.Path, "/api/v10/webhooks/") && !req.URL.Query().Has("thread_id") {
		out := req.Clone(req.Context())
		q := out.URL.Query()
		q.Set("thread_id", thread)
		out.URL.RawQuery = q.Encode()
		req = out
	}
	res, err := r.next.RoundTrip(req)
	if err != nil || res.StatusCode != http.StatusTooManyRequests {
		return res, err
	}
	defer res.Body.Close()
	rl := rateLimited(res)
	r.metrics.rateLimited(rl.Scope)
	return nil, rl
}

// RateLimitedError is Discord's 429: wait RetryAfter before the next
// request of the bucket, or of any bucket when Global.
type RateLimitedError struct {
	RetryAfter time.Duration
	Global     bool
	// Scope is X-RateLimit-Scope (user, global, shared), or "route".
	Scope  string
	Bucket string
}

// Error implements error.
func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("discord rate limit (%s, bucket %q): retry after %v", e.Scope, e.Bucket, e.RetryAfter)
}

// rateLimited reads a 429: the longer of the body's retry_after and the
// Retry-After header, at least 100 ms, 1 s when neither says.
func rateLimited(res *http.Response) *RateLimitedError {
	e := &RateLimitedError{Bucket: res.Header.Get("X-RateLimit-Bucket"), Scope: res.Header.Get("X-RateLimit-Scope")}
	var body struct {
		RetryAfter float64 `json:"retry_after"`
		Global     bool    `json:"global"`
	}
	if b, err := io.ReadAll(io.LimitReader(res.Body, 64<<10)); err == nil {
		_ = json.Unmarshal(b, &body)
	}
	wait := time.Duration(body.RetryAfter * float64(time.Second))
	if h, err := strconv.ParseFloat(res.Header.Get("Retry-After"), 64); err == nil {
		wait = max(wait, time.Duration(h*float64(time.Second)))
	}
	if wait <= 0 {
		wait = time.Second
	}
	e.RetryAfter = max(wait, 100*time.Millisecond)
	e.Global = body.Global || res.Header.Get("X-RateLimit-Global") == "true"
	if e.Global {
		e.Scope = "global"
	} else if e.Scope == "" {
		e.Scope = "route"
	}
	return e
}

// Run connects to Discord and bridges until ctx ends: it refuses a user
// token, imports the gateway's messages, carries out link and unlink
// requests and relays the mirrors' logs to Discord.
func (b *Bridge) Run(ctx context.Context) error {
	me, err := b.session.User("@me", discordgo.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("discord: who is this token? %w", err)
	}
	if !me.Bot {
		return fmt.Errorf("discord: the token is a user's (%s): the bridge runs on a bot token only", me.Username)
	}
	b.bot = me
	b.runCtx = ctx
	if b.owner, err = b.dom.Puppet(ctx, me.ID, me.Username, me.GlobalName, true); err != nil {
		return fmt.Errorf("bridge owner: %w", err)
	}
	if err := b.loadHooks(ctx); err != nil {
		return err
	}
	if err := b.refreshLinks(ctx); err != nil {
		return err
	}
	b.session.AddHandler(b.onReady)
	b.session.AddHandler(b.onResumed)
	b.session.AddHandler(b.onMessageCreate)
	b.session.AddHandler(b.onMessageUpdate)
	b.session.AddHandler(b.onMessageDelete)
	b.session.AddHandler(b.onMessageDeleteBulk)
	b.session.AddHandler(b.onChannelCreate)
	b.session.AddHandler(b.onChannelUpdate)
	b.session.AddHandler(b.onChannelDelete)
	b.session.AddHandler(b.onReactionAdd)
	b.session.AddHandler(b.onReactionRemove)
	b.session.AddHandler(b.onReactionRemoveAll)
	b.session.AddHandler(b.onRawEvent)
	b.session.AddHandler(b.onThreadCreate)
	b.session.AddHandler(b.onThreadUpdate)
	b.session.AddHandler(b.onThreadDelete)
	b.session.AddHandler(b.onTypingStart)
	b.session.AddHandler(b.onEmojisUpdate)
	b.session.AddHandler(b.onRoleUpdate)
	b.session.AddHandler(b.onRoleDelete)
	b.session.AddHandler(b.onGuildCreate)
	b.session.AddHandler(b.onGuildRoleCreate)
	b.session.AddHandler(b.onGuildRoleUpdate)
	b.session.AddHandler(b.onGuildRoleDelete)
	if err := b.session.Open(); err != nil {
		return fmt.Errorf("discord gateway: %w", err)
	}
	defer b.session.Close()
	b.log.Info("bridge connected to Discord", "bot", me.Username, "bot_id", me.ID, "discord", b.cfg.DiscordURL)

	// The relay is owned by Run and stops with ctx; if it stops on its
	// own (a failpoint), Run stops too and says why.
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { // owned by Run, ends with ctx
		defer wg.Done()
		b.runTypist(ctx)
	}()
	go func() {
		defer wg.Done()
		if err := b.relay(ctx); err != nil {
			stop(err)
		}
	}()
	// The relay is woken by every committed event of the process (a
	// Hearth person's act, an import), so that a send reaches Discord
	// without waiting for the poll; owned by Run, ends with ctx.
	sub := b.hs.Bus().Subscribe(1 << 10)
	defer sub.Close()
	go func() {
		defer wg.Done()
		for {
			ev, err := sub.Next(ctx)
			if ctx.Err() != nil || errors.Is(err, bus.ErrClosed) {
				return
			}
			if err == nil {
				b.typist.offer(ev)
			}
			b.poke()
		}
	}()
	b.control(ctx)
	wg.Wait()
	if err := context.Cause(ctx); !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// errFailpoint stops the bridge at a named point.
var errFailpoint = errors.New("failpoint")

// failpoint stops the bridge at the named point when Config.Failpoint
// names it: the relay returns, Run returns the error and the process ends
// without writing anything more, as a kill there would leave it. With
// "pause:" before the name the bridge instead logs that it reached the
// point and waits there until it is stopped, so that a test can SIGKILL
// the process at that very point. The points: relay-after-intent (the
// intent row written, nothing posted), relay-after-execute (Discord
// answered, the mapping not saved), import-after-commit (a Discord
// message imported, its high-water mark not raised).
func (b *Bridge) failpoint(ctx context.Context, name string) error {
	fp := b.cfg.Failpoint
	if p, ok := strings.CutPrefix(fp, "pause:"); ok {
		if p != name {
			return nil
		}
		b.log.Error("bridge: failpoint reached, waiting to be killed", "failpoint", name)
		<-ctx.Done()
		return fmt.Errorf("%w %s", errFailpoint, name)
	}
	if fp == name {
		return fmt.Errorf("%w %s", errFailpoint, name)
	}
	return nil
}

// ctxDiscord bounds one Discord call.
func ctxDiscord(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, 30*time.Second)
}

// poke wakes the relay.
func (b *Bridge) poke() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// lockChannel holds a Discord channel's lock until the returned function
// is called.
func (b *Bridge) lockChannel(dchan string) func() {
	b.mu.Lock()
	l := b.chanLocks[dchan]
	if l == nil {
		l = &sync.Mutex{}
		b.chanLocks[dchan] = l
	}
	b.mu.Unlock()
	l.Lock()
	return l.Unlock
}

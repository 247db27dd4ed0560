// Package clientapi is the Discord-compatible face of a homeserver: the REST
// API under /api, /api/v9 and /api/v10, the CDN-style file routes, and (as
// it lands) the gateway. It translates HTTP to calls on the domain
// (homeserver) and domain errors to Discord's error bodies; it holds no
// state of its own beyond rate-limit counters.
package clientapi

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"hearth/clientapi/ratelimit"
	"hearth/homeserver"
	"hearth/homeserver/media"
	"hearth/metrics"
)

// Config is what the client API is built from.
type Config struct {
	Homeserver *homeserver.Homeserver
	Log        *slog.Logger
	// RateLimit turns request rate limits on; off only for benchmarks or
	// behind a proxy that limits instead.
	RateLimit bool
	// MaxBody bounds a JSON request body; zero means 1 MiB.
	MaxBody int64
	// MaxUpload bounds one attachment; zero means 25 MiB.
	MaxUpload int64
	// GatewayURL is the WebSocket URL GET /gateway answers.
	GatewayURL string
	// Scaler makes the scaled copies of images that file routes answer
	// with ?width=&height=; nil serves originals only.
	Scaler *media.Scaler
	// Fetch fetches what clients name by URL (a webhook's avatar_url): the
	// federation client, which refuses private addresses unless the
	// operator allows them. nil refuses such URLs.
	Fetch *http.Client
}

// API serves the client API.
type API struct {
	hs         *homeserver.Homeserver
	log        *slog.Logger
	engine     *gin.Engine
	maxBody    int64
	maxUpload  int64
	gatewayURL string
	scaler     *media.Scaler
	fetch      *http.Client
	// fullLog paces the log lines for writes a full disk refused.
	fullLog logLimiter

	rateLimit bool
	routes    *ratelimit.Limiter
	logins    *ratelimit.Limiter
	files     *ratelimit.Limiter
	// webhookLimits counts the token routes of each webhook.
	webhookLimits *ratelimit.Limiter
}

// Rate limits, per identity (token, or address when there is none).
const (
	routeLimit      = 50
	routeWindow     = time.Second
	fileLimit       = 200 // file fetches per second per address: pages load many images
	loginFailures   = 5
	loginWindow     = time.Minute
	maxLimitKeys    = 100_000
	profileMaxBody  = 16 << 20 // an avatar data URI
	defaultMaxBody  = 1 << 20
	principalKey    = "hearth.principal"
	maxBodyKey      = "hearth.maxBody"
	bodyLimitedKey  = "hearth.bodyLimited"
	tokenKey        = "hearth.token"
	discordLocaleEN = "en-US"
)

// New builds the client API.
func New(cfg Config) *API {
	a := &API{
		hs:        cfg.Homeserver,
		log:       cfg.Log,
		maxBody:   cfg.MaxBody,
		rateLimit: cfg.RateLimit,
		routes:    ratelimit.New(routeLimit, routeWindow, maxLimitKeys),
		logins:    ratelimit.New(loginFailures, loginWindow, maxLimitKeys),
		files:     ratelimit.New(fileLimit, routeWindow, maxLimitKeys),
		fetch:     cfg.Fetch,
	}
	a.webhookLimits = ratelimit.New(webhookLimit, webhookWindow, maxLimitKeys)
	a.gatewayURL = cfg.GatewayURL
	a.scaler = cfg.Scaler
	a.maxUpload = cfg.MaxUpload
	if a.maxUpload == 0 {
		a.maxUpload = 25 << 20
	}
	if a.maxBody == 0 {
		a.maxBody = defaultMaxBody
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	e := gin.New()
	// The address of a request is its connection's: no X-Forwarded-For
	// is believed, or any client could pick the address that login,
	// link and recovery limits count against and that the list of a
	// person's devices shows. (Behind a reverse proxy, every request
	// then counts against the proxy's address.)
	_ = e.SetTrustedProxies(nil)
	e.HandleMethodNotAllowed = true
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.Use(a.recover, a.observe, a.cors, a.limitBody)
	e.NoRoute(notFound)
	e.NoMethod(methodNotAllowed)
	a.engine = e
	a.routesV10(e.Group("/api", a.limitRate))
	files := e.Group("/", a.limitFiles)
	files.GET("/avatars/:user/:file", a.avatar)
	files.GET("/banners/:user/:file", a.banner)
	files.GET("/icons/:guild/:file", a.guildIcon)
	files.GET("/emojis/:file", a.emojiImage)
	files.GET("/attachments/:channel/:attachment/:filename", a.attachment)
	return a
}

// Route is one registered route: its method and gin path template (under
// /api without a version, or a file route).
type Route struct {
	Method, Path string
}

// Routes lists every registered route, so that tests can walk them all.
func (a *API) Routes() []Route {
	info := a.engine.Routes()
	out := make([]Route, 0, len(info))
	for _, r := range info {
		out = append(out, Route{Method: r.Method, Path: r.Path})
	}
	return out
}

func (a *API) routesV10(r *gin.RouterGroup) {
	r.GET("/gateway", a.gateway)
	r.GET("/gateway/bot", a.auth, a.gatewayBot)
	r.POST("/auth/register", a.register)
	r.POST("/auth/login", a.login)
	r.POST("/auth/logout", a.auth, a.logout)
	a.routesDevices(r)
	a.routesAdmin(r)

	r.GET("/users/@me", a.auth, a.me)
	r.PATCH("/users/@me", a.auth, a.bodyLimit(2*profileMaxBody), a.updateMe) // an avatar and a banner
	r.GET("/users/:user", a.auth, a.user)
	r.GET("/users/@me/profile", a.auth, a.userProfile)
	r.GET("/users/:user/profile", a.auth, a.userProfile)
	a.routesClosure(r)
	a.routesReports(r)
	a.routesEmail(r)
	a.routesRelationships(r)
	a.routesGuilds(r)
	a.routesMessages(r)
	a.routesThreads(r)
	a.routesApplications(r)
	a.routesCommands(r)
	a.routesInteractions(r)
	a.routesReadStates(r)
	a.routesWebhooks(r)
}

// ServeHTTP implements http.Handler. /api/v9 and /api/v10 are the same API
// as /api: the version prefix is taken off before routing.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/api/v"); ok {
		version, tail, _ := strings.Cut(rest, "/")
		if version != "9" && version != "10" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"code":50041,"message":"Invalid API version provided."}`))
			return
		}
		r.URL.Path = "/api/" + tail
		r.URL.RawPath = ""
	}
	a.engine.ServeHTTP(&jsonType{ResponseWriter: w}, r)
}

// recover turns a panic into a 500 with a Discord body and a log line, so
// that one bad request cannot take the process down.
func (a *API) recover(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			// The route, not the path: webhook and interaction paths hold tokens.
			a.log.Error("panic serving request", "method", c.Request.Method, "route", c.FullPath(), "panic", v)
			c.AbortWithStatusJSON(http.StatusInternalServerError, apiError{Code: 0, Message: "500: Internal Server Error"})
		}
	}()
	c.Next()
}

// observe labels the request's metrics with the matched route template.
func (a *API) observe(c *gin.Context) {
	if route := c.FullPath(); route != "" {
		metrics.SetRoute(c.Request, route)
	}
	c.Next()
}

// cors lets a web client served by any homeserver call this one. Tokens
// travel in the Authorization header, never in cookies, so allowing every
// origin exposes nothing a page could not already send.
func (a *API) cors(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, X-RateLimit-Reset-After, X-RateLimit-Bucket, X-RateLimit-Scope, X-RateLimit-Global, Retry-After")
	if c.Request.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Audit-Log-Reason, X-Super-Properties, X-Discord-Locale, X-Debug-Options")
		h.Set("Access-Control-Max-Age", "86400")
		c.AbortWithStatus(http.StatusNoContent)
		return
	}
	c.Next()
}

// limitBody sets the default body limit. The limit is applied when the
// body is read (limitedBody), so that a route can raise it: wrapping the
// body here would cap every route at the default.
func (a *API) limitBody(c *gin.Context) {
	c.Set(maxBodyKey, a.maxBody)
	c.Next()
}

// bodyLimit sets the body limit for one route.
func (a *API) bodyLimit(n int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Set(maxBodyKey, n)
		c.Next()
	}
}

// limitedBody wraps the request body in the route's limit, once.
func limitedBody(c *gin.Context) {
	if c.GetBool(bodyLimitedKey) {
		return
	}
	n := c.GetInt64(maxBodyKey)
	if n <= 0 {
		n = defaultMaxBody
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
	c.Set(bodyLimitedKey, true)
}

// publicRoutes need no token: their rate limits count per address, since
// a made-up Authorization header would otherwise buy a fresh bucket.
var publicRoutes = map[string]bool{
	"/api/auth/register": true, "/api/auth/login": true, "/api/invites/:code": true, "/api/gateway": true,
	"/api/auth/link": true, "/api/auth/recover": true,
}

// identity is who a rate limit counts against: the token when the route
// needs one (hashed, so no token sits in memory as a map key), else the
// address.
func identity(c *gin.Context) string {
	if h := c.GetHeader("Authorization"); h != "" && !publicRoutes[c.FullPath()] {
		sum := sha256.Sum256([]byte(h))
		return "t:" + hex.EncodeToString(sum[:12])
	}
	return "ip:" + c.ClientIP()
}

// limitRate applies the per-route bucket and writes Discord's headers.
func (a *API) limitRate(c *gin.Context) {
	if !a.rateLimit || c.FullPath() == "" {
		c.Next()
		return
	}
	route := c.Request.Method + " " + c.FullPath()
	res := a.routes.Take(identity(c) + " " + route)
	sum := sha256.Sum256([]byte(route))
	writeRateLimit(c, res, hex.EncodeToString(sum[:8]))
	if !res.Allowed {
		tooManyRequests(c, res, "user")
		return
	}
	c.Next()
}

// limitFiles bounds the CDN-style file routes per address, so that they
// cannot be used to probe for files at line rate.
func (a *API) limitFiles(c *gin.Context) {
	if !a.rateLimit {
		c.Next()
		return
	}
	res := a.files.Take("ip:" + c.ClientIP())
	writeRateLimit(c, res, "files")
	if !res.Allowed {
		tooManyRequests(c, res, "shared")
		return
	}
	c.Next()
}

func writeRateLimit(c *gin.Context, res ratelimit.Result, bucket string) {
	h := c.Writer.Header()
	now := time.Now()
	h.Set("X-RateLimit-Limit", strconv.Itoa(res.Limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(res.Remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatFloat(float64(res.Reset.UnixMilli())/1000, 'f', 3, 64))
	h.Set("X-RateLimit-Reset-After", strconv.FormatFloat(res.RetryAfter(now).Seconds(), 'f', 3, 64))
	h.Set("X-RateLimit-Bucket", bucket)
}

// rateLimited is Discord's 429 body; retry_after is in seconds, a float.
type rateLimited struct {
	Message    string  `json:"message"`
	RetryAfter float64 `json:"retry_after"`
	Global     bool    `json:"global"`
	Code       int     `json:"code"`
}

func tooManyRequests(c *gin.Context, res ratelimit.Result, scope string) {
	wait := res.RetryAfter(time.Now())
	c.Header("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
	c.Header("X-RateLimit-Scope", scope)
	c.AbortWithStatusJSON(http.StatusTooManyRequests, rateLimited{
		Message:    "You are being rate limited.",
		RetryAfter: float64(wait.Milliseconds()) / 1000,
	})
}

// auth requires a valid token: "Bot <t>", "Bearer <t>" or the bare token.
func (a *API) auth(c *gin.Context) {
	if a.signIn(c) {
		c.Next()
	}
}

// signIn authenticates the request's token and records its principal, or
// answers 401 and reports false.
func (a *API) signIn(c *gin.Context) bool {
	tok := c.GetHeader("Authorization")
	for _, prefix := range []string{"Bot ", "Bearer "} {
		if rest, ok := strings.CutPrefix(tok, prefix); ok {
			tok = rest
			break
		}
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		a.fail(c, homeserver.ErrUnauthorized)
		return false
	}
	p, err := a.hs.Authenticate(c.Request.Context(), tok)
	if err != nil {
		a.fail(c, err)
		return false
	}
	a.hs.Touch(c.Request.Context(), p, c.ClientIP())
	c.Set(principalKey, p)
	c.Set(tokenKey, tok)
	return true
}

func principal(c *gin.Context) homeserver.Principal {
	return c.MustGet(principalKey).(homeserver.Principal)
}

// gateway answers where the gateway is.
func (a *API) gateway(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"url": a.gatewayURL})
}

// gatewayBot adds Discord's sharding advice: one shard is plenty for one
// homeserver, and identifies are not rationed.
func (a *API) gatewayBot(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{
		"url": a.gatewayURL, "shards": 1,
		"session_start_limit": gin.H{"total": 1000, "remaining": 1000, "reset_after": 86400000, "max_concurrency": 1},
	})
}

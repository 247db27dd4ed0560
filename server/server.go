// Package server assembles one homeserver process from its parts (storage,
// the domain, the client API, federation discovery, metrics and the web
// client) on one listener, and runs it until its context ends. cmd/homeserver
// turns flags into a Config; tests start real servers on loopback ports
// through the same code.
package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"hearth/clientapi"
	"hearth/clientapi/gateway"
	"hearth/federation"
	"hearth/homeserver"
	"hearth/homeserver/globalid"
	"hearth/homeserver/lease"
	"hearth/homeserver/media"
	"hearth/homeserver/password"
	"hearth/mail"
	"hearth/metrics"
	"hearth/snowflake"
	"hearth/storage"
	"hearth/storage/blobs"
	"hearth/storage/postgres"
	"hearth/storage/sqlite"
	"hearth/web"
)

// Version is the software version reported in discovery and logs.
const Version = "0.1.0"

// Config is a homeserver's settings; design.md section 2 fixes the flags
// that fill it.
type Config struct {
	// Listen is host:port; port 0 picks a free one (tests).
	Listen string
	// DataDir holds the SQLite database, uploads and keys.
	DataDir string
	// Database is empty for SQLite in DataDir, or a postgres:// URL.
	Database string
	// ServerName defaults to the listen address.
	ServerName string
	// PublicURL defaults to http://<listen address>.
	PublicURL string
	// InsecureFederation allows plain-http and private-address peers.
	InsecureFederation bool
	// RateLimit turns the client API's rate limits on.
	RateLimit bool
	// ShutdownTimeout bounds a graceful stop; zero means 10 seconds.
	ShutdownTimeout time.Duration
	// GatewayHeartbeat is the heartbeat interval the gateway announces;
	// zero means Discord's 41.25 s.
	GatewayHeartbeat time.Duration
	// GatewayPresenceRefresh is how often the gateway tells the other
	// processes sharing the database its users' presences again; zero
	// means 20 s (tests shorten it).
	GatewayPresenceRefresh time.Duration
	// Password overrides the argon2id cost (tests use a cheap one).
	Password password.Params
	// MaxMessageLength bounds message content; zero means 4000.
	MaxMessageLength int
	// MaxUploadSize bounds one attachment in bytes; zero means 25 MiB.
	MaxUploadSize int64
	// MaxReplicaMembers and MaxNewPeerUsers bound what peers make this
	// server keep (homeserver.Config); zero means the defaults.
	MaxReplicaMembers int
	MaxNewPeerUsers   int
	// MaxReplicaChannels, MaxReplicaThreads, MaxReplicaRoles and
	// MaxReplicaEmojis bound a replica guild's channels, threads, roles
	// and custom emoji (homeserver.Config); zero means the defaults.
	MaxReplicaChannels, MaxReplicaThreads, MaxReplicaRoles, MaxReplicaEmojis int
	// TokenTTL overrides how long user tokens last.
	TokenTTL time.Duration
	// Now overrides the clock (tests).
	Now func() time.Time
	Log *slog.Logger
	// FederationLimits bound inbound federation requests (in flight, per
	// peer, body read time); zero fields mean federation.DefaultLimits.
	FederationLimits federation.Limits
	// Registration is "open" (the default, when empty), "invite" or
	// "closed".
	Registration string
	// SMTPURL names the SMTP server mail goes through
	// (smtp://[user:pass@]host:port?from=address, or smtps://); empty
	// sends no mail.
	SMTPURL string
	// FederationAllowList federates only with the servers an
	// administrator allows.
	FederationAllowList bool
	// NoClientAPI serves no client API, gateway or web client: only
	// federation, the file routes and operations. A Discord bridge is such
	// a homeserver (its users are on Discord, spec/bridge.md).
	NoClientAPI bool
	// Mirrors: every guild here mirrors a Discord guild (a bridge), so
	// only its owner may change what Discord decides
	// (homeserver.Config.Mirrors).
	Mirrors bool
	// Files is where uploads, avatars, emoji and scaled copies live:
	// empty for the data dir, or s3://bucket/prefix for an S3-compatible
	// bucket (then several processes on several machines share them).
	Files string
	// FilesS3 says how to reach and sign for the bucket of Files (its
	// URL field is ignored; Files is the URL).
	FilesS3 blobs.S3Config
	// BackupEvery, when not zero, takes a backup that often into
	// BackupDir; backups older than BackupKeep are thinned to one a day
	// (zero BackupKeep means 30 days).
	BackupEvery time.Duration
	BackupDir   string
	BackupKeep  time.Duration
}

// Server is a homeserver process, listening but not yet serving until Serve.
type Server struct {
	cfg      Config
	log      *slog.Logger
	listener net.Listener
	store    storage.Store
	hs       *homeserver.Homeserver
	gateway  *gateway.Gateway
	sender   *federation.Sender
	scaler   *media.Scaler
	files    *blobs.Store
	http     *http.Server
	url      string
	reg      *prometheus.Registry
	workers  []worker
	// cluster is this process's place among those sharing a PostgreSQL
	// database (cluster.go); nil with SQLite.
	cluster *cluster
	// unlock releases the data dir's lock once the database is closed.
	unlock        func() error
	backupMetrics *backupMetrics
	metricNames   map[string]bool
}

// worker is a task that runs beside the server (see AddWorker).
type worker struct {
	name string
	run  func(ctx context.Context) error
}

// New prepares a server: it checks the data dir, opens and migrates the
// database, loads the keys and binds the port. Any failure is a clear error
// and leaves nothing open.
func New(ctx context.Context, cfg Config) (s *Server, err error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:8080"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = "data"
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	if cfg.BackupKeep == 0 {
		cfg.BackupKeep = 30 * 24 * time.Hour
	}
	if cfg.BackupEvery < 0 || (cfg.BackupEvery > 0 && cfg.BackupEvery < time.Second) {
		return nil, fmt.Errorf("--backup-every %s: give an interval of a second or more (or 0 for none)", cfg.BackupEvery)
	}
	if cfg.BackupEvery > 0 && cfg.BackupDir == "" {
		return nil, errors.New("--backup-every needs --backup-dir, the folder the backups go to (best on another disk)")
	}
	if err := checkDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	var closers []func() error
	defer func() {
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				_ = closers[i]()
			}
		}
	}()
	// With SQLite one process serves a data dir (lock.go says why);
	// PostgreSQL is the engine for several.
	unlock := func() error { return nil }
	if cfg.Database == "" {
		if unlock, err = lockDataDir(cfg.DataDir); err != nil {
			return nil, err
		}
		closers = append(closers, unlock)
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("cannot listen on %s: the address is already in use (another homeserver running? pick another with --listen)", cfg.Listen)
		}
		return nil, fmt.Errorf("cannot listen on %s: %w", cfg.Listen, err)
	}
	closers = append(closers, ln.Close)
	addr := ln.Addr().String()
	if cfg.ServerName == "" {
		cfg.ServerName = addr
	}
	if !globalid.ValidServer(cfg.ServerName) {
		return nil, fmt.Errorf("server name %q is not a lower-case host name or IP address with an optional port (as in chat.example.org or 127.0.0.1:8080); pick another with --server-name", cfg.ServerName)
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + addr
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")

	store, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	closers = append(closers, store.Close)
	// On PostgreSQL other processes may serve the same homeserver: the
	// snowflake node comes from the database, and the work that must run
	// in one place is leased. SQLite's process is alone (the lock above).
	node := nodeID()
	var cl *cluster
	if cfg.Database != "" {
		if cl, err = joinCluster(ctx, store, cfg.Log); err != nil {
			return nil, err
		}
		node = cl.node
		closers = append(closers, func() error {
			rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return store.ReleaseNode(rctx, cl.node, cl.holder)
		})
	}
	var leases *lease.Keeper
	if cl != nil {
		leases = cl.leases
	}

	key, err := federation.LoadOrCreateKey(filepath.Join(cfg.DataDir, "signing.key"))
	if err != nil {
		return nil, err
	}
	tokenKey, err := loadOrCreateSecret(filepath.Join(cfg.DataDir, "token.key"))
	if err != nil {
		return nil, err
	}
	files, scaled, err := openFiles(ctx, cfg)
	if err != nil {
		return nil, err
	}
	var mailer homeserver.Mailer
	if cfg.SMTPURL != "" {
		m, err := mail.Parse(cfg.SMTPURL)
		if err != nil {
			return nil, fmt.Errorf("--smtp-url: %w", err)
		}
		mailer = m
	}
	hs, err := homeserver.New(homeserver.Config{
		ServerName: cfg.ServerName,
		Store:      store,
		Blobs:      files,
		IDs:        snowflake.NewGenerator(node),
		Leases:     leases,
		TokenKey:   tokenKey,
		TokenTTL:   cfg.TokenTTL,
		Password:   cfg.Password,
		Now:        cfg.Now,
		Log:        cfg.Log,
		PublicURL:  cfg.PublicURL,
		// Message and upload limits: Config's, zero meaning the defaults.
		MaxMessageLength:    cfg.MaxMessageLength,
		MaxUploadSize:       cfg.MaxUploadSize,
		MaxReplicaMembers:   cfg.MaxReplicaMembers,
		MaxNewPeerUsers:     cfg.MaxNewPeerUsers,
		MaxReplicaChannels:  cfg.MaxReplicaChannels,
		MaxReplicaThreads:   cfg.MaxReplicaThreads,
		MaxReplicaRoles:     cfg.MaxReplicaRoles,
		MaxReplicaEmojis:    cfg.MaxReplicaEmojis,
		Registration:        cfg.Registration,
		FederationAllowList: cfg.FederationAllowList,
		Mailer:              mailer,
		Mirrors:             cfg.Mirrors,
	})
	if err != nil {
		return nil, err
	}

	reg := &namingRegisterer{Registry: prometheus.NewRegistry(), names: map[string]bool{}}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{Namespace: "hearth"}),
		metrics.NewDBPools(store.Dialect(), store.Pools()),
		metrics.NewDiskSpace(cfg.DataDir),
	)
	httpMetrics := metrics.NewHTTP(reg)
	backups := newBackupMetrics(reg)
	reg.MustRegister(newClusterMetrics(hs.RelayCounts, cl))

	wsURL := "ws" + strings.TrimPrefix(cfg.PublicURL, "http") + "/gateway"
	gw := gateway.New(gateway.Config{Homeserver: hs, Log: cfg.Log, URL: wsURL, HeartbeatInterval: cfg.GatewayHeartbeat,
		PresenceRefresh: cfg.GatewayPresenceRefresh, Metrics: reg})
	// What /readyz says, for the alert rules (a scrape is no HTTP probe).
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hearth_ready",
		Help: "1 when the server is ready for traffic (database reachable, gateway delivering), as /readyz says; else 0."},
		func() float64 {
			if notReady(context.Background(), hs, gw) != "" {
				return 0
			}
			return 1
		}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hearth_federation_history_fetches_in_flight",
		Help: "Fetches of a replica channel's older history from its origin running now (one per channel at most)."},
		func() float64 { return float64(hs.HistoryFetches()) }))
	// Scaled copies of images live beside the uploads; deleting them
	// loses nothing (they are made again on demand).
	scaler, err := media.NewScaler(media.ScalerConfig{Bucket: scaled})
	if err != nil {
		return nil, err
	}
	api := clientapi.New(clientapi.Config{Homeserver: hs, Log: cfg.Log, RateLimit: cfg.RateLimit,
		MaxUpload: cfg.MaxUploadSize, GatewayURL: wsURL, Scaler: scaler,
		Fetch: federation.NewClient(cfg.InsecureFederation)})
	disc := &federation.Discovery{ServerName: cfg.ServerName, PublicURL: cfg.PublicURL, Version: Version, Key: key}
	keys := federation.PolicyKeys(federation.NewKeyCache(cfg.InsecureFederation), hs.PeerAllowed)
	inbound := federation.NewInbound(cfg.ServerName, keys, cfg.Log, reg, cfg.FederationLimits)
	remote := federation.NewRemote(cfg.ServerName, key, cfg.InsecureFederation)
	remote.SetPolicy(hs.PeerAllowed)
	if cfg.Now != nil {
		inbound.Stamp = cfg.Now
		remote.SetClock(cfg.Now)
	}
	hs.SetRemote(remote)
	hs.SetRefusals(inbound)
	hs.SetInteractionPoster(federation.NewWebPoster(cfg.InsecureFederation))
	sender := federation.NewSender(hs, remote, cfg.Log, reg)
	if leases != nil {
		sender.SetLeases(leases)
	}
	// What other processes commit from now on reaches this one's
	// sessions; what they committed before, its sessions read as state.
	if err := hs.StartRelay(ctx); err != nil {
		return nil, fmt.Errorf("cannot start: %w", err)
	}
	// A verified request says its peer is up: log delivery and owed
	// notices held back by a failure go to it now.
	inbound.Serve(hs, sender.Refresh, func(peer string) {
		sender.Wake(peer)
		hs.PeerSeen(context.Background(), peer)
	})

	mux := http.NewServeMux()
	// Read-only routes: anything but GET and HEAD is refused in JSON.
	route := func(pattern string, h http.Handler) {
		mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			metrics.SetRoute(r, pattern)
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				w.Header().Set("Allow", "GET, HEAD")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusMethodNotAllowed)
				_, _ = w.Write([]byte(`{"code":0,"message":"405: Method Not Allowed"}`))
				return
			}
			h.ServeHTTP(w, r)
		}))
	}
	if !cfg.NoClientAPI {
		mux.Handle("/gateway", gw)
		mux.Handle("/gateway/", gw)
		mux.Handle("/api/", api)
		mux.Handle("/api", api)
	}
	mux.Handle("/avatars/", api)
	mux.Handle("/banners/", api)
	mux.Handle("/icons/", api)
	mux.Handle("/emojis/", api)
	mux.Handle("/attachments/", api)
	route(federation.WellKnownPath, http.HandlerFunc(disc.ServeWellKnown))
	route(federation.KeysPath, http.HandlerFunc(disc.ServeKeys))
	// Every signed endpoint shares one bound on requests in flight.
	fed := func(pattern, path string, h http.HandlerFunc) {
		limited := inbound.Limit(h)
		mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			metrics.SetRoute(r, path)
			limited(w, r)
		}))
	}
	fed("POST "+federation.PingPath, federation.PingPath, inbound.ServePing)
	fed("POST "+federation.JoinPath, federation.JoinPath, inbound.ServeJoin)
	fed("POST "+federation.ActPath, federation.ActPath, inbound.ServeAct)
	fed("GET "+federation.EventsPath, federation.EventsPath, inbound.ServeEvents)
	fed("GET "+federation.MembersPath, federation.MembersPath, inbound.ServeMembers)
	fed("PUT "+federation.EphemeralPath, federation.EphemeralPath, inbound.ServeEphemeral)
	fed("GET "+federation.UserPath, federation.UserPath, inbound.ServeUser)
	fed("GET "+federation.UploadPath, federation.UploadPath, inbound.ServeUpload)
	fed("GET "+federation.HistoryPath, federation.HistoryPath, inbound.ServeHistory)
	fed("GET "+federation.InvitePath, federation.InvitePath, inbound.ServeInvite)
	fed("POST "+federation.RelationshipPath, federation.RelationshipPath, inbound.ServeRelationship)
	fed("POST "+federation.UserDeletedPath, federation.UserDeletedPath, inbound.ServeUserDeleted)
	fed("POST "+federation.InteractionNoticePath, federation.InteractionNoticePath, inbound.ServeInteractionNotice)
	fed("PUT "+federation.SendPath+"{txn}", federation.SendPath+"{txn}", inbound.ServeSend)
	route("/metrics", promhttp.HandlerFor(reg.Registry, promhttp.HandlerOpts{Registry: reg}))
	route("/healthz", http.HandlerFunc(healthz))
	route("/readyz", readyz(hs, gw))
	if !cfg.NoClientAPI {
		route("/", web.Handler())
	}

	s = &Server{
		cfg:      cfg,
		log:      cfg.Log,
		listener: ln,
		store:    store,
		hs:       hs,
		gateway:  gw,
		sender:   sender,
		scaler:   scaler,
		files:    files,
		url:      cfg.PublicURL,
		reg:      reg.Registry,
		unlock:   unlock,
		cluster:  cl,
		// Scheduled backups (schedule.go), when asked for.
		backupMetrics: backups,
		metricNames:   reg.names,
		http: &http.Server{
			Handler:           httpMetrics.Middleware(mux),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(cfg.Log.Handler(), slog.LevelWarn),
		},
	}
	return s, nil
}

func openStore(ctx context.Context, cfg Config) (storage.Store, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if cfg.Database == "" {
		path := filepath.Join(cfg.DataDir, "hearth.db")
		st, err := sqlite.Open(ctx, path, cfg.Log)
		if err != nil {
			return nil, fmt.Errorf("cannot open the SQLite database %s: %w", path, err)
		}
		return st, nil
	}
	if !strings.HasPrefix(cfg.Database, "postgres://") && !strings.HasPrefix(cfg.Database, "postgresql://") {
		return nil, fmt.Errorf("--database must be a postgres:// URL (or empty for SQLite in the data dir)")
	}
	st, err := postgres.Open(ctx, cfg.Database, cfg.Log)
	if err != nil {
		return nil, fmt.Errorf("cannot open the PostgreSQL database: %w", err)
	}
	return st, nil
}

// checkDataDir creates the data dir if needed and proves it writable.
func checkDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("data dir %s cannot be created: %w", dir, err)
	}
	probe, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return fmt.Errorf("data dir %s is not writable: %w", dir, err)
	}
	probe.Close()
	return os.Remove(probe.Name())
}

// loadOrCreateSecret keeps a 32-byte random secret in a file of mode 0600.
func loadOrCreateSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) < 32 {
			return nil, fmt.Errorf("%s is shorter than 32 bytes; delete it to make a new one (signs everyone out)", path)
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("make token key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return loadOrCreateSecret(path)
	}
	if err != nil {
		return nil, fmt.Errorf("save %s: %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, fmt.Errorf("save %s: %w", path, err)
	}
	return b, f.Close()
}

// nodeID gives this process its snowflake worker bits, from its PID, so
// that two processes sharing a PostgreSQL database rarely collide; IDs are
// primary keys, so a collision fails a write rather than merge objects.
// The generator moves the one node it reserves for backfilled messages.
func nodeID() uint16 { return uint16(os.Getpid() & 0x3FF) }

// URL is the base URL the server is reachable at.
func (s *Server) URL() string { return s.url }

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// ServerName is the server's federation name.
func (s *Server) ServerName() string { return s.cfg.ServerName }

// Homeserver is the domain service, for tests that need to reach past HTTP.
func (s *Server) Homeserver() *homeserver.Homeserver { return s.hs }

// Registry is the server's Prometheus registry, served at /metrics, for
// the metrics of what runs beside it (a bridge's).
func (s *Server) Registry() prometheus.Registerer { return s.reg }

// AddWorker runs fn beside the server once Serve starts, with a context
// that ends when the server stops; Serve waits for it before it closes the
// database, so fn may use the domain until it returns. An error fn returns
// while the server runs stops the server, and Serve returns it; call
// AddWorker before Serve.
func (s *Server) AddWorker(name string, fn func(ctx context.Context) error) {
	s.workers = append(s.workers, worker{name: name, run: fn})
}

// Store is the server's database, for tests that check what a request
// kept (or did not).
func (s *Server) Store() storage.Store { return s.store }

// Serve serves until ctx ends, then stops gracefully: it stops accepting,
// lets requests in flight finish (up to ShutdownTimeout), and closes the
// database.
func (s *Server) Serve(ctx context.Context) error {
	// A worker that fails stops the server as a signal would, and its
	// error is Serve's.
	ctx, failed := context.WithCancelCause(ctx)
	defer failed(nil)
	s.log.Info("hearth homeserver listening", "url", s.url, "listen", s.Addr(),
		"server_name", s.cfg.ServerName, "database", s.store.Dialect(), "data", s.cfg.DataDir, "version", Version)
	// The relay, the node lease and the named leases outlive everything
	// that uses them, and stop just before the database closes.
	clusterCtx, stopCluster := context.WithCancel(context.Background())
	var clusterDone []chan struct{}
	inCluster := func(fn func(ctx context.Context)) {
		done := make(chan struct{})
		clusterDone = append(clusterDone, done)
		go func() { defer close(done); fn(clusterCtx) }() // owned by Serve: ends with clusterCtx
	}
	inCluster(func(ctx context.Context) { s.hs.RunRelay(ctx, relayPoll) })
	if s.cluster != nil {
		inCluster(s.cluster.leases.Run)
		inCluster(func(ctx context.Context) {
			if err := s.cluster.keepNode(ctx); err != nil {
				s.log.Error("stopping", "err", err)
				failed(err)
			}
		})
	}
	leaveCluster := func() {
		stopCluster()
		for _, d := range clusterDone {
			<-d
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.listener) }()
	gwCtx, stopGateway := context.WithCancel(context.Background())
	gwDone := make(chan error, 1)
	go func() { gwDone <- s.gateway.Run(gwCtx) }()
	fedCtx, stopSender := context.WithCancel(context.Background())
	fedDone := make(chan error, 1)
	go func() { fedDone <- s.sender.Run(fedCtx) }()
	mCtx, stopMaintenance := context.WithCancel(context.Background())
	mDone := make(chan struct{})
	go func() { defer close(mDone); s.hs.RunMaintenance(mCtx, time.Minute) }()
	// The scaled-image sweep lives as long as maintenance and stops with it.
	sweepDone := make(chan struct{})
	go func() { defer close(sweepDone); s.sweepScaled(mCtx, 10*time.Minute) }()
	// The closed-account watch too: it closes the connections of accounts
	// the operator closed from the command line.
	watchDone := make(chan struct{})
	go func() { defer close(watchDone); s.hs.RunClosedAccountWatch(mCtx, 2*time.Second) }()
	// The owed-notice sender too: it polls what the command line queues.
	noticesDone := make(chan struct{})
	go func() { defer close(noticesDone); s.hs.RunNotices(mCtx, 2*time.Second) }()
	// Workers live as long as maintenance and stop with it, before the
	// database closes.
	workersDone := make(chan struct{}, len(s.workers))
	for _, w := range s.workers {
		go func() {
			defer func() { workersDone <- struct{}{} }()
			if err := w.run(mCtx); err != nil && mCtx.Err() == nil {
				s.log.Error("worker failed; stopping", "worker", w.name, "err", err)
				failed(fmt.Errorf("%s: %w", w.name, err))
			}
		}()
	}
	waitWorkers := func() {
		for range s.workers {
			<-workersDone
		}
	}
	backupsDone := make(chan struct{})
	go func() {
		defer close(backupsDone)
		if s.cfg.BackupEvery > 0 {
			s.runBackups(mCtx)
		}
	}()
	var serveErr error
	select {
	case serveErr = <-errc:
		stopGateway()
		<-gwDone
		stopMaintenance()
		<-mDone
		<-sweepDone
		<-watchDone
		<-noticesDone
		waitWorkers()
		<-backupsDone
		stopSender()
		<-fedDone
	case <-ctx.Done():
		s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout)
		// Requests in flight finish first, while the gateway still routes
		// their events (its connections are hijacked: http.Shutdown
		// leaves them be). Then the gateway routes what is left, tells its
		// clients to reconnect (op 7) and saves their sessions, so that
		// they resume on the next process having missed nothing.
		sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		if err := s.http.Shutdown(sctx); err != nil {
			s.log.Warn("graceful shutdown incomplete", "err", err)
			_ = s.http.Close()
		}
		cancel()
		serveErr = <-errc
		// Nothing else writes to the logs once the gateway drains: what
		// was committed is then routed and saved with the sessions.
		stopMaintenance()
		<-mDone
		<-sweepDone
		<-watchDone
		<-noticesDone
		waitWorkers()
		<-backupsDone
		stopSender()
		<-fedDone
		stopGateway()
		if err := <-gwDone; err != nil {
			s.log.Warn("gateway stopped with error", "err", err)
		}
	}
	leaveCluster()
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		serveErr = errors.Join(serveErr, cause)
	}
	if err := s.store.Close(); err != nil {
		serveErr = errors.Join(serveErr, fmt.Errorf("close database: %w", err))
	}
	_ = s.unlock()
	s.log.Info("stopped")
	return serveErr
}

// sweepScaled removes, every interval, the scaled copies of images the
// blob store no longer holds (the domain's sweep removed them).
func (s *Server) sweepScaled(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// A source has up to 16 copies: ask the store once per source
		// and pass (a round trip each when the files are in S3).
		known := map[string]bool{}
		stored := func(hash string) bool {
			if has, ok := known[hash]; ok {
				return has
			}
			has, err := s.files.Has(ctx, hash)
			known[hash] = has || err != nil // unsure: keep
			return known[hash]
		}
		n, err := s.scaler.Sweep(ctx, stored)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("sweep of scaled images failed", "err", err)
		case n > 0:
			s.log.Info("swept scaled images", "removed", n)
		}
	}
}

// Close releases a server that was made but never served.
func (s *Server) Close() error {
	var release error
	if s.cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		release = s.store.ReleaseNode(ctx, s.cluster.node, s.cluster.holder)
		cancel()
	}
	return errors.Join(release, s.listener.Close(), s.store.Close(), s.unlock())
}

func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
}

// notReady says why the server should not be sent traffic, or "" when it
// is ready: /readyz answers with it, and hearth_ready exports it.
func notReady(ctx context.Context, hs *homeserver.Homeserver, gw *gateway.Gateway) string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := hs.Ready(ctx); err != nil {
		return "database unreachable"
	}
	if !gw.Running() {
		return "gateway not delivering events"
	}
	return ""
}

func readyz(hs *homeserver.Homeserver, gw *gateway.Gateway) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if reason := notReady(r.Context(), hs, gw); reason != "" {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintf(w, `{"status":"unavailable","reason":%q}`+"\n", reason)
			return
		}
		_, _ = w.Write([]byte(`{"status":"ok","database":"ok"}` + "\n"))
	})
}

// openFiles opens the content-addressed file store and the bucket of
// scaled copies: folders in the data dir, or prefixes files/ and scaled/
// of the S3 bucket cfg.Files names (the same layout, so that a data dir's
// files/ folder copied to the bucket's files/ prefix moves a server's files
// there). Uploads are staged in the data dir either way.
func openFiles(ctx context.Context, cfg Config) (*blobs.Store, blobs.Bucket, error) {
	filesStaging := filepath.Join(cfg.DataDir, "files", "tmp")
	scaledStaging := filepath.Join(cfg.DataDir, "scaled", "tmp")
	if cfg.Files == "" {
		files, err := blobs.Open(filepath.Join(cfg.DataDir, "files"))
		if err != nil {
			return nil, nil, err
		}
		scaled, err := blobs.OpenDisk(filepath.Join(cfg.DataDir, "scaled"))
		if err != nil {
			return nil, nil, err
		}
		return files, scaled, nil
	}
	if !strings.HasPrefix(cfg.Files, "s3://") {
		return nil, nil, fmt.Errorf("--files %q: give s3://bucket or s3://bucket/prefix, or nothing to keep files in the data dir", cfg.Files)
	}
	s3cfg := cfg.FilesS3
	s3cfg.URL, s3cfg.Staging = cfg.Files, filesStaging
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	root, err := blobs.OpenS3(ctx, s3cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("--files %s: %w", cfg.Files, err)
	}
	files, err := root.Within("files", filesStaging)
	if err != nil {
		return nil, nil, err
	}
	scaled, err := root.Within("scaled", scaledStaging)
	if err != nil {
		return nil, nil, err
	}
	return blobs.New(files), scaled, nil
}

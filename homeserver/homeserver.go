// Package homeserver is the domain of a Hearth homeserver: accounts and
// sessions, and (as later parts land) guilds, channels, members, roles,
// messages and DMs, every change to which is appended to an ordered event log
// in the same transaction as the state it changes, then published on the bus.
// It knows no HTTP; the adapters in clientapi and federation call it.
package homeserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"hearth/homeserver/acts"
	"hearth/homeserver/bus"
	"hearth/homeserver/lease"
	"hearth/homeserver/password"
	"hearth/homeserver/remotefiles"
	"hearth/snowflake"
	"hearth/storage"
	"hearth/storage/blobs"
)

// Config is what a Homeserver is built from.
type Config struct {
	// ServerName is this homeserver's federation name (host[:port]).
	ServerName string
	Store      storage.Store
	// Blobs holds uploaded files (avatars, later attachments and emoji).
	Blobs *blobs.Store
	IDs   *snowflake.Generator
	// TokenKey signs session tokens; keep it secret and stable across
	// restarts, or every token becomes invalid.
	TokenKey []byte
	// TokenTTL is how long a user's token stays valid; zero means 90 days.
	TokenTTL time.Duration
	// Password is the argon2id cost; zero means password.Default.
	Password password.Params
	// Mailer sends mail (address confirmations, password resets); nil
	// sends none, and the email routes are refused.
	Mailer Mailer
	// Mirrors says every guild of this server mirrors a Discord guild (a
	// Discord bridge, spec/bridge.md): Discord decides its roles,
	// channels, settings, emoji, bans and webhooks, so only the guild's
	// owner (the bot's puppet, acting for Discord) holds the permissions
	// to change them; anyone else is refused with ErrMirrorAuthority,
	// whatever their roles say. Its local users (Discord users' puppets)
	// count as administrators of the mirrors, whose roles and overwrites
	// describe what Hearth people may do.
	Mirrors bool
	// PublicURL is the base URL of this server, for attachment URLs.
	PublicURL string
	// MaxMessageLength bounds message content in characters; zero means
	// 4000.
	MaxMessageLength int
	// MaxUploadSize bounds one attachment in bytes; zero means 25 MiB.
	MaxUploadSize int64
	// Registration is RegistrationOpen (the default, when empty),
	// RegistrationInvite or RegistrationClosed.
	Registration string
	// FederationAllowList federates only with the servers an
	// administrator allows, instead of with every server not blocked.
	FederationAllowList bool
	// DeferPolicyCuts is set by the command line: a federation rule it
	// writes does not end memberships itself; the running server (or the
	// next to start) does, within its watch period, so that its gateways
	// and peers hear the GUILD_MEMBER_REMOVEs (RunClosedAccountWatch).
	DeferPolicyCuts bool
	// MaxReplicaMembers bounds the members a replica guild holds: a
	// snapshot, member page or event batch of its origin's that would
	// take it over is refused whole; zero means DefaultMaxReplicaMembers.
	MaxReplicaMembers int
	// MaxNewPeerUsers bounds the user rows one payload of a peer's (an
	// event batch, snapshot, member page or history page) may create;
	// zero means DefaultMaxNewPeerUsers.
	MaxNewPeerUsers int
	// Leases divides work among the processes sharing a PostgreSQL
	// database (one runs the sweeps at a time); nil means this process is
	// alone and runs everything.
	Leases *lease.Keeper
	// MaxReplicaChannels, MaxReplicaThreads and MaxReplicaRoles bound the
	// channels (categories included), threads (archived included) and
	// roles a replica guild holds, as MaxReplicaMembers its members; zero
	// means the defaults.
	MaxReplicaChannels, MaxReplicaThreads, MaxReplicaRoles int
	// MaxReplicaEmojis bounds the custom emoji of a replica guild, static
	// and animated together; zero means DefaultMaxReplicaEmojis.
	MaxReplicaEmojis int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// Bounds of what peers may make this server keep (spec/federation.md §14,
// "Bounded peer state"): far above a real community, far below a flood.
const (
	// DefaultMaxReplicaMembers is the members of one replica guild.
	DefaultMaxReplicaMembers = 250_000
	// DefaultMaxReplicaChannels is the channels of one replica guild: four
	// times what a guild of this server may have (MaxChannelsPerGuild),
	// for origins that allow more.
	DefaultMaxReplicaChannels = 4 * MaxChannelsPerGuild
	// DefaultMaxReplicaRoles is the roles of one replica guild, likewise.
	DefaultMaxReplicaRoles = 4 * MaxRolesPerGuild
	// DefaultMaxReplicaEmojis is the custom emoji of one replica guild,
	// static and animated together: twice Discord's most (250 of each
	// kind at the top boost level) and five times what a guild of this
	// server may have (MaxEmojisPerGuild of each kind), for origins that
	// allow more; each row is small, but its image is fetched on demand.
	DefaultMaxReplicaEmojis = 1_000
	// DefaultMaxReplicaThreads is the threads of one replica guild,
	// archived ones included, which a busy guild gathers over years.
	DefaultMaxReplicaThreads = 100_000
	// DefaultMaxNewPeerUsers is the user rows one payload may create: a
	// snapshot or member page introduces at most about 1,000 members, a
	// transaction at most 500 events.
	DefaultMaxNewPeerUsers = 5_000
)

// Homeserver is the domain service. It is safe for concurrent use.
type Homeserver struct {
	cfg      Config
	store    storage.Store
	bus      *bus.Bus
	log      *slog.Logger
	sessions *ttlLRU[snowflake.ID, storage.Session]
	// closings: the account closings the gateway has been told of.
	closings closings
	// notices: the owed-notice sender's state (notices.go).
	notices noticeQueue
	// exports: the accounts whose export is being written, and the
	// limit on exports per account.
	exports      exports
	exportLimits *windowLimiter
	// reportLimits bounds each user's reports.
	reportLimits *windowLimiter
	// mailLimits bounds the mail each account causes.
	mailLimits *windowLimiter
	// writer batches concurrent writes to one log (see batch.go).
	writer logWriter
	// relay carries committed events to and from the other processes
	// sharing the database (relay.go); nil with SQLite.
	relay *relay
	// cache and hot serve the reads of the hot paths (see cache.go).
	cache *stateCache
	hot   cachedReader
	// hashing bounds the argon2id computations running at once (each takes
	// Password.Memory): a flood of logins waits instead of exhausting
	// memory.
	hashing chan struct{}
	// remote reaches other homeservers (nil until SetRemote).
	remote Remote
	// refusals counts peers' refused answers (SetRefusals); nil: none.
	refusals Refusals
	// replicas serialises the application of each replica's events.
	replicas keyedMutex
	// policy caches the federation rules (admin.go).
	policy federationPolicy
	// lending holds the uploads a peer may fetch while it handles a send
	// of one of this server's users.
	lending remotefiles.Lending
	// acts is the table of the actions a peer may ask of this server as
	// the origin (originact.go), made once.
	acts map[string]acts.Handler[Principal]
	// background holds work that must not hold up the request that gave
	// rise to it (a new replica's member pages); RunMaintenance runs it.
	background chan func(context.Context)
	// tasks are the goroutines background work started (fetches of older
	// history); RunMaintenance waits for them as it stops.
	tasks sync.WaitGroup
	// backfills are the fetches of older history in flight, by channel.
	backfills backfillRuns
	// friendLimits bounds friend requests per user (of this server, or
	// a peer's); peerRelLimits bounds relationship acts per peer.
	friendLimits, peerRelLimits *windowLimiter
	// interactions are the interactions this process waits on.
	interactions interactionWatch
	// poster reaches applications' interactions endpoints (nil: none).
	poster InteractionPoster
	// dummyHash is verified against when a login names nobody, so that a
	// wrong name costs as long as a wrong password.
	dummyHash string
}

// New builds a Homeserver.
func New(cfg Config) (*Homeserver, error) {
	if cfg.Store == nil || cfg.IDs == nil || cfg.Blobs == nil {
		return nil, errors.New("homeserver: Store, Blobs and IDs are required")
	}
	if len(cfg.TokenKey) < 32 {
		return nil, errors.New("homeserver: TokenKey must be at least 32 bytes")
	}
	if cfg.TokenTTL == 0 {
		cfg.TokenTTL = 90 * 24 * time.Hour
	}
	if cfg.Password == (password.Params{}) {
		cfg.Password = password.Default
	}
	if cfg.MaxReplicaMembers <= 0 {
		cfg.MaxReplicaMembers = DefaultMaxReplicaMembers
	}
	if cfg.MaxNewPeerUsers <= 0 {
		cfg.MaxNewPeerUsers = DefaultMaxNewPeerUsers
	}
	if cfg.MaxReplicaChannels <= 0 {
		cfg.MaxReplicaChannels = DefaultMaxReplicaChannels
	}
	if cfg.MaxReplicaThreads <= 0 {
		cfg.MaxReplicaThreads = DefaultMaxReplicaThreads
	}
	if cfg.MaxReplicaRoles <= 0 {
		cfg.MaxReplicaRoles = DefaultMaxReplicaRoles
	}
	if cfg.MaxReplicaEmojis <= 0 {
		cfg.MaxReplicaEmojis = DefaultMaxReplicaEmojis
	}
	if cfg.MaxMessageLength == 0 {
		cfg.MaxMessageLength = 4000
	}
	if cfg.MaxUploadSize == 0 {
		cfg.MaxUploadSize = 25 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	switch cfg.Registration {
	case "":
		cfg.Registration = RegistrationOpen
	case RegistrationOpen, RegistrationInvite, RegistrationClosed:
	default:
		return nil, fmt.Errorf("homeserver: registration %q is none of %q, %q, %q", cfg.Registration, RegistrationOpen, RegistrationInvite, RegistrationClosed)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	dummy, err := password.Hash("not a password anyone has", cfg.Password)
	if err != nil {
		return nil, err
	}
	cache := newStateCache()
	var rl *relay
	if b, ok := cfg.Store.(storage.Broadcast); ok {
		var tag [8]byte
		_, _ = rand.Read(tag[:])
		rl = newRelay(b, hex.EncodeToString(tag[:]))
	}
	h := &Homeserver{
		relay:      rl,
		hashing:    make(chan struct{}, runtime.GOMAXPROCS(0)),
		background: make(chan func(context.Context), 256),
		cache:      cache,
		hot:        cachedReader{Reader: cfg.Store, c: cache},
		cfg:        cfg,
		store:      cfg.Store,
		bus:        bus.New(busLog(cfg.Store, cache, rl != nil)),
		log:        cfg.Log,
		// A revoked session leaves this cache at once in this process;
		// the TTL bounds how long another process sharing the database
		// may still honour it.
		sessions:      newTTL[snowflake.ID, storage.Session](100_000, 30*time.Second),
		dummyHash:     dummy,
		interactions:  newInteractionWatch(),
		notices:       newNoticeQueue(),
		friendLimits:  newWindowLimiter(friendRequestLimit, friendRequestWindow, relationshipLimitKeys),
		peerRelLimits: newWindowLimiter(peerRelationshipLimit, peerRelationshipWin, relationshipLimitKeys),
		exportLimits:  newWindowLimiter(exportLimit, exportWindow, 10_000),
		reportLimits:  newWindowLimiter(reportLimit, reportWindow, 10_000),
		mailLimits:    newWindowLimiter(mailLimit, mailWindow, 10_000),
	}
	h.acts = h.actTable()
	return h, nil
}

// busLog is what the bus reads to fill a session's gap. With other
// processes writing the same logs, an event read that way may be one whose
// announcement has not reached this process yet: the reader drops what the
// cache holds about its guild before the event is routed, so no session is
// served a permission older than an event it got.
func busLog(store storage.Store, cache *stateCache, shared bool) bus.Log {
	if !shared {
		return store
	}
	return invalidatingLog{store, cache}
}

type invalidatingLog struct {
	log   bus.Log
	cache *stateCache
}

func (l invalidatingLog) Events(ctx context.Context, logID snowflake.ID, after int64, limit int) ([]storage.Event, error) {
	evs, err := l.log.Events(ctx, logID, after, limit)
	if err == nil {
		l.cache.changed(evs)
	}
	return evs, err
}

// Bus is where committed events are published.
func (h *Homeserver) Bus() *bus.Bus { return h.bus }

// ServerName is this homeserver's federation name.
func (h *Homeserver) ServerName() string { return h.cfg.ServerName }

// Ready reports whether the homeserver can serve: the database answers.
func (h *Homeserver) Ready(ctx context.Context) error {
	if err := h.store.Ping(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

func (h *Homeserver) now() time.Time { return h.cfg.Now().UTC() }

// leader reports whether this process runs the job named now: always when
// it is alone, else when it holds the job's lease.
func (h *Homeserver) leader(ctx context.Context, job string) bool {
	return h.cfg.Leases == nil || h.cfg.Leases.Hold(ctx, job)
}

// events collects what one transaction appends, written to the log at the
// end of the transaction in one go and published after commit.
type events struct {
	tx      storage.Tx
	now     time.Time
	pending []storage.Event
	out     []storage.Event
	// ephemeral are published after the commit too, but never logged.
	ephemeral []storage.Event
	// replica is the one replica log this transaction applies its
	// origin's events to (0: a local write, which may append to no
	// replica's log; see checkLogs).
	replica snowflake.ID
	// act is the peer's act this transaction carries out ("" for none),
	// recorded with each event it logs.
	act string
}

// applyingReplica says that this transaction applies the events of the
// replica logID's origin, and so may append to that replica's log (and to
// no other replica's).
func (e *events) applyingReplica(logID snowflake.ID) { e.replica = logID }

// Ephemeral adds an event that is published once the transaction has
// committed but is not in any log (Seq 0): it reaches those connected now
// and nobody later.
func (e *events) Ephemeral(logID snowflake.ID, typ string, payload any) error {
	ev, err := e.encode(logID, typ, payload)
	if err != nil {
		return err
	}
	e.ephemeral = append(e.ephemeral, ev)
	return nil
}

// encode makes an event whose payload is encoded now, so that later
// changes to the payload do not leak into it.
func (e *events) encode(logID snowflake.ID, typ string, payload any) (storage.Event, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return storage.Event{}, fmt.Errorf("encode %s: %w", typ, err)
	}
	return storage.Event{LogID: logID, Type: typ, Payload: b, CreatedAt: e.now, Act: e.act}, nil
}

// Append adds an event with a Discord dispatch name to a log. The payload
// is encoded now, so later changes to it do not leak into the log.
func (e *events) Append(ctx context.Context, logID snowflake.ID, typ string, payload any) error {
	ev, err := e.encode(logID, typ, payload)
	if err != nil {
		return err
	}
	e.pending = append(e.pending, ev)
	return nil
}

// flush writes the pending events, grouped by log in order of first use.
func (e *events) flush(ctx context.Context) error {
	if len(e.pending) == 0 {
		return nil
	}
	var ordered []storage.Event
	done := map[int]bool{}
	for i := range e.pending {
		if done[i] {
			continue
		}
		for j := i; j < len(e.pending); j++ {
			if !done[j] && e.pending[j].LogID == e.pending[i].LogID {
				ordered = append(ordered, e.pending[j])
				done[j] = true
			}
		}
	}
	out, err := e.tx.AppendEvents(ctx, ordered)
	if err != nil {
		return err
	}
	e.out, e.pending = append(e.out, out...), nil
	return nil
}

// checkLogs is the write door's lock. A guild or DM channel this server
// copies from another homeserver (a replica) changes only as its origin's
// events say: a write of this server's users to it is forwarded to the
// origin as an act, decided where the write begins. Every change appends
// to its log in the same transaction, so refusing here any append to a
// replica's log except by the transaction applying that replica's events
// makes a write that forgot to forward fail whole, instead of forking the
// replica from its origin.
//
// The check reads the state cache, not the transaction: whether a guild or
// DM channel is a replica never changes (a log made in this transaction is
// not one, unless the transaction applies it), so it costs the write no
// round trip inside the log's write lock (on the send path that was ~7 %
// of PostgreSQL's throughput).
func (h *Homeserver) checkLogs(ctx context.Context, evs []storage.Event, applying snowflake.ID) error {
	var last snowflake.ID
	for _, e := range evs {
		if e.LogID == last || e.LogID == applying {
			continue
		}
		last = e.LogID
		origin := ""
		if g, err := h.hot.GuildByID(ctx, e.LogID); err == nil {
			origin = g.Origin
		} else if !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("check log %d: %w", e.LogID, err)
		} else if c, err := h.hot.ChannelByID(ctx, e.LogID); err == nil {
			origin = c.Origin
		} else if !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("check log %d: %w", e.LogID, err)
		}
		if origin != "" {
			return fmt.Errorf("local write to the log of %d, a replica of %s: %w", e.LogID, origin, ErrRemoteGuild)
		}
	}
	return nil
}

// update runs fn in one transaction and, once it has committed, publishes
// the events fn appended. Every state change of the domain goes through it.
func (h *Homeserver) update(ctx context.Context, fn func(tx storage.Tx, ev *events) error) error {
	var ev *events
	err := h.store.Update(ctx, func(tx storage.Tx) error {
		ev = &events{tx: tx, now: h.now(), act: actOf(ctx)} // fresh on a retried transaction
		if err := fn(tx, ev); err != nil {
			return err
		}
		if err := h.checkLogs(ctx, ev.pending, ev.replica); err != nil {
			return err
		}
		return ev.flush(ctx)
	})
	if err != nil {
		return err
	}
	h.committed(ev.out, ev.ephemeral)
	return nil
}

// storeErr turns a storage failure that is not a domain outcome into
// ErrUnavailable, keeping the cause for the log.
func storeErr(op string, err error) error {
	return fmt.Errorf("%s: %w: %w", op, ErrUnavailable, err)
}

// hash runs fn (an argon2id hash or verification) when a hashing slot is
// free, or fails when ctx ends first.
func (h *Homeserver) hash(ctx context.Context, fn func()) error {
	select {
	case h.hashing <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("waiting to hash: %w: %w", ErrUnavailable, ctx.Err())
	}
	defer func() { <-h.hashing }()
	fn()
	return nil
}

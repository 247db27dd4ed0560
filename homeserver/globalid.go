package homeserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"hearth/snowflake"
	"hearth/storage"
)

// Between homeservers every object is named by a global ID, "<id>@<origin>":
// its snowflake on the homeserver that made it and that homeserver's name.
// Payloads cross the wire as Discord JSON whose ID fields hold global IDs;
// each side turns them into its own snowflakes (spec/federation.md).

// GlobalID writes a global ID.
func GlobalID(id snowflake.ID, origin string) string {
	return strconv.FormatUint(uint64(id), 10) + "@" + origin
}

// ParseGlobalID splits a global ID into the ID on its origin and the origin.
func ParseGlobalID(s string) (string, string, bool) {
	id, origin, ok := strings.Cut(s, "@")
	if !ok || id == "" || origin == "" || len(id) > 20 || len(origin) > 255 {
		return "", "", false
	}
	for _, c := range id {
		if c < '0' || c > '9' {
			return "", "", false
		}
	}
	return id, origin, true
}

// idKey reports whether a JSON key holds snowflakes (or lists of them) in
// Discord's payloads.
func idKey(k string) bool {
	return k == "id" || k == "ids" || k == "roles" || k == "mention_roles" ||
		strings.HasSuffix(k, "_id") || strings.HasSuffix(k, "_ids")
}

var (
	localMention  = regexp.MustCompile(`<(@!?|@&|#)(\d{1,20})>`)
	globalMention = regexp.MustCompile(`<(@!?|@&|#)(\d{1,20}@[A-Za-z0-9.:\-\[\]]{1,255})>`)
)

// userIDKey reports whether a JSON key holds a bare user ID (no user
// object around it).
func userIDKey(k string) bool {
	return k == "user_id" || k == "owner_id" || k == "author_id"
}

// walkIDs calls fn on every ID string of a decoded JSON value (values of
// ID keys, with the key, and the IDs of mentions in "content"), replacing
// each with what fn returns.
func walkIDs(v any, key string, fn func(key, id string) string, content func(string) string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "content" {
				x[k] = content(s)
				continue
			}
			x[k] = walkIDs(e, k, fn, content)
		}
	case []any:
		for i, e := range x {
			x[i] = walkIDs(e, key, fn, content)
		}
	case string:
		if idKey(key) {
			return fn(key, x)
		}
	}
	return v
}

func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode payload: %w", err)
	}
	return v, nil
}

// globalize rewrites a payload of this homeserver's snowflakes into global
// IDs: objects it mirrors get their origin's name, its own get its own.
func (h *Homeserver) globalize(ctx context.Context, r storage.Reader, payload []byte) ([]byte, error) {
	out, err := h.globalizeMany(ctx, r, [][]byte{payload})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// globalizeMany globalizes several payloads with one lookup of the IDs
// they name.
func (h *Homeserver) globalizeMany(ctx context.Context, r storage.Reader, payloads [][]byte) ([][]byte, error) {
	vs := make([]any, len(payloads))
	seen := map[snowflake.ID]bool{}
	var ids []snowflake.ID
	collect := func(s string) string {
		if n, err := strconv.ParseUint(s, 10, 64); err == nil && !seen[snowflake.ID(n)] {
			seen[snowflake.ID(n)] = true
			ids = append(ids, snowflake.ID(n))
		}
		return s
	}
	collectContent := func(s string) string {
		for _, m := range localMention.FindAllStringSubmatch(s, -1) {
			collect(m[2])
		}
		return s
	}
	for i, p := range payloads {
		v, err := decodeJSON(p)
		if err != nil {
			return nil, err
		}
		vs[i] = walkIDs(v, "", func(_, s string) string { return collect(s) }, collectContent)
	}
	origins, err := r.FederatedOrigins(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("globalize: %w", err)
	}
	global := func(s string) string {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return s
		}
		if g, ok := origins[snowflake.ID(n)]; ok {
			return g.OriginID + "@" + g.Origin
		}
		return s + "@" + h.cfg.ServerName
	}
	content := func(s string) string {
		return localMention.ReplaceAllStringFunc(s, func(m string) string {
			p := localMention.FindStringSubmatch(m)
			return "<" + p[1] + global(p[2]) + ">"
		})
	}
	out := make([][]byte, len(vs))
	for i, v := range vs {
		if out[i], err = json.Marshal(walkIDs(v, "", func(_, s string) string { return global(s) }, content)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// localizer turns global IDs into this homeserver's snowflakes. With a
// transaction it gives objects it has not seen a new snowflake; without
// one (lookup only) an unknown object is an error.
//
// In replica mode (origin set, see forReplica) it resolves what one origin
// says about one replica, and refuses with ErrForbidden, before anything is
// written, every ID the origin does not own there (spec/federation.md §10.1):
//   - an ID of this server names one of its users, or is refused: the
//     receiver's channels, messages, roles, emojis and guilds are never
//     named by a peer;
//   - an ID of a third server names a user of that server (known, or
//     introduced by a user object of the payload), or is refused;
//   - an ID of the origin names an object of the replica (scope) or a user
//     (scope 0), or is new and becomes the replica's.
//
// It records the local IDs that name the origin's objects (own), so that
// the applier can check each write's target after localization.
type localizer struct {
	h     *Homeserver
	r     storage.Reader
	tx    storage.Tx
	cache map[string]snowflake.ID
	err   error
	// known holds mappings preload found, not yet checked; absent holds
	// global IDs it found unmapped: they get a new snowflake without
	// asking the database again.
	known  map[string]storage.Mapping
	absent map[string]bool
	// pending holds new mappings when deferred is set, written by flush in
	// one statement (a batch of events maps many new messages).
	deferred bool
	pending  map[storage.GlobalID]storage.Mapping
	// users are the user objects already mirrored in this transaction.
	users map[string]bool

	// origin, in replica mode, is the server whose objects the payload
	// may name, and scope the replica's local guild or DM channel (0 while
	// a snapshot's guild is not mapped yet).
	origin string
	scope  snowflake.ID
	// signer is the server that signed the payload: a user's profile is
	// updated only from the user's own server.
	signer string
	// own holds the local IDs that name objects of origin.
	own map[snowflake.ID]bool
	// asUser is set while ensureUser maps a user object's ID: only then may
	// a third server's unknown ID be mapped (as a user). userKey is set
	// while an ID under a bare user ID key is resolved: a new one of the
	// origin is mapped as a user (scope 0), so that naming the user again
	// from another of its replicas is not taken for a cross-replica
	// reference.
	asUser, userKey bool
	// uses counts how often each local ID was resolved, and idle how many
	// of those were as the target of a delete (or of a change that found
	// nothing): a new mapping used only so is not written by flush, since
	// no stored object needs it.
	uses, idle map[snowflake.ID]int
}

func (h *Homeserver) newLocalizer(r storage.Reader, tx storage.Tx) *localizer {
	return &localizer{h: h, r: r, tx: tx, cache: map[string]snowflake.ID{}, known: map[string]storage.Mapping{},
		absent: map[string]bool{}, pending: map[storage.GlobalID]storage.Mapping{}, users: map[string]bool{},
		own: map[snowflake.ID]bool{}, uses: map[snowflake.ID]int{}, idle: map[snowflake.ID]int{}}
}

// unneeded records uses of IDs that keep nothing: the targets of a delete,
// or of a change of an object the replica does not have.
func (l *localizer) unneeded(ids ...snowflake.ID) {
	for _, id := range ids {
		l.idle[id]++
	}
}

// forReplica puts the localizer in replica mode for what origin says
// about the replica scope, origin being the signer.
func (l *localizer) forReplica(origin string, scope snowflake.ID) *localizer {
	l.origin, l.scope, l.signer = origin, scope, origin
	return l
}

// preload looks up many global IDs in one query.
func (l *localizer) preload(ctx context.Context, globals []string) error {
	var gs []storage.GlobalID
	seen := map[string]bool{}
	for _, g := range globals {
		raw, origin, ok := ParseGlobalID(g)
		if !ok || origin == l.h.cfg.ServerName || seen[g] {
			continue
		}
		if _, ok := l.cache[g]; ok {
			continue
		}
		seen[g] = true
		gs = append(gs, storage.GlobalID{Origin: origin, OriginID: raw})
	}
	if len(gs) == 0 {
		return nil
	}
	found, err := l.r.FederatedIDs(ctx, gs)
	if err != nil {
		return err
	}
	for _, g := range gs {
		key := g.OriginID + "@" + g.Origin
		if m, ok := found[g]; ok {
			l.known[key] = m
		} else {
			l.absent[key] = true
		}
	}
	return nil
}

// flush writes the deferred mappings.
func (l *localizer) flush(ctx context.Context) error {
	for g, m := range l.pending {
		if n := l.idle[m.Local]; n > 0 && l.uses[m.Local] <= n {
			delete(l.pending, g)
		}
	}
	if len(l.pending) == 0 {
		return nil
	}
	if err := l.tx.MapFederatedIDs(ctx, l.pending); err != nil {
		return err
	}
	clear(l.pending)
	return nil
}

// globalsIn lists the global IDs a decoded payload holds.
func globalsIn(v any) []string {
	var out []string
	add := func(s string) string {
		if _, _, ok := ParseGlobalID(s); ok {
			out = append(out, s)
		}
		return s
	}
	walkIDs(v, "", func(_, s string) string { return add(s) }, func(s string) string {
		for _, m := range globalMention.FindAllStringSubmatch(s, -1) {
			add(m[2])
		}
		return s
	})
	return out
}

var (
	// errUnknownGlobal: a global ID names nothing this homeserver knows.
	errUnknownGlobal = errors.New("unknown global id")
	// errMalformedGlobal: a string that should be a global ID is not one.
	errMalformedGlobal = errors.New("malformed global id")
)

// id localizes one global ID.
func (l *localizer) id(ctx context.Context, g string) (snowflake.ID, error) {
	if id, ok := l.cache[g]; ok {
		l.uses[id]++
		return id, nil
	}
	raw, origin, ok := ParseGlobalID(g)
	if !ok {
		return 0, fmt.Errorf("%q: %w", g, errMalformedGlobal)
	}
	var id snowflake.ID
	if origin == l.h.cfg.ServerName {
		n, err := strconv.ParseUint(raw, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q: %w", g, errMalformedGlobal)
		}
		id = snowflake.ID(n)
		if l.origin != "" {
			if err := l.localUser(ctx, g, id); err != nil {
				return 0, err
			}
		}
	} else {
		m, found := l.known[g]
		if !found && !l.absent[g] {
			var err error
			m, err = l.r.FederatedID(ctx, origin, raw)
			switch {
			case err == nil:
				found = true
			case !errors.Is(err, storage.ErrNotFound):
				return 0, err
			}
		}
		switch {
		case found:
			if err := l.mayName(ctx, g, origin, m); err != nil {
				return 0, err
			}
			id = m.Local
		case l.tx == nil:
			return 0, fmt.Errorf("%s: %w", g, errUnknownGlobal)
		case l.origin != "" && origin != l.origin && !l.asUser:
			// Mapping it would keep a row no object needs, and the
			// origin has no say over a third server's objects.
			return 0, fmt.Errorf("%s names %s, an object of a third server: %w", l.origin, g, ErrForbidden)
		default:
			id = l.h.cfg.IDs.Next()
			gid := storage.GlobalID{Origin: origin, OriginID: raw}
			nm := storage.Mapping{Local: id, Scope: l.scope}
			if l.asUser || l.userKey {
				nm.Scope = 0
			}
			if l.deferred {
				l.pending[gid] = nm
			} else if err := l.tx.MapFederatedID(ctx, gid, nm); err != nil {
				return 0, err
			}
		}
		if origin == l.origin {
			l.own[id] = true
		}
	}
	l.cache[g] = id
	l.uses[id]++
	return id, nil
}

// localUser refuses, in replica mode, an ID of this server that is not
// one of its users: a peer names the receiver's users (members, authors,
// mentions) and nothing else of it.
func (l *localizer) localUser(ctx context.Context, g string, id snowflake.ID) error {
	u, err := l.r.UserByID(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && u.Origin != "") {
		return fmt.Errorf("%s names %s, which is not a user of this server: %w", l.origin, g, ErrForbidden)
	}
	return err
}

// mayName checks, in replica mode, a known mapping against the rules of
// the localizer's doc.
func (l *localizer) mayName(ctx context.Context, g, origin string, m storage.Mapping) error {
	if l.origin == "" {
		return nil
	}
	if origin == l.origin {
		if m.Scope == 0 || m.Scope == l.scope || l.asUser {
			return nil // a user object: ensureUser checks the row
		}
		// A user first named by a bare ID (an owner_id, a reaction's
		// user_id) was mapped in that replica's scope; users belong to
		// none, so the row decides.
		u, err := l.r.UserByID(ctx, m.Local)
		if err == nil && u.Origin == origin {
			return nil
		}
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		return fmt.Errorf("%s names %s, an object of another replica: %w", l.origin, g, ErrForbidden)
	}
	if l.asUser {
		return nil // ensureUser checks the row it finds
	}
	u, err := l.r.UserByID(ctx, m.Local)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && u.Origin != origin) {
		return fmt.Errorf("%s names %s, which is not a user of %s: %w", l.origin, g, origin, ErrForbidden)
	}
	return err
}

// mention localizes the ID of a mention in a message's text. A mention is
// text and never the target of a write: in replica mode it is only looked
// up (an ID of this server is its own number, any other one what it maps
// to), never checked against the rules nor cached for the IDs that are,
// and it makes no mapping: one that names nothing known here is left as
// the origin wrote it.
func (l *localizer) mention(ctx context.Context, g string) (string, bool) {
	if l.origin == "" {
		id, err := l.id(ctx, g)
		if err != nil {
			l.err = err
			return g, false
		}
		return strconv.FormatUint(uint64(id), 10), true
	}
	raw, origin, ok := ParseGlobalID(g)
	switch {
	case !ok:
		return g, false
	case origin == l.h.cfg.ServerName:
		return raw, true
	}
	if id, ok := l.cache[g]; ok {
		return strconv.FormatUint(uint64(id), 10), true
	}
	m, found := l.known[g]
	if !found && !l.absent[g] {
		var err error
		m, err = l.r.FederatedID(ctx, origin, raw)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			l.err = err
			return g, false
		}
		found = err == nil
	}
	if !found {
		return g, false
	}
	return strconv.FormatUint(uint64(m.Local), 10), true
}

// payload localizes every global ID of a payload. Strings under ID keys
// that are not global IDs are left alone.
func (l *localizer) payload(ctx context.Context, b []byte) ([]byte, error) {
	v, err := decodeJSON(b)
	if err != nil {
		return nil, err
	}
	return l.value(ctx, v)
}

// value is payload for a decoded payload, which it rewrites in place.
func (l *localizer) value(ctx context.Context, v any) ([]byte, error) {
	local := func(key, s string) string {
		if l.err != nil {
			return s
		}
		if _, _, ok := ParseGlobalID(s); !ok {
			return s
		}
		l.userKey = userIDKey(key)
		id, err := l.id(ctx, s)
		l.userKey = false
		if err != nil {
			l.err = err
			return s
		}
		return strconv.FormatUint(uint64(id), 10)
	}
	v = walkIDs(v, "", local, func(s string) string {
		return globalMention.ReplaceAllStringFunc(s, func(m string) string {
			if l.err != nil {
				return m
			}
			p := globalMention.FindStringSubmatch(m)
			if id, ok := l.mention(ctx, p[2]); ok {
				return "<" + p[1] + id + ">"
			}
			return m
		})
	})
	if l.err != nil {
		return nil, l.err
	}
	return json.Marshal(v)
}

// keyedMutex hands out one mutex per key, kept for the life of the
// process (one per replica guild: few, and small).
type keyedMutex struct {
	mu sync.Mutex
	m  map[snowflake.ID]*sync.Mutex
}

func (k *keyedMutex) lock(id snowflake.ID) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[snowflake.ID]*sync.Mutex{}
	}
	l, ok := k.m[id]
	if !ok {
		l = &sync.Mutex{}
		k.m[id] = l
	}
	k.mu.Unlock()
	l.Lock()
	return l.Unlock
}

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

// walkIDs calls fn on every ID string of a decoded JSON value (values of
// ID keys, and the IDs of mentions in "content"), replacing each with what
// fn returns.
func walkIDs(v any, key string, fn func(string) string, content func(string) string) any {
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
			return fn(x)
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
		vs[i] = walkIDs(v, "", collect, collectContent)
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
		if out[i], err = json.Marshal(walkIDs(v, "", global, content)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// localizer turns global IDs into this homeserver's snowflakes. With a
// transaction it gives objects it has not seen a new snowflake; without
// one (lookup only) an unknown object is an error.
type localizer struct {
	h     *Homeserver
	r     storage.Reader
	tx    storage.Tx
	cache map[string]snowflake.ID
	err   error
	// absent holds global IDs that preload found unmapped: they get a new
	// snowflake without asking the database again.
	absent map[string]bool
	// pending holds new mappings when deferred is set, written by flush in
	// one statement (a batch of events maps many new messages).
	deferred bool
	pending  map[storage.GlobalID]snowflake.ID
	// users are the user objects already mirrored in this transaction.
	users map[string]bool
}

func (h *Homeserver) newLocalizer(r storage.Reader, tx storage.Tx) *localizer {
	return &localizer{h: h, r: r, tx: tx, cache: map[string]snowflake.ID{}, absent: map[string]bool{},
		pending: map[storage.GlobalID]snowflake.ID{}, users: map[string]bool{}}
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
		if id, ok := found[g]; ok {
			l.cache[key] = id
		} else {
			l.absent[key] = true
		}
	}
	return nil
}

// flush writes the deferred mappings.
func (l *localizer) flush(ctx context.Context) error {
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
	walkIDs(v, "", add, func(s string) string {
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
	} else {
		err := storage.ErrNotFound
		if !l.absent[g] {
			id, err = l.r.FederatedID(ctx, origin, raw)
		}
		switch {
		case err == nil:
		case !errors.Is(err, storage.ErrNotFound):
			return 0, err
		case l.tx == nil:
			return 0, fmt.Errorf("%s: %w", g, errUnknownGlobal)
		default:
			id = l.h.cfg.IDs.Next()
			gid := storage.GlobalID{Origin: origin, OriginID: raw}
			if l.deferred {
				l.pending[gid] = id
			} else if err := l.tx.MapFederatedID(ctx, gid, id); err != nil {
				return 0, err
			}
		}
	}
	l.cache[g] = id
	return id, nil
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
	local := func(s string) string {
		if l.err != nil {
			return s
		}
		if _, _, ok := ParseGlobalID(s); !ok {
			return s
		}
		id, err := l.id(ctx, s)
		if err != nil {
			l.err = err
			return s
		}
		return strconv.FormatUint(uint64(id), 10)
	}
	v = walkIDs(v, "", local, func(s string) string {
		return globalMention.ReplaceAllStringFunc(s, func(m string) string {
			p := globalMention.FindStringSubmatch(m)
			return "<" + p[1] + local(p[2]) + ">"
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

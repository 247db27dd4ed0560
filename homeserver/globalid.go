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
	v, err := decodeJSON(payload)
	if err != nil {
		return nil, err
	}
	var ids []snowflake.ID
	collect := func(s string) string {
		if n, err := strconv.ParseUint(s, 10, 64); err == nil {
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
	walkIDs(v, "", collect, collectContent)
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
	v = walkIDs(v, "", global, func(s string) string {
		return localMention.ReplaceAllStringFunc(s, func(m string) string {
			p := localMention.FindStringSubmatch(m)
			return "<" + p[1] + global(p[2]) + ">"
		})
	})
	return json.Marshal(v)
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
}

func (h *Homeserver) newLocalizer(r storage.Reader, tx storage.Tx) *localizer {
	return &localizer{h: h, r: r, tx: tx, cache: map[string]snowflake.ID{}}
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
		got, err := l.r.FederatedID(ctx, origin, raw)
		switch {
		case err == nil:
			id = got
		case !errors.Is(err, storage.ErrNotFound):
			return 0, err
		case l.tx == nil:
			return 0, fmt.Errorf("%s: %w", g, errUnknownGlobal)
		default:
			id = l.h.cfg.IDs.Next()
			if err := l.tx.MapFederatedID(ctx, storage.GlobalID{Origin: origin, OriginID: raw}, id); err != nil {
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

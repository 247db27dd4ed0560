// Package globalid names objects between homeservers and turns those names
// into this homeserver's own snowflakes, refusing on the way every name a
// peer may not use (spec/federation.md §4.3, §10.1, §14 points 1–3).
//
// Between homeservers every object is named by a global ID, "<id>@<origin>":
// its snowflake on the homeserver that made it and that homeserver's name.
// Payloads cross the wire as Discord JSON whose ID fields hold global IDs;
// each side turns them into its own snowflakes.
package globalid

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"

	"hearth/snowflake"
	"hearth/storage"
)

// Format writes a global ID.
func Format(id snowflake.ID, origin string) string {
	return strconv.FormatUint(uint64(id), 10) + "@" + origin
}

// ValidServer reports whether s is a server name in its one canonical
// form (spec conventions): a lower-case DNS name, an IPv4 address or a
// bracketed lower-case IPv6 address, with an optional port without leading
// zeros, at most 255 characters. A keyId naming anything else is refused
// without fetching keys from it: "A.example" would reach a.example's
// machine and keys, and so give one server a second name, with a second
// share of every per-peer limit and a second set of replicas.
func ValidServer(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return false
		}
		host, port = s[1:end], s[end+1:]
		if ip := net.ParseIP(host); ip == nil || ip.To4() != nil || strings.Contains(host, "%") || host != strings.ToLower(host) {
			return false
		}
		if port != "" {
			p, ok := strings.CutPrefix(port, ":")
			return ok && validPort(p)
		}
		return true
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		host, port = s[:i], s[i+1:]
		if !validPort(port) {
			return false
		}
	}
	return validHostname(host)
}

func validPort(p string) bool {
	// 443 is the port a name without one means: written out, it would be
	// a second name of the same server.
	if p == "" || len(p) > 5 || p[0] == '0' || p == "443" {
		return false
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535 && strconv.Itoa(n) == p
}

// validHostname reports a DNS name of lower-case letters, digits and
// hyphens (or a dotted IPv4 address, which has that form too).
func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// Parse splits a global ID into the ID on its origin and the origin.
func Parse(s string) (string, string, bool) {
	id, origin, ok := strings.Cut(s, "@")
	if !ok || id == "" || len(id) > 20 || !ValidServer(origin) {
		return "", "", false
	}
	for _, c := range id {
		if c < '0' || c > '9' {
			return "", "", false
		}
	}
	return id, origin, true
}

// IDKey reports whether a JSON key holds snowflakes (or lists of them) in
// Discord's payloads.
func IDKey(k string) bool {
	return k == "id" || k == "ids" || k == "roles" || k == "mention_roles" ||
		strings.HasSuffix(k, "_id") || strings.HasSuffix(k, "_ids")
}

// UserKey reports whether a JSON key holds user objects (or lists of
// them) in Discord's payloads: the objects whose "id" is a user's.
func UserKey(k string) bool {
	switch k {
	case "user", "author", "mentions", "inviter", "recipients", "users":
		return true
	}
	return false
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
		if IDKey(key) {
			return fn(key, x)
		}
	}
	return v
}

func Decode(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode payload: %w", err)
	}
	return v, nil
}

// Globalize rewrites payloads of server's snowflakes into global IDs, with
// one lookup of the IDs they name: objects server mirrors get their
// origin's name, its own get its own.
func Globalize(ctx context.Context, r storage.Reader, server string, payloads ...[]byte) ([][]byte, error) {
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
		v, err := Decode(p)
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
		return s + "@" + server
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

// Localizer turns global IDs into this homeserver's snowflakes. With a
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
type Localizer struct {
	// server is this homeserver's name; ids makes its new snowflakes.
	server string
	ids    *snowflake.Generator
	r      storage.Reader
	tx     storage.Tx
	cache  map[string]snowflake.ID
	err    error
	// known holds mappings preload found, not yet checked; absent holds
	// global IDs it found unmapped: they get a new snowflake without
	// asking the database again.
	known  map[string]storage.Mapping
	absent map[string]bool
	// pending holds new mappings when deferred is set, written by flush in
	// one statement (a batch of events maps many new messages).
	deferred bool
	pending  map[storage.GlobalID]storage.Mapping
	// users are the user objects already mirrored in this transaction;
	// created counts the user rows they made.
	users   map[string]bool
	created int
	// rows are the local rows of those users, as mirrored: what the
	// payload shows of them is taken from the row (see UserRow).
	rows map[string]storage.User

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

// New makes a Localizer of this homeserver (server, and ids for the
// snowflakes of objects it has not seen) reading through r; with tx nil it
// only looks IDs up.
func New(server string, ids *snowflake.Generator, r storage.Reader, tx storage.Tx) *Localizer {
	return &Localizer{server: server, ids: ids, r: r, tx: tx, cache: map[string]snowflake.ID{}, known: map[string]storage.Mapping{},
		absent: map[string]bool{}, pending: map[storage.GlobalID]storage.Mapping{}, users: map[string]bool{},
		rows: map[string]storage.User{},
		own:  map[snowflake.ID]bool{}, uses: map[snowflake.ID]int{}, idle: map[snowflake.ID]int{}}
}

// Unneeded records uses of IDs that keep nothing: the targets of a delete,
// or of a change of an object the replica does not have.
func (l *Localizer) Unneeded(ids ...snowflake.ID) {
	for _, id := range ids {
		l.idle[id]++
	}
}

// ForReplica puts the localizer in replica mode for what origin says
// about the replica scope, origin being the signer.
func (l *Localizer) ForReplica(origin string, scope snowflake.ID) *Localizer {
	l.origin, l.scope, l.signer = origin, scope, origin
	return l
}

// Preload looks up many global IDs in one query.
func (l *Localizer) Preload(ctx context.Context, globals []string) error {
	var gs []storage.GlobalID
	seen := map[string]bool{}
	for _, g := range globals {
		raw, origin, ok := Parse(g)
		if !ok || origin == l.server || seen[g] {
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

// Flush writes the deferred mappings.
func (l *Localizer) Flush(ctx context.Context) error {
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

// GlobalsIn lists the global IDs a decoded payload holds.
func GlobalsIn(v any) []string {
	var out []string
	add := func(s string) string {
		if _, _, ok := Parse(s); ok {
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
	// ErrForbidden: a payload names an object its signer does not own
	// there, or that is not a user where only users belong.
	ErrForbidden = errors.New("forbidden")
	// ErrUnknown: a global ID names nothing this homeserver knows.
	ErrUnknown = errors.New("unknown global id")
	// ErrMalformed: a string that should be a global ID is not one.
	ErrMalformed = errors.New("malformed global id")
)

// ID localizes one global ID.
func (l *Localizer) ID(ctx context.Context, g string) (snowflake.ID, error) {
	if id, ok := l.cache[g]; ok {
		l.uses[id]++
		return id, nil
	}
	raw, origin, ok := Parse(g)
	if !ok {
		return 0, fmt.Errorf("%q: %w", g, ErrMalformed)
	}
	var id snowflake.ID
	if origin == l.server {
		n, err := strconv.ParseUint(raw, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q: %w", g, ErrMalformed)
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
			return 0, fmt.Errorf("%s: %w", g, ErrUnknown)
		case l.origin != "" && origin != l.origin && !l.asUser:
			// Mapping it would keep a row no object needs, and the
			// origin has no say over a third server's objects.
			return 0, fmt.Errorf("%s names %s, an object of a third server: %w", l.origin, g, ErrForbidden)
		default:
			id = l.ids.Next()
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
func (l *Localizer) localUser(ctx context.Context, g string, id snowflake.ID) error {
	u, err := l.r.UserByID(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && u.Origin != "") {
		return fmt.Errorf("%s names %s, which is not a user of this server: %w", l.origin, g, ErrForbidden)
	}
	return err
}

// mayName checks, in replica mode, a known mapping against the rules of
// the localizer's doc.
func (l *Localizer) mayName(ctx context.Context, g, origin string, m storage.Mapping) error {
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
func (l *Localizer) mention(ctx context.Context, g string) (string, bool) {
	if l.origin == "" {
		id, err := l.ID(ctx, g)
		if err != nil {
			l.err = err
			return g, false
		}
		return strconv.FormatUint(uint64(id), 10), true
	}
	raw, origin, ok := Parse(g)
	switch {
	case !ok:
		return g, false
	case origin == l.server:
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

// Payload localizes every global ID of a payload. Strings under ID keys
// that are not global IDs are left alone.
func (l *Localizer) Payload(ctx context.Context, b []byte) ([]byte, error) {
	v, err := Decode(b)
	if err != nil {
		return nil, err
	}
	return l.Value(ctx, v)
}

// Value is Payload for a decoded payload, which it rewrites in place.
func (l *Localizer) Value(ctx context.Context, v any) ([]byte, error) {
	local := func(key, s string) string {
		if l.err != nil {
			return s
		}
		if _, _, ok := Parse(s); !ok {
			return s
		}
		l.userKey = userIDKey(key)
		id, err := l.ID(ctx, s)
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

// Mentions calls fn on each mention of global IDs in a message's text
// (<@id@server>, <@!id@server>, <@&id@server>, <#id@server>), with its
// kind ("@", "@!", "@&" or "#") and global ID, and puts what fn returns in
// its place.
func Mentions(content string, fn func(kind, global string) string) string {
	return globalMention.ReplaceAllStringFunc(content, func(m string) string {
		p := globalMention.FindStringSubmatch(m)
		return fn(p[1], p[2])
	})
}

// Mention is a mention of a global ID in a message's text.
type Mention struct {
	// Kind is "@" or "@!" (a user), "@&" (a role) or "#" (a channel).
	Kind string
	ID   string
}

// MentionsIn lists the mentions of global IDs in a message's text.
func MentionsIn(content string) []Mention {
	var out []Mention
	for _, m := range globalMention.FindAllStringSubmatch(content, -1) {
		out = append(out, Mention{Kind: m[1], ID: m[2]})
	}
	return out
}

// Owned refuses, in replica mode, a write to an ID that does not name an
// object of the origin in the replica: what the applier writes to must
// have been named by the origin's IDs.
func (l *Localizer) Owned(ids ...snowflake.ID) error {
	if l == nil || l.origin == "" {
		return nil
	}
	for _, id := range ids {
		if !l.own[id] {
			return fmt.Errorf("%s writes to %d, which is not its object: %w", l.origin, id, ErrForbidden)
		}
	}
	return nil
}

// Scope is the replica the localizer resolves for (0 outside replica
// mode).
func (l *Localizer) Scope() snowflake.ID { return l.scope }

// Defer holds new mappings until Flush, which writes them in one
// statement and leaves out those no stored object needs.
func (l *Localizer) Defer() { l.deferred = true }

// Pending are the new mappings Flush would write.
func (l *Localizer) Pending() map[storage.GlobalID]storage.Mapping { return l.pending }

// Bind names global as the local object id, an object of the replica's
// origin, which the payloads that follow may name; with persist, the
// mapping is written with the others (it must be deferred), else it is in
// the database already.
func (l *Localizer) Bind(global string, id snowflake.ID, persist bool) {
	if persist {
		raw, origin, _ := Parse(global)
		l.pending[storage.GlobalID{Origin: origin, OriginID: raw}] = storage.Mapping{Local: id, Scope: id}
	}
	l.cache[global], l.own[id] = id, true
}

// Signed records the server that signed what is localized: a user's
// profile is taken only from its own server (see Signer).
func (l *Localizer) Signed(server string) { l.signer = server }

// Signer is the server that signed what is localized.
func (l *Localizer) Signer() string { return l.signer }

// FirstSight reports whether the user object of global has not been seen
// yet in this localizer's payloads, and marks it seen.
func (l *Localizer) FirstSight(global string) bool {
	if l.users[global] {
		return false
	}
	l.users[global] = true
	return true
}

// KeepUserRow records the local row of the user object of global, as
// mirrored, so that the payload's later objects of that user show the same.
func (l *Localizer) KeepUserRow(global string, u storage.User) { l.rows[global] = u }

// UserRow is the row KeepUserRow recorded for global.
func (l *Localizer) UserRow(global string) (storage.User, bool) {
	u, ok := l.rows[global]
	return u, ok
}

// UserCreated counts a user row made for this localizer's payloads and
// returns how many it has made, so that a payload introducing more users
// than a real one would can be refused (spec/federation.md §14).
func (l *Localizer) UserCreated() int {
	l.created++
	return l.created
}

// UserID localizes the ID of a user object: unlike other IDs, a third
// server's unknown user may be introduced this way (the caller checks the
// row it finds).
func (l *Localizer) UserID(ctx context.Context, global string) (snowflake.ID, error) {
	l.asUser = true
	defer func() { l.asUser = false }()
	return l.ID(ctx, global)
}

// Cached is the local ID global was resolved to, if it was.
func (l *Localizer) Cached(global string) (snowflake.ID, bool) {
	id, ok := l.cache[global]
	return id, ok
}

// Known is the mapping Preload found for global, not yet checked.
func (l *Localizer) Known(global string) (storage.Mapping, bool) {
	m, ok := l.known[global]
	return m, ok
}

// Assign resolves global, which names nothing yet, to the new local id
// the caller made for it (a backfilled message's snowflake).
func (l *Localizer) Assign(global string, id snowflake.ID) {
	l.cache[global], l.absent[global] = id, false
}

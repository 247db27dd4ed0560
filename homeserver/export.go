package homeserver

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"hearth/discord"
	"hearth/snowflake"
	"hearth/storage"
)

// A person's export of their own data (GET /users/@me/export): a zip
// written as it is read, a page of messages at a time, so that an account
// with millions of messages costs a page of memory.

// ErrExportRunning: the person's last export has not finished.
var ErrExportRunning = errors.New("an export of this account is already running")

// Export limits: one at a time per person, and exportLimit in each
// exportWindow.
const (
	exportLimit  = 3
	exportWindow = time.Hour
	exportPage   = 500
)

// exports holds the accounts whose export is being written.
type exports struct {
	mu      sync.Mutex
	running map[snowflake.ID]bool
}

// Export is one export being written; Close it when done.
type Export struct {
	h    *Homeserver
	user snowflake.ID
	once sync.Once
}

// StartExport reserves p's export: ErrExportRunning while another runs,
// a RateLimitedError past exportLimit an hour.
func (h *Homeserver) StartExport(ctx context.Context, p Principal) (*Export, error) {
	if p.User.Bot {
		return nil, fmt.Errorf("export: %w", ErrBotsForbidden)
	}
	e := &h.exports
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.running[p.User.ID] {
		return nil, fmt.Errorf("export of %d: %w", p.User.ID, ErrExportRunning)
	}
	if err := h.exportLimits.take(p.User.ID.String(), h.now()); err != nil {
		return nil, err
	}
	if e.running == nil {
		e.running = map[snowflake.ID]bool{}
	}
	e.running[p.User.ID] = true
	return &Export{h: h, user: p.User.ID}, nil
}

// Close ends the export, so that another may start.
func (x *Export) Close() {
	x.once.Do(func() {
		x.h.exports.mu.Lock()
		delete(x.h.exports.running, x.user)
		x.h.exports.mu.Unlock()
	})
}

type exportUser struct {
	ID          snowflake.ID `json:"id"`
	Username    string       `json:"username"`
	GlobalName  *string      `json:"global_name"`
	Avatar      *string      `json:"avatar"`
	Banner      *string      `json:"banner"`
	Bio         string       `json:"bio"`
	Pronouns    string       `json:"pronouns"`
	AccentColor *int         `json:"accent_color"`
	CreatedAt   string       `json:"created_at"`
	Server      string       `json:"server"`
}

type exportSession struct {
	CreatedAt string `json:"created_at"`
	LastUsed  string `json:"last_used_at"`
	Client    string `json:"client"`
	Address   string `json:"address"`
}

type exportRelationship struct {
	ID    snowflake.ID `json:"id"`
	Type  int          `json:"type"`
	Since string       `json:"since"`
	User  discord.User `json:"user"`
}

type exportGuild struct {
	ID      snowflake.ID `json:"id"`
	Name    string       `json:"name"`
	Owner   bool         `json:"owner"`
	Origin  string       `json:"origin,omitempty"`
	Created string       `json:"created_at"`
}

type exportChannel struct {
	ID      snowflake.ID `json:"id"`
	GuildID snowflake.ID `json:"guild_id,omitempty"`
	Type    int          `json:"type"`
	Name    string       `json:"name,omitempty"`
}

type exportMessage struct {
	ID          snowflake.ID         `json:"id"`
	ChannelID   snowflake.ID         `json:"channel_id"`
	GuildID     snowflake.ID         `json:"guild_id,omitempty"`
	Timestamp   string               `json:"timestamp"`
	Edited      *string              `json:"edited_timestamp"`
	Content     string               `json:"content"`
	Attachments []discord.Attachment `json:"attachments"`
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// WriteTo writes the zip: README.txt, account/user.json,
// account/sessions.json, account/relationships.json, servers/guilds.json,
// messages/messages.jsonl (one message a line, oldest first) and
// messages/channels.json.
func (x *Export) WriteTo(ctx context.Context, w io.Writer) error {
	h := x.h
	z := zip.NewWriter(w)
	put := func(name string, v any) error {
		f, err := z.Create(name)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(f)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	u, err := h.store.UserByID(ctx, x.user)
	if err != nil {
		return storeErr("export", err)
	}
	readme, err := z.Create("README.txt")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(readme, "Your data on %s, exported %s.\nmessages/messages.jsonl holds one message a line, oldest first; attachments are links.\n",
		h.cfg.ServerName, stamp(h.now()))
	if err := put("account/user.json", exportUser{ID: u.ID, Username: u.Username, GlobalName: discord.Nullable(u.GlobalName),
		Avatar: discord.Nullable(u.Avatar), Banner: discord.Nullable(u.Banner), Bio: u.Bio, Pronouns: u.Pronouns,
		AccentColor: u.AccentColor, CreatedAt: stamp(u.CreatedAt), Server: h.cfg.ServerName}); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	settings, err := h.readSettings(ctx, h.store, x.user)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := put("account/settings.json", settings); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	ss, err := h.store.UserSessions(ctx, x.user)
	if err != nil {
		return storeErr("export", err)
	}
	sessions := make([]exportSession, 0, len(ss))
	for _, s := range ss {
		sessions = append(sessions, exportSession{CreatedAt: stamp(s.CreatedAt), LastUsed: stamp(s.LastUsed), Client: s.Client, Address: s.Address})
	}
	if err := put("account/sessions.json", sessions); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	rs, err := h.store.Relationships(ctx, x.user)
	if err != nil {
		return storeErr("export", err)
	}
	rels := make([]exportRelationship, 0, len(rs))
	for _, r := range rs {
		other, err := h.hot.UserByID(ctx, r.OtherID)
		if err != nil {
			continue
		}
		rels = append(rels, exportRelationship{ID: r.OtherID, Type: r.Type, Since: stamp(r.Since), User: discordUser(other)})
	}
	if err := put("account/relationships.json", rels); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	gs, err := h.store.UserGuilds(ctx, x.user)
	if err != nil {
		return storeErr("export", err)
	}
	guilds := make([]exportGuild, 0, len(gs))
	for _, g := range gs {
		guilds = append(guilds, exportGuild{ID: g.ID, Name: g.Name, Owner: g.OwnerID == x.user, Origin: g.Origin, Created: stamp(g.CreatedAt)})
	}
	if err := put("servers/guilds.json", guilds); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	f, err := z.Create("messages/messages.jsonl")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	enc := json.NewEncoder(f)
	channels := map[snowflake.ID]bool{}
	var after snowflake.ID
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		page, err := h.store.UserMessages(ctx, x.user, after, exportPage)
		if err != nil {
			return storeErr("export", err)
		}
		for _, m := range page {
			out := exportMessage{ID: m.ID, ChannelID: m.ChannelID, GuildID: m.GuildID, Timestamp: stamp(m.CreatedAt),
				Content: m.Content, Attachments: []discord.Attachment{}}
			if !m.EditedAt.IsZero() {
				e := stamp(m.EditedAt)
				out.Edited = &e
			}
			for _, a := range m.Attachments {
				out.Attachments = append(out.Attachments, h.renderAttachment(a))
			}
			if err := enc.Encode(out); err != nil {
				return fmt.Errorf("export: %w", err)
			}
			channels[m.ChannelID] = true
			after = m.ID
		}
		if len(page) < exportPage {
			break
		}
	}
	chs := make([]exportChannel, 0, len(channels))
	for id := range channels {
		c, err := h.store.ChannelByID(ctx, id)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return storeErr("export", err)
		}
		chs = append(chs, exportChannel{ID: c.ID, GuildID: c.GuildID, Type: c.Type, Name: c.Name})
	}
	if err := put("messages/channels.json", chs); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := z.Close(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	h.log.Info("account exported", "user_id", x.user, "messages_channels", len(chs))
	return nil
}

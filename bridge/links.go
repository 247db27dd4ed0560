package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"hearth/discord"
	"hearth/homeserver"
	"hearth/snowflake"
)

// Link states. The admin commands write requests; the running bridge
// carries them out and writes the outcome (spec/bridge.md, "Admin
// commands reach the running bridge through the database").
const (
	StateRequested       = "requested"
	StateLinked          = "linked"
	StateFailed          = "failed"
	StateUnlinkRequested = "unlink-requested"
)

// Link is a Discord guild's link to its mirror, kept as the named value
// "link:<Discord guild ID>".
type Link struct {
	DiscordGuild string `json:"discord_guild"`
	State        string `json:"state"`
	// Backfill is how many of each channel's newest messages the link
	// imports.
	Backfill int `json:"backfill"`
	// Guild is the mirror guild, once made.
	Guild snowflake.ID `json:"guild,omitempty"`
	Name  string       `json:"name,omitempty"`
	// Owner is the Discord bot user whose puppet owns the mirror.
	Owner string `json:"owner,omitempty"`
	// Invite is the never-expiring invite code handed out, once asked.
	Invite string `json:"invite,omitempty"`
	// Error is the last failure of the link or of the relay.
	Error     string    `json:"error,omitempty"`
	Requested time.Time `json:"requested"`
	// RetryAt is when a link that Discord held up (a rate limit, an
	// outage) is tried again.
	RetryAt  time.Time `json:"retry_at,omitzero"`
	LinkedAt time.Time `json:"linked_at,omitzero"`
}

func linkKey(discordGuild string) string { return "link:" + discordGuild }

func cursorKey(guild snowflake.ID) string { return "cursor:" + guild.String() }

// ErrNotLinked: the Discord guild is not linked (yet).
var ErrNotLinked = errors.New("not linked")

func readLink(ctx context.Context, dom *homeserver.Bridge, discordGuild string) (Link, bool, error) {
	v, ok, err := dom.Value(ctx, linkKey(discordGuild))
	if err != nil || !ok {
		return Link{}, false, err
	}
	var l Link
	if err := json.Unmarshal([]byte(v), &l); err != nil {
		return Link{}, false, fmt.Errorf("link %s: %w", discordGuild, err)
	}
	return l, true, nil
}

func writeLink(ctx context.Context, dom *homeserver.Bridge, l Link) error {
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	return dom.SetValue(ctx, linkKey(l.DiscordGuild), string(b))
}

func checkGuildID(id string) error {
	if _, err := strconv.ParseUint(id, 10, 64); err != nil || id == "0" {
		return fmt.Errorf("%q is not a Discord guild ID", id)
	}
	return nil
}

// RequestLink asks the running bridge to mirror a Discord guild the bot is
// in, importing the newest backfill messages of each channel. Asking
// again for a linked guild changes nothing; for a failed one, retries.
func RequestLink(ctx context.Context, hs *homeserver.Homeserver, discordGuild string, backfill int) (Link, error) {
	if err := checkGuildID(discordGuild); err != nil {
		return Link{}, err
	}
	if backfill < 0 || backfill > 10000 {
		return Link{}, fmt.Errorf("--backfill must be between 0 and 10000")
	}
	dom := hs.Bridge()
	l, ok, err := readLink(ctx, dom, discordGuild)
	if err != nil {
		return Link{}, err
	}
	if ok && l.State == StateLinked {
		return l, nil
	}
	l.DiscordGuild, l.State, l.Backfill, l.Error, l.Requested, l.RetryAt = discordGuild, StateRequested, backfill, "", time.Now().UTC(), time.Time{}
	return l, writeLink(ctx, dom, l)
}

// RequestUnlink asks the running bridge to stop mirroring a guild. The
// mirror stays, frozen, with its history; its people stay members.
func RequestUnlink(ctx context.Context, hs *homeserver.Homeserver, discordGuild string) error {
	if err := checkGuildID(discordGuild); err != nil {
		return err
	}
	dom := hs.Bridge()
	l, ok, err := readLink(ctx, dom, discordGuild)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("guild %s: %w", discordGuild, ErrNotLinked)
	}
	if l.State != StateLinked {
		// Nothing runs for it: forget it at once.
		return dom.DeleteValue(ctx, linkKey(discordGuild))
	}
	l.State = StateUnlinkRequested
	return writeLink(ctx, dom, l)
}

// Invite returns a never-expiring invite to a linked guild's mirror,
// written code@server, the same one every time.
func Invite(ctx context.Context, hs *homeserver.Homeserver, discordGuild string) (string, error) {
	if err := checkGuildID(discordGuild); err != nil {
		return "", err
	}
	dom := hs.Bridge()
	l, ok, err := readLink(ctx, dom, discordGuild)
	if err != nil {
		return "", err
	}
	if !ok || l.State != StateLinked {
		state := "not requested"
		if ok {
			state = l.State
		}
		return "", fmt.Errorf("guild %s is %s: %w (see bridge status)", discordGuild, state, ErrNotLinked)
	}
	if l.Invite == "" {
		owner, err := dom.Puppet(ctx, l.Owner, "", "", true)
		if err != nil {
			return "", err
		}
		chans, err := hs.GuildChannels(ctx, owner, l.Guild)
		if err != nil {
			return "", err
		}
		var first snowflake.ID
		for _, c := range chans {
			if c.Type == homeserver.ChannelText && (first == 0 || c.Position < positionOf(chans, first)) {
				first = c.ID
			}
		}
		if first == 0 {
			return "", fmt.Errorf("guild %s has no text channel to invite to", discordGuild)
		}
		inv, err := hs.CreateInvite(ctx, owner, first, homeserver.InviteCreate{
			MaxAge: homeserver.Optional[int]{Set: true, Value: 0}, MaxUses: homeserver.Optional[int]{Set: true, Value: 0},
		})
		if err != nil {
			return "", err
		}
		l.Invite = inv.Code
		if err := writeLink(ctx, dom, l); err != nil {
			return "", err
		}
	}
	return l.Invite + "@" + hs.ServerName(), nil
}

// LinkStatus is a link as `bridge status` shows it.
type LinkStatus struct {
	Link
	// Lag is how many events of the mirror's log the relay has yet to
	// read.
	Lag int64
}

// Status lists the links, by Discord guild ID.
func Status(ctx context.Context, hs *homeserver.Homeserver) ([]LinkStatus, error) {
	dom := hs.Bridge()
	vs, err := dom.Values(ctx, "link:")
	if err != nil {
		return nil, err
	}
	var out []LinkStatus
	for _, v := range vs {
		var l Link
		if err := json.Unmarshal([]byte(v.Value), &l); err != nil {
			return nil, fmt.Errorf("%s: %w", v.Key, err)
		}
		st := LinkStatus{Link: l}
		if l.Guild != 0 {
			head, err := hs.LogHead(ctx, l.Guild)
			if err != nil {
				return nil, err
			}
			cur, _, err := readCursor(ctx, dom, l.Guild)
			if err != nil {
				return nil, err
			}
			st.Lag = max(head-cur, 0)
		}
		out = append(out, st)
	}
	return out, nil
}

// String is the one line `bridge status` prints for a link.
func (s LinkStatus) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s\t%s", s.DiscordGuild, s.State)
	if s.Name != "" {
		fmt.Fprintf(&sb, "\tname=%q", s.Name)
	}
	if s.Guild != 0 {
		fmt.Fprintf(&sb, "\tmirror=%s\tlag=%d", s.Guild, s.Lag)
	}
	if s.Invite != "" {
		fmt.Fprintf(&sb, "\tinvite=%s", s.Invite)
	}
	if s.Error != "" {
		fmt.Fprintf(&sb, "\terror=%q", s.Error)
	}
	return sb.String()
}

func readCursor(ctx context.Context, dom *homeserver.Bridge, guild snowflake.ID) (int64, bool, error) {
	v, ok, err := dom.Value(ctx, cursorKey(guild))
	if err != nil || !ok {
		return 0, ok, err
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, true, err
}

func positionOf(chans []discord.Channel, id snowflake.ID) int {
	for _, c := range chans {
		if c.ID == id {
			return c.Position
		}
	}
	return 0
}

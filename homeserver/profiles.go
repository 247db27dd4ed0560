package homeserver

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"hearth/discord"
	"hearth/snowflake"
	"hearth/storage"
)

// ProfileQuery is what GET /users/{id}/profile asks for beyond the
// profile itself.
type ProfileQuery struct {
	WithMutualGuilds       bool
	WithMutualFriends      bool
	WithMutualFriendsCount bool
	// GuildID adds the user's membership of that guild, which the asker
	// must be in.
	GuildID snowflake.ID
}

// UserProfile is Discord's user_profile object (and guild_member_profile
// without the guild ID).
type UserProfile struct {
	GuildID     *snowflake.ID `json:"guild_id,omitempty"`
	Bio         string        `json:"bio"`
	AccentColor *int          `json:"accent_color"`
	Banner      *string       `json:"banner"`
	Pronouns    string        `json:"pronouns"`
	ThemeColors []int         `json:"theme_colors"`
}

// MutualGuild is an entry of a profile's mutual_guilds.
type MutualGuild struct {
	ID   snowflake.ID `json:"id"`
	Nick *string      `json:"nick"`
}

// Profile is the answer of GET /users/{id}/profile, Discord's shape.
type Profile struct {
	User        discord.User   `json:"user"`
	UserProfile UserProfile    `json:"user_profile"`
	Badges      []ProfileBadge `json:"badges"`
	GuildBadges []ProfileBadge `json:"guild_badges"`
	// MutualGuilds and MutualFriends are present (maybe empty) only when
	// asked for.
	MutualGuilds       *[]MutualGuild  `json:"mutual_guilds,omitempty"`
	MutualFriends      *[]discord.User `json:"mutual_friends,omitempty"`
	MutualFriendsCount *int            `json:"mutual_friends_count,omitempty"`
	PremiumType        *int            `json:"premium_type"`
	PremiumSince       *string         `json:"premium_since"`
	ConnectedAccounts  []any           `json:"connected_accounts"`
	GuildMember        *discord.Member `json:"guild_member,omitempty"`
	GuildMemberProfile *UserProfile    `json:"guild_member_profile,omitempty"`
}

// UserProfile returns a user's profile as p may see it (spec/client-api.md,
// "Profiles"): mutual guilds are the guilds both are in, mutual friends
// the friends both have (known only for this server's users), and a user
// who blocked p shares neither with them. A remote user's profile is what
// their homeserver last sent with them, and their badges are named as that
// server's.
func (h *Homeserver) UserProfile(ctx context.Context, p Principal, userID snowflake.ID, q ProfileQuery) (Profile, error) {
	su, err := h.lookupUser(ctx, userID)
	if err != nil {
		return Profile{}, fmt.Errorf("profile: %w", err)
	}
	u := userFrom(su)
	out := Profile{
		User: u.Discord(),
		UserProfile: UserProfile{Bio: u.Bio, AccentColor: u.AccentColor, Banner: discord.Nullable(u.Banner),
			Pronouns: u.Pronouns},
		Badges:            h.Badges(u),
		GuildBadges:       []ProfileBadge{},
		ConnectedAccounts: []any{},
	}
	blocked := false
	if userID != p.User.ID {
		typ, err := relType(ctx, h.store, userID, p.User.ID)
		if err != nil {
			return Profile{}, storeErr("profile", err)
		}
		blocked = typ == storage.RelationshipBlocked
	}
	if q.GuildID != 0 {
		if err := h.profileGuild(ctx, p, u, q.GuildID, &out); err != nil {
			return Profile{}, err
		}
	}
	if q.WithMutualGuilds {
		guilds := []MutualGuild{}
		if !blocked && userID != p.User.ID {
			if guilds, err = h.mutualGuilds(ctx, p.User.ID, userID); err != nil {
				return Profile{}, err
			}
		}
		out.MutualGuilds = &guilds
	}
	if q.WithMutualFriends || q.WithMutualFriendsCount {
		friends := []discord.User{}
		if !blocked && userID != p.User.ID {
			if friends, err = h.mutualFriends(ctx, p.User.ID, userID); err != nil {
				return Profile{}, err
			}
		}
		n := len(friends)
		out.MutualFriendsCount = &n
		if q.WithMutualFriends {
			out.MutualFriends = &friends
		}
	}
	return out, nil
}

// profileGuild adds the user's membership of guildID, which p must be in:
// their member object, its profile, and "server owner" among the guild's
// badges.
func (h *Homeserver) profileGuild(ctx context.Context, p Principal, u User, guildID snowflake.ID, out *Profile) error {
	if _, err := h.loadAccess(ctx, h.store, guildID, p.User.ID); err != nil {
		return err
	}
	m, su, err := h.memberOf(ctx, h.store, guildID, u.ID)
	if errors.Is(err, ErrUnknownMember) {
		return nil // not a member: the profile without the guild's part
	}
	if err != nil {
		return domainErr("profile", err)
	}
	dm := discordMember(m, su)
	out.GuildMember = &dm
	gid := guildID
	out.GuildMemberProfile = &UserProfile{GuildID: &gid, ThemeColors: nil}
	g, err := h.store.GuildByID(ctx, guildID)
	if err != nil {
		return domainErr("profile", err)
	}
	if g.OwnerID == u.ID {
		out.GuildBadges = append(out.GuildBadges, ProfileBadge{ID: "guild_owner",
			Description: "Owner of " + g.Name, Icon: "hearth-guild-owner"})
	}
	return nil
}

// mutualGuilds lists the guilds both users are in, with other's nick in
// each.
func (h *Homeserver) mutualGuilds(ctx context.Context, self, other snowflake.ID) ([]MutualGuild, error) {
	mine, err := h.store.UserGuilds(ctx, self)
	if err != nil {
		return nil, storeErr("mutual guilds", err)
	}
	theirs, err := h.store.UserGuilds(ctx, other)
	if err != nil {
		return nil, storeErr("mutual guilds", err)
	}
	in := make(map[snowflake.ID]bool, len(mine))
	for _, g := range mine {
		in[g.ID] = true
	}
	out := []MutualGuild{}
	for _, g := range theirs {
		if !in[g.ID] {
			continue
		}
		m, err := h.store.Member(ctx, g.ID, other)
		if errors.Is(err, storage.ErrNotFound) {
			continue // left meanwhile
		}
		if err != nil {
			return nil, storeErr("mutual guilds", err)
		}
		out = append(out, MutualGuild{ID: g.ID, Nick: discord.Nullable(m.Nick)})
	}
	return out, nil
}

// mutualFriends lists the users both are friends with. Only this
// server's users' friendships are known here.
func (h *Homeserver) mutualFriends(ctx context.Context, self, other snowflake.ID) ([]discord.User, error) {
	friendsOf := func(id snowflake.ID) (map[snowflake.ID]bool, error) {
		rels, err := h.store.Relationships(ctx, id)
		if err != nil {
			return nil, storeErr("mutual friends", err)
		}
		out := map[snowflake.ID]bool{}
		for _, r := range rels {
			if r.Type == storage.RelationshipFriend {
				out[r.OtherID] = true
			}
		}
		return out, nil
	}
	mine, err := friendsOf(self)
	if err != nil {
		return nil, err
	}
	theirs, err := friendsOf(other)
	if err != nil {
		return nil, err
	}
	out := []discord.User{}
	for id := range theirs {
		if !mine[id] {
			continue
		}
		u, err := h.store.UserByID(ctx, id)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, storeErr("mutual friends", err)
		}
		out = append(out, discordUser(u))
	}
	sortUsers(out)
	return out, nil
}

func sortUsers(us []discord.User) {
	slices.SortFunc(us, func(a, b discord.User) int { return cmp.Compare(a.ID, b.ID) })
}

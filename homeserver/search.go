package homeserver

import (
	"context"

	"hearth/discord"
	"hearth/homeserver/permission"
	"hearth/snowflake"
	"hearth/storage"
)

// SearchQuery is a guild message search; ChannelIDs narrows it further
// than the channels the searcher may read (which it never widens).
type SearchQuery = storage.SearchQuery

// SearchResult is Discord's search answer: each hit is a one-message list.
type SearchResult struct {
	TotalResults int                 `json:"total_results"`
	Messages     [][]discord.Message `json:"messages"`
}

// Search finds messages in a guild among the channels the caller may read.
func (h *Homeserver) Search(ctx context.Context, p Principal, guildID snowflake.ID, q SearchQuery) (SearchResult, error) {
	a, err := h.loadAccess(ctx, h.store, guildID, p.User.ID)
	if err != nil {
		return SearchResult{}, err
	}
	if q.Limit < 1 || q.Limit > 25 {
		q.Limit = 25
	}
	if q.Offset < 0 || q.Offset > 5000 {
		return SearchResult{}, Invalid("offset", "NUMBER_TYPE_MAX", "Must be between 0 and 5000.")
	}
	cs, err := h.store.GuildChannels(ctx, guildID)
	if err != nil {
		return SearchResult{}, storeErr("search", err)
	}
	wanted := map[snowflake.ID]bool{}
	for _, id := range q.ChannelIDs {
		wanted[id] = true
	}
	var readable []snowflake.ID
	for _, c := range cs {
		if len(wanted) > 0 && !wanted[c.ID] {
			continue
		}
		if perms := a.in(c); perms.Has(permission.ViewChannel | permission.ReadMessageHistory) {
			readable = append(readable, c.ID)
		}
	}
	q.ChannelIDs = readable
	out := SearchResult{Messages: [][]discord.Message{}}
	if len(readable) == 0 {
		return out, nil
	}
	ms, total, err := h.store.SearchMessages(ctx, guildID, q)
	if err != nil {
		return SearchResult{}, storeErr("search", err)
	}
	page, err := h.renderPage(ctx, ms, p.User.ID)
	if err != nil {
		return SearchResult{}, err
	}
	out.TotalResults = total
	for _, m := range page {
		out.Messages = append(out.Messages, []discord.Message{m})
	}
	return out, nil
}

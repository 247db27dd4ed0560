package storagetest

import (
	"context"
	"testing"

	"hearth/snowflake"
	"hearth/storage"
)

// testSearchFiltersOnly: a search without text (filters only) over more
// matches than SearchCountMax pages newest first, each page right, with
// the total exact below SearchCountMax and capped at it above, down to the
// deepest offset.
func testSearchFiltersOnly(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g, c1, us := messageFixture(t, s, 2)
	c2 := newChannel(g.ID, "second", 1)
	update(t, s, func(tx storage.Tx) error { return tx.CreateChannel(ctx, c2) })
	// Another guild's messages, newer than all of the searched guild's,
	// are never counted nor walked into a page.
	other, oc, _ := messageFixture(t, s, 0)
	const n = storage.SearchCountMax + 100
	ms := make([]storage.Message, n)
	for i := range ms {
		c := c1
		if i%4 >= 2 {
			c = c2
		}
		ms[i] = newMessage(c, us[i%2].ID, "message "+itoa(i))
		if i%1000 == 7 {
			ms[i].Content += " https://example.org/" + itoa(i)
		}
		if i%1500 == 9 {
			attach(&ms[i], "f"+itoa(i)+".png")
		}
	}
	foreign := make([]storage.Message, 30)
	for i := range foreign {
		foreign[i] = newMessage(oc, us[0].ID, "foreign "+itoa(i))
	}
	update(t, s, func(tx storage.Tx) error {
		for i := 0; i < n; i += 1000 {
			if err := tx.CreateMessages(ctx, storage.ScopeOf(c1), ms[i:min(n, i+1000)]); err != nil {
				return err
			}
		}
		return tx.CreateMessages(ctx, storage.ScopeOf(oc), foreign)
	})
	// match lists, newest first, the indexes of ms that keep says match.
	match := func(keep func(i int) bool) []snowflake.ID {
		var out []snowflake.ID
		for i := n - 1; i >= 0; i-- {
			if keep(i) {
				out = append(out, ms[i].ID)
			}
		}
		return out
	}
	both := []snowflake.ID{c1.ID, c2.ID}
	all := match(func(int) bool { return true })
	byB := match(func(i int) bool { return i%2 == 1 })
	secondByB := match(func(i int) bool { return i%2 == 1 && i%4 >= 2 })
	links := match(func(i int) bool { return i%1000 == 7 })
	files := match(func(i int) bool { return i%1500 == 9 })
	early := match(func(i int) bool { return i < 100 })
	late := match(func(i int) bool { return i >= n-40 && i%2 == 0 })
	cases := []struct {
		name  string
		q     storage.SearchQuery
		want  []snowflake.ID // every match, newest first
		total int
	}{
		{"every message", storage.SearchQuery{ChannelIDs: both}, all, storage.SearchCountMax},
		{"deepest offset", storage.SearchQuery{ChannelIDs: both, Offset: storage.SearchCountMax - 10}, all, storage.SearchCountMax},
		{"author", storage.SearchQuery{ChannelIDs: both, AuthorID: us[1].ID, Offset: 30}, byB, len(byB)},
		{"author in one channel", storage.SearchQuery{ChannelIDs: []snowflake.ID{c2.ID}, AuthorID: us[1].ID}, secondByB, len(secondByB)},
		{"author in one channel, last page", storage.SearchQuery{ChannelIDs: []snowflake.ID{c2.ID}, AuthorID: us[1].ID,
			Offset: len(secondByB) - 5}, secondByB, len(secondByB)},
		{"author in one channel, past the end", storage.SearchQuery{ChannelIDs: []snowflake.ID{c2.ID}, AuthorID: us[1].ID,
			Offset: len(secondByB) + 5}, secondByB, len(secondByB)},
		{"has link", storage.SearchQuery{ChannelIDs: both, HasLink: true}, links, len(links)},
		{"has file", storage.SearchQuery{ChannelIDs: both, HasFile: true, Limit: 3}, files, len(files)},
		{"before", storage.SearchQuery{ChannelIDs: both, Before: ms[100].ID, Offset: 80}, early, 100},
		{"after, one author", storage.SearchQuery{ChannelIDs: both, After: ms[n-41].ID, AuthorID: us[0].ID, Limit: 7}, late, 20},
		{"another guild's channel", storage.SearchQuery{ChannelIDs: []snowflake.ID{oc.ID}}, nil, 0},
	}
	check := func(when string) {
		t.Helper()
		for _, tc := range cases {
			got, total, err := s.SearchMessages(ctx, g.ID, tc.q)
			if err != nil {
				t.Fatalf("%s: %s: %v", when, tc.name, err)
			}
			limit := tc.q.Limit
			if limit == 0 {
				limit = 25
			}
			want := tc.want[min(tc.q.Offset, len(tc.want)):min(tc.q.Offset+limit, len(tc.want))]
			if !equal(messageIDs(got), want) || total != tc.total {
				t.Errorf("%s: %s: %d results (total %d), want %d (total %d)", when, tc.name, len(got), total, len(want), tc.total)
			}
		}
		got, total, err := s.SearchMessages(ctx, other.ID, storage.SearchQuery{ChannelIDs: []snowflake.ID{oc.ID}, Limit: 5})
		if err != nil || total != len(foreign) || !equal(messageIDs(got), messageIDs(pick(foreign, 29, 28, 27, 26, 25))) {
			t.Errorf("%s: the other guild: %d results (total %d), %v", when, len(got), total, err)
		}
	}
	check("fresh table")
	analyze(t, s)
	check("analyzed table")
}

// analyze gathers the planner's statistics, as a server in service has
// them (autovacuum gathers them on PostgreSQL).
func analyze(t *testing.T, s storage.Store) {
	t.Helper()
	for name, db := range s.Pools() {
		if name == "read" {
			continue // SQLite's readers cannot write statistics
		}
		if _, err := db.ExecContext(context.Background(), "ANALYZE messages"); err != nil {
			t.Fatal(err)
		}
	}
}

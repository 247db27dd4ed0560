package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"hearth/snowflake"
	"hearth/storage"
	"hearth/storage/postgres"
	"hearth/storage/sqlite"
	"hearth/storage/sqlstore"
	"hearth/storage/storagetest"
)

// explainer runs every query twice: once under EXPLAIN, to keep what the
// database does for it, then for real.
type explainer struct {
	db      *sql.DB
	dialect string
	mu      sync.Mutex
	err     error
	plans   []plan
}

// plan is what one query cost: the most rows any node of its plan handled
// (PostgreSQL), or whether it sorted its rows in a temporary b-tree
// (SQLite), which means it read all of them first.
type plan struct {
	query   string
	maxRows float64
	sorted  bool
}

func (e *explainer) explain(ctx context.Context, query string, args []any) {
	p := plan{query: query}
	var err error
	if e.dialect == "postgres" {
		var raw []byte
		if err = e.db.QueryRowContext(ctx, "EXPLAIN (ANALYZE, FORMAT JSON) "+query, args...).Scan(&raw); err == nil {
			var out []struct{ Plan map[string]any }
			if err = json.Unmarshal(raw, &out); err == nil && len(out) == 1 {
				p.maxRows = maxRows(out[0].Plan)
			}
		}
	} else {
		var rows *sql.Rows
		rows, err = e.db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
		if err == nil {
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err = rows.Scan(&id, &parent, &unused, &detail); err != nil {
					break
				}
				p.sorted = p.sorted || strings.Contains(detail, "TEMP B-TREE FOR ORDER BY")
			}
			rows.Close()
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("explain %s: %w", query, err)
	}
	e.plans = append(e.plans, p)
}

// maxRows is the most rows a node of a PostgreSQL plan produced over all
// its loops.
func maxRows(node map[string]any) float64 {
	rows, _ := node["Actual Rows"].(float64)
	loops, _ := node["Actual Loops"].(float64)
	most := rows * max(loops, 1)
	if kids, ok := node["Plans"].([]any); ok {
		for _, k := range kids {
			if m, ok := k.(map[string]any); ok {
				most = max(most, maxRows(m))
			}
		}
	}
	return most
}

func (e *explainer) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return e.db.ExecContext(ctx, query, args...)
}

func (e *explainer) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	e.explain(ctx, query, args)
	return e.db.QueryContext(ctx, query, args...)
}

func (e *explainer) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	e.explain(ctx, query, args)
	return e.db.QueryRowContext(ctx, query, args...)
}

// TestSearchWithoutTextReadsAPage: a search with filters only, in a guild
// with far more matches than a page, reads no more rows than SearchCountMax
// (the cap on the counted total) in any step on PostgreSQL, and sorts no
// set of matches on SQLite: both walk the guild newest first and stop.
// It runs in this package, not in the conformance suite, because it watches
// the SQL the store runs.
// Gathering every match of the guild first, as PostgreSQL once did, reads
// them all.
func TestSearchWithoutTextReadsAPage(t *testing.T) {
	ctx := context.Background()
	open := map[string]func(t *testing.T) (*sqlstore.Store, *sql.DB){
		"sqlite": func(t *testing.T) (*sqlstore.Store, *sql.DB) {
			s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "plan.db"), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s, s.Pools()["write"]
		},
		"postgres": func(t *testing.T) (*sqlstore.Store, *sql.DB) {
			s, err := postgres.Open(ctx, storagetest.PostgresURL(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s.Store, s.Pools()["main"]
		},
	}
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			s, db := open[dialect](t)
			// PostgreSQL's planner walks once a guild is large enough for it
			// to matter, and gathering every match then reads more rows than
			// any step may; SQLite's sorts show in its plan at any size.
			n := 3 * storage.SearchCountMax
			if dialect == "sqlite" {
				n = 1000
			}
			g, channels, authors := searchFixture(t, s, n)
			queries := map[string]struct {
				q       storage.SearchQuery
				matches int
			}{
				"every message":          {storage.SearchQuery{ChannelIDs: channels}, n},
				"one author":             {storage.SearchQuery{ChannelIDs: channels, AuthorID: authors[1]}, n / 2},
				"one channel":            {storage.SearchQuery{ChannelIDs: channels[:1]}, n / 2},
				"one channel, a page on": {storage.SearchQuery{ChannelIDs: channels[:1], Offset: 25}, n / 2},
			}
			// PostgreSQL's planner is asked to choose with the statistics a
			// server in service has (autovacuum gathers them); on a table
			// never analyzed it guesses a guild holds a few rows.
			stages := []string{"fresh table", "analyzed table"}
			if dialect == "postgres" {
				stages = stages[1:]
			}
			for _, stats := range stages {
				if stats == "analyzed table" {
					if _, err := db.ExecContext(ctx, "ANALYZE messages"); err != nil {
						t.Fatal(err)
					}
				}
				for name, c := range queries {
					e := &explainer{db: db, dialect: dialect}
					page, total, err := sqlstore.ReaderOn(s, e).SearchMessages(ctx, g, c.q)
					if err == nil {
						err = e.err
					}
					if err != nil || len(page) != 25 || total != min(c.matches, storage.SearchCountMax) {
						t.Fatalf("%s, %s: %d results, total %d, %v", stats, name, len(page), total, err)
					}
					for _, p := range e.plans {
						if p.maxRows > storage.SearchCountMax || p.sorted {
							t.Errorf("%s, %s: a step handles %.0f rows (sorted: %v) of a guild with %d matches:\n%s",
								stats, name, p.maxRows, p.sorted, n, p.query)
						}
					}
				}
			}
		})
	}
}

// searchFixture makes a guild with two channels and two authors and n
// messages spread over them; it returns the guild, channels and authors.
func searchFixture(t *testing.T, s storage.Store, n int) (snowflake.ID, []snowflake.ID, []snowflake.ID) {
	t.Helper()
	ctx := context.Background()
	gen := snowflake.NewGenerator(2)
	now := time.UnixMilli(time.Now().UnixMilli()).UTC()
	var users []snowflake.ID
	g := storage.Guild{ID: gen.Next(), Name: "search", CreatedAt: now}
	channels := []snowflake.ID{gen.Next(), gen.Next()}
	err := s.Update(ctx, func(tx storage.Tx) error {
		for i := range 2 {
			u := storage.User{ID: gen.Next(), Username: fmt.Sprintf("author%d-%d", i, g.ID), PasswordHash: "x", CreatedAt: now}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			users = append(users, u.ID)
		}
		g.OwnerID = users[0]
		if err := tx.CreateGuild(ctx, g); err != nil {
			return err
		}
		for i, c := range channels {
			if err := tx.CreateChannel(ctx, storage.Channel{ID: c, GuildID: g.ID, Name: fmt.Sprint("c", i), CreatedAt: now}); err != nil {
				return err
			}
		}
		ms := make([]storage.Message, 0, 1000)
		for i := range n {
			id := gen.Next()
			ms = append(ms, storage.Message{ID: id, ChannelID: channels[i%2], GuildID: g.ID, AuthorID: users[i/2%2],
				Content: fmt.Sprint("message ", i), CreatedAt: id.Time().UTC()})
			if len(ms) == cap(ms) || i == n-1 {
				if err := tx.CreateMessages(ctx, storage.InGuild(g.ID), ms); err != nil {
					return err
				}
				ms = ms[:0]
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return g.ID, channels, users
}

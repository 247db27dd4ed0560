// Package sqlitedrivers compares the embedded SQLite drivers Hearth could use
// on the workload that matters to it: small write transactions (one event-log
// append plus one state row) and indexed point and range reads. It is its own
// module so that the homeserver depends only on the driver it chose.
package sqlitedrivers

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

type driver struct {
	name string
	sql  string
	dsn  func(path string) string
}

const schema = `
CREATE TABLE events (log_id INTEGER NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, payload TEXT NOT NULL, PRIMARY KEY (log_id, seq));
CREATE TABLE heads (log_id INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE messages (id INTEGER PRIMARY KEY, channel_id INTEGER NOT NULL, author_id INTEGER NOT NULL, content TEXT NOT NULL);
CREATE INDEX messages_channel ON messages (channel_id, id);
INSERT INTO heads VALUES (1, 0);
`

func open(b *testing.B, d driver) *sql.DB {
	b.Helper()
	db, err := sql.Open(d.sql, d.dsn(filepath.Join(b.TempDir(), "bench.db")))
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// BenchmarkAppend measures one write transaction of the shape every guild
// change has: bump the log head, append the event, write the state row.
func BenchmarkAppend(b *testing.B) {
	for _, d := range []driver{current} {
		b.Run(d.name, func(b *testing.B) {
			db := open(b, d)
			payload := fmt.Sprintf(`{"content":%q}`, "hello world, this is a message of ordinary length")
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tx, err := db.Begin()
				if err != nil {
					b.Fatal(err)
				}
				var seq int64
				if err := tx.QueryRow(`UPDATE heads SET seq = seq + 1 WHERE log_id = 1 RETURNING seq`).Scan(&seq); err != nil {
					b.Fatal(err)
				}
				if _, err := tx.Exec(`INSERT INTO events (log_id, seq, type, payload) VALUES (1, ?, 'MESSAGE_CREATE', ?)`, seq, payload); err != nil {
					b.Fatal(err)
				}
				if _, err := tx.Exec(`INSERT INTO messages (id, channel_id, author_id, content) VALUES (?, 7, 9, ?)`, seq, payload); err != nil {
					b.Fatal(err)
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func fill(b *testing.B, db *sql.DB, n int) {
	b.Helper()
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		if _, err := tx.Exec(`INSERT INTO messages (id, channel_id, author_id, content) VALUES (?, ?, 9, 'some message content of ordinary length')`, i, i%10); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPointRead reads one row by primary key.
func BenchmarkPointRead(b *testing.B) {
	for _, d := range []driver{current} {
		b.Run(d.name, func(b *testing.B) {
			db := open(b, d)
			fill(b, db, 100000)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var content string
				if err := db.QueryRow(`SELECT content FROM messages WHERE id = ?`, i%100000+1).Scan(&content); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPageRead reads a history page of 50 rows through an index.
func BenchmarkPageRead(b *testing.B) {
	for _, d := range []driver{current} {
		b.Run(d.name, func(b *testing.B) {
			db := open(b, d)
			fill(b, db, 100000)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				rows, err := db.Query(`SELECT id, author_id, content FROM messages WHERE channel_id = ? AND id < ? ORDER BY id DESC LIMIT 50`, i%10, 90000)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for rows.Next() {
					var id, author int64
					var content string
					if err := rows.Scan(&id, &author, &content); err != nil {
						b.Fatal(err)
					}
					n++
				}
				rows.Close()
				if n != 50 {
					b.Fatalf("got %d rows", n)
				}
			}
		})
	}
}

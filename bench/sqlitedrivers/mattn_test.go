//go:build mattn

package sqlitedrivers

import _ "github.com/mattn/go-sqlite3"

var current = driver{"mattn", "sqlite3", func(p string) string {
	return "file:" + p + "?_journal_mode=WAL&_busy_timeout=5000&_synchronous=NORMAL&_foreign_keys=on"
}}

//go:build modernc

package sqlitedrivers

import _ "modernc.org/sqlite"

var current = driver{"modernc", "sqlite", func(p string) string {
	return "file:" + p + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(on)"
}}

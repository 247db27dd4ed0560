package server

import (
	"flag"
	"fmt"
	"strings"
)

// BindFlags defines the flags every Hearth process that serves
// federation shares (design.md section 2): --listen, --data, --database,
// --server-name, --public-url and --insecure-federation, filling c.
// cmd/homeserver and cmd/bridge both call it, so the two read their
// settings alike.
func (c *Config) BindFlags(fs *flag.FlagSet, defaultListen string) {
	fs.StringVar(&c.Listen, "listen", defaultListen, "address to serve on (host:port)")
	fs.StringVar(&c.DataDir, "data", "data", "data directory: SQLite database, uploads, signing key")
	fs.StringVar(&c.Database, "database", "", "a postgres:// URL to use PostgreSQL instead of SQLite in the data directory")
	fs.StringVar(&c.ServerName, "server-name", "", "this server's federation name (default: the listen host:port)")
	fs.StringVar(&c.PublicURL, "public-url", "", "base URL clients and peers reach this server at (default: http://<listen>)")
	fs.BoolVar(&c.InsecureFederation, "insecure-federation", false, "allow plain-http and private/loopback federation peers (development and tests only)")
}

// ApplyEnv sets every flag not given on the command line from the
// environment variable prefix+NAME (upper case, dashes as underscores):
// HEARTH_ for the homeserver, HEARTH_BRIDGE_ for the bridge.
func ApplyEnv(fs *flag.FlagSet, prefix string, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		name := prefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(name); v != "" {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s=%q: %w", name, v, e)
			}
		}
	})
	return err
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"hearth/server"
)

// backupTool runs "homeserver backup --to DIR" or "homeserver restore
// --from DIR" on the homeserver cfg names (its --data, --database).
func backupTool(ctx context.Context, tool string, cfg server.Config, to, from string, stdout io.Writer) error {
	switch tool {
	case "backup":
		if to == "" {
			return errors.New("homeserver backup needs --to DIR, a folder that does not exist or is empty")
		}
		m, err := server.Backup(ctx, cfg, to)
		if err != nil {
			return err
		}
		var size int64
		for _, f := range m.Files {
			size += f.Size
		}
		fmt.Fprintf(stdout, "backup of the %s homeserver written to %s: %d files, %d bytes, checksums in %s\n",
			m.Database, to, len(m.Files), size, server.ManifestName)
	case "restore":
		if from == "" {
			return errors.New("homeserver restore needs --from DIR, a folder written by homeserver backup")
		}
		if err := server.Restore(ctx, cfg, from); err != nil {
			return err
		}
		where := "the data dir " + cfg.DataDir
		if cfg.Database != "" {
			where += " and the database"
		}
		fmt.Fprintf(stdout, "restored %s into %s; start the homeserver on it\n", from, where)
	}
	return nil
}

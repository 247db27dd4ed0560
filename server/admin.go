package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"hearth/homeserver"
	"hearth/homeserver/globalid"
	"hearth/snowflake"
)

// Admin opens a homeserver's data (its data dir, or the database cfg
// names) for the operator's command line, without serving: a homeserver is
// administered whether it runs or not. The running server sees what the
// command line changes: administration is read from the database on each
// check, federation rules within seconds. done releases what it opened.
func Admin(ctx context.Context, cfg Config) (adm *homeserver.Admin, done func() error, err error) {
	hs, done, err := Open(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return hs.OperatorAdmin(), done, nil
}

// Open opens a homeserver's domain on its data dir (or the database cfg
// names) without serving, for commands run beside a running server (the
// bridge's link, invite, unlink, status). done releases what it opened.
func Open(ctx context.Context, cfg Config) (hs *homeserver.Homeserver, done func() error, err error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.DataDir == "" {
		cfg.DataDir = "data"
	}
	if cfg.ServerName == "" {
		cfg.ServerName = cfg.Listen
	}
	if cfg.ServerName == "" {
		cfg.ServerName = "127.0.0.1:8080"
	}
	if !globalid.ValidServer(cfg.ServerName) {
		return nil, nil, fmt.Errorf("server name %q is not a lower-case host name or IP address with an optional port; give the one the server runs with (--server-name)", cfg.ServerName)
	}
	if err := checkDataDir(cfg.DataDir); err != nil {
		return nil, nil, err
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			store.Close()
		}
	}()
	tokenKey, err := loadOrCreateSecret(filepath.Join(cfg.DataDir, "token.key"))
	if err != nil {
		return nil, nil, err
	}
	files, _, err := openFiles(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	// Beside running processes on PostgreSQL, the command leases a node
	// of its own, so that its IDs are no server's.
	node, closeStore := nodeID(), store.Close
	if cfg.Database != "" {
		holder := processName()
		if node, err = store.TakeNode(ctx, holder, time.Now(), nodeTTL); err != nil {
			return nil, nil, fmt.Errorf("cannot lease a snowflake node from the database: %w", err)
		}
		closeStore = func() error {
			rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return errors.Join(store.ReleaseNode(rctx, node, holder), store.Close())
		}
	}
	hs, err = homeserver.New(homeserver.Config{
		ServerName: cfg.ServerName, Store: store, Blobs: files, IDs: snowflake.NewGenerator(node),
		TokenKey: tokenKey, Password: cfg.Password, Now: cfg.Now, Log: cfg.Log, PublicURL: cfg.PublicURL,
		Registration: cfg.Registration, FederationAllowList: cfg.FederationAllowList,
		DeferPolicyCuts: true, Mirrors: cfg.Mirrors,
	})
	if err != nil {
		return nil, nil, err
	}
	return hs, closeStore, nil
}

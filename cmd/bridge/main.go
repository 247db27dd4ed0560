// Command bridge runs a Hearth Discord bridge: a homeserver whose users are
// Discord users and whose guilds mirror Discord guilds (spec/bridge.md).
// It serves federation, files, /metrics, /healthz and /readyz, and no
// client API. Every flag can also be given as an environment variable
// HEARTH_BRIDGE_<NAME> (upper case, dashes as underscores).
//
//	bridge [flags]                        serve
//	bridge link GUILD_ID [--backfill N]   mirror a Discord guild the bot is in
//	bridge invite GUILD_ID                print a never-expiring code@server
//	bridge unlink GUILD_ID                stop mirroring a guild
//	bridge status                         linked guilds, relay lag, last error
//
// The commands work on the same data dir (or --database) while the bridge
// runs: they write requests the running bridge carries out.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/gin-gonic/gin"

	"hearth/bridge"
	"hearth/server"
)

func main() {
	gin.SetMode(gin.ReleaseMode)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "hearth bridge: %v\n", err)
		os.Exit(1)
	}
}

// commands are the admin subcommands and how many arguments each takes.
var commands = map[string]int{"link": 1, "invite": 1, "unlink": 1, "status": 0}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := ""
	if len(args) > 0 {
		if _, ok := commands[args[0]]; ok {
			cmd, args = args[0], args[1:]
		}
	}
	fs := flag.NewFlagSet("bridge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	o.define(fs, cmd)
	// Flags may come before or after a command's arguments.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if err := server.ApplyEnv(fs, "HEARTH_BRIDGE_", getenv); err != nil {
		return err
	}
	cfg, token, discordURL, logLevel := o.cfg, o.token, o.discordURL, o.logLevel
	// The file store takes the AWS SDKs' usual variables, as the
	// homeserver's does: the credentials always, the endpoint and region
	// when no flag or HEARTH_BRIDGE_ variable gave them.
	s3 := &cfg.FilesS3
	s3.AccessKey, s3.SecretKey, s3.SessionToken = getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN")
	s3.Endpoint = cmp.Or(s3.Endpoint, getenv("AWS_ENDPOINT_URL_S3"), getenv("AWS_ENDPOINT_URL"))
	s3.Region = cmp.Or(s3.Region, getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"))
	if cmd != "" {
		if len(pos) != commands[cmd] {
			return fmt.Errorf("usage: bridge %s%s [flags]", cmd, map[string]string{"link": " GUILD_ID [--backfill N]",
				"invite": " GUILD_ID", "unlink": " GUILD_ID", "status": ""}[cmd])
		}
		cfg.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		cfg.Mirrors = true
		return command(ctx, cfg, cmd, pos, o.backfill, stdout)
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q (commands: link, invite, unlink, status)", pos[0])
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	cfg.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg.NoClientAPI = true
	cfg.Mirrors = true
	if token == "" {
		return errors.New("--discord-token (or HEARTH_BRIDGE_DISCORD_TOKEN) is needed: the Discord bot's token")
	}
	srv, err := server.New(ctx, cfg)
	if err != nil {
		return fmt.Errorf("cannot start: %w", err)
	}
	br, err := bridge.New(bridge.Config{Homeserver: srv.Homeserver(), Token: token, DiscordURL: discordURL, HearthRole: o.hearthRole,
		Log: cfg.Log, Metrics: srv.Registry(), Failpoint: getenv("HEARTH_BRIDGE_FAILPOINT")})
	if err != nil {
		srv.Close()
		return err
	}
	srv.AddWorker("discord bridge", br.Run)
	fmt.Fprintf(stderr, "Hearth Discord bridge %s serving at %s (server name %s), Discord at %s\n",
		server.Version, srv.URL(), srv.ServerName(), discordURL)
	return srv.Serve(ctx)
}

// options are the bridge's settings, flags or HEARTH_BRIDGE_<NAME>.
type options struct {
	cfg        server.Config
	token      string
	discordURL string
	logLevel   string
	hearthRole string
	backfill   int
}

// define binds o to fs, for the command cmd ("" to serve). The deployment
// files are checked against this flag set (compose_test.go).
func (o *options) define(fs *flag.FlagSet, cmd string) {
	o.cfg.BindFlags(fs, "127.0.0.1:8090")
	// Files (puppets' avatars, copied attachments and emoji) as the
	// homeserver keeps them: in the data dir, or an S3-compatible bucket.
	fs.StringVar(&o.cfg.Files, "files", "", "keep files (copied attachments, avatars, emoji) in an S3-compatible bucket: s3://bucket/prefix (credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or ~/.aws/credentials, or the instance role); in the data dir when empty")
	fs.StringVar(&o.cfg.FilesS3.Endpoint, "files-endpoint", "", "the S3 service's URL for --files (default: AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, else AWS S3)")
	fs.StringVar(&o.cfg.FilesS3.Region, "files-region", "", "the bucket's region for --files (default: AWS_REGION or AWS_DEFAULT_REGION)")
	fs.BoolVar(&o.cfg.FilesS3.PathStyle, "files-path-style", false, "address the --files bucket in the URL path, not the host name (MinIO, Garage)")
	fs.StringVar(&o.token, "discord-token", "", "the Discord bot's token (a user token is refused)")
	fs.StringVar(&o.discordURL, "discord-url", "https://discord.com", "where Discord is: its REST API is under /api/v10 there, the gateway URL comes from it")
	fs.StringVar(&o.hearthRole, "hearth-role", "", "the Discord role (ID or name) Hearth people hold in a mirror, beside @everyone; empty: @everyone only")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	if cmd == "link" {
		fs.IntVar(&o.backfill, "backfill", 0, "import the newest N messages of each channel")
	}
}

// command runs one admin command on the bridge's data.
func command(ctx context.Context, cfg server.Config, cmd string, args []string, backfill int, stdout io.Writer) error {
	hs, done, err := server.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	switch cmd {
	case "link":
		l, err := bridge.RequestLink(ctx, hs, args[0], backfill)
		if err != nil {
			return err
		}
		if l.State == bridge.StateLinked {
			fmt.Fprintf(stdout, "guild %s is linked already\n", l.DiscordGuild)
			return nil
		}
		fmt.Fprintf(stdout, "link of guild %s requested; the running bridge carries it out (see bridge status)\n", l.DiscordGuild)
	case "invite":
		code, err := bridge.Invite(ctx, hs, args[0])
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, code)
	case "unlink":
		if err := bridge.RequestUnlink(ctx, hs, args[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "unlink of guild %s requested\n", args[0])
	case "status":
		st, err := bridge.Status(ctx, hs)
		if err != nil {
			return err
		}
		if len(st) == 0 {
			fmt.Fprintln(stdout, "no linked guilds")
		}
		for _, s := range st {
			fmt.Fprintln(stdout, s.String())
		}
	}
	return nil
}

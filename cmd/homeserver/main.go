// Command homeserver runs a Hearth homeserver. With no flags it serves on
// 127.0.0.1:8080 with an embedded SQLite database in ./data. Every flag can
// also be given as an environment variable HEARTH_<NAME> (upper case, dashes
// as underscores); a flag on the command line wins over the variable.
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"hearth/server"
)

func main() {
	gin.SetMode(gin.ReleaseMode)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "hearth: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	// "homeserver admin [flags] COMMAND" administers the homeserver the
	// same flags name, instead of serving it.
	adminMode := isAdmin(args)
	// "homeserver backup --to DIR" and "homeserver restore --from DIR"
	// take the same flags too (backup.go).
	tool := ""
	if len(args) > 0 && (args[0] == "backup" || args[0] == "restore") {
		tool = args[0]
	}
	if adminMode || tool != "" {
		args = args[1:]
	}
	fs := flag.NewFlagSet("homeserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	cfg := &o.cfg
	o.define(fs)
	logLevel, logJSON, pprof := &o.logLevel, &o.logJSON, &o.pprof
	var to, from string
	switch tool {
	case "backup":
		fs.StringVar(&to, "to", "", "the folder to write the backup to (must not exist, or be empty)")
	case "restore":
		fs.StringVar(&from, "from", "", "the backup folder to restore from")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if tool != "" {
		if fs.NArg() > 0 {
			return fmt.Errorf("unexpected argument %q (see homeserver %s -help)", fs.Arg(0), tool)
		}
		if err := o.applyEnv(fs, getenv); err != nil {
			return err
		}
		return backupTool(ctx, tool, *cfg, to, from, stdout)
	}
	if adminMode {
		if err := o.applyEnv(fs, getenv); err != nil {
			return err
		}
		cfg.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		return admin(ctx, *cfg, fs.Args(), getenv, stdin, stdout)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see -help)", fs.Arg(0))
	}
	if err := o.applyEnv(fs, getenv); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	if *logJSON {
		cfg.Log = slog.New(slog.NewJSONHandler(stderr, opts))
	} else {
		cfg.Log = slog.New(slog.NewTextHandler(stderr, opts))
	}
	srv, err := server.New(ctx, *cfg)
	if err != nil {
		return fmt.Errorf("cannot start: %w", err)
	}
	if *pprof != "" {
		stopProfiles, err := serveProfiles(*pprof)
		if err != nil {
			srv.Close()
			return fmt.Errorf("cannot start: --pprof: %w", err)
		}
		defer stopProfiles()
	}
	fmt.Fprintf(stderr, "Hearth homeserver %s serving at %s (server name %s)\n", server.Version, srv.URL(), srv.ServerName())
	return srv.Serve(ctx)
}

// options are what the flags set.
type options struct {
	cfg      server.Config
	logLevel string
	logJSON  bool
	pprof    string
}

// define declares the server's flags on fs; every one is also read from
// HEARTH_<NAME> (applyEnv). The deployment files are checked against this
// set (deploy_test.go).
func (o *options) define(fs *flag.FlagSet) {
	cfg := &o.cfg
	cfg.BindFlags(fs, "127.0.0.1:8080")
	fs.BoolVar(&cfg.RateLimit, "rate-limit", true, "enforce client API rate limits")
	fs.StringVar(&cfg.Registration, "registration", "open", "who may register: open; invite (with a token from `homeserver admin registration-token create`); or closed (accounts made with `homeserver admin create-user`)")
	fs.StringVar(&cfg.SMTPURL, "smtp-url", "", "send mail (address confirmations, password resets) through this SMTP server: smtp://[user:pass@]host:port?from=address, or smtps://; none when empty")
	fs.BoolVar(&cfg.FederationAllowList, "federation-allowlist", false, "federate only with the servers allowed by `homeserver admin allow SERVER`")
	fs.DurationVar(&cfg.BackupEvery, "backup-every", 0, "take a backup this often (such as 1h) into --backup-dir while serving; none when 0")
	fs.StringVar(&cfg.BackupDir, "backup-dir", "", "folder the scheduled backups go to (best on another disk)")
	fs.DurationVar(&cfg.BackupKeep, "backup-keep", 720*time.Hour, "keep every scheduled backup this long; older ones are thinned to one a day")
	fs.StringVar(&cfg.Files, "files", "", "keep uploads, avatars, emoji and scaled images in an S3-compatible bucket: s3://bucket/prefix (credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or ~/.aws/credentials, or the instance role); in the data dir when empty")
	fs.StringVar(&cfg.FilesS3.Endpoint, "files-endpoint", "", "the S3 service's URL for --files, such as https://s3.eu-central-003.backblazeb2.com or http://minio:9000 (default: AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, else AWS S3)")
	fs.StringVar(&cfg.FilesS3.Region, "files-region", "", "the bucket's region for --files (default: AWS_REGION or AWS_DEFAULT_REGION)")
	fs.BoolVar(&cfg.FilesS3.PathStyle, "files-path-style", false, "address the --files bucket in the URL path, not the host name (MinIO, Garage)")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.BoolVar(&o.logJSON, "log-json", false, "log JSON lines instead of text")
	fs.StringVar(&o.pprof, "pprof", "", "serve Go's pprof profiles on this address (such as 127.0.0.1:6060); off when empty")
}

// applyEnv sets the flags not given from HEARTH_<NAME>, then what the S3
// file store takes from the AWS SDKs' usual variables: the credentials
// always, the endpoint and region when no flag or HEARTH_ variable gave
// them.
func (o *options) applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	if err := applyEnv(fs, getenv); err != nil {
		return err
	}
	s3 := &o.cfg.FilesS3
	s3.AccessKey, s3.SecretKey, s3.SessionToken = getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN")
	s3.Endpoint = cmp.Or(s3.Endpoint, getenv("AWS_ENDPOINT_URL_S3"), getenv("AWS_ENDPOINT_URL"))
	s3.Region = cmp.Or(s3.Region, getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"))
	return nil
}

// applyEnv sets every flag not given on the command line from HEARTH_<NAME>.
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	return server.ApplyEnv(fs, "HEARTH_", getenv)
}

// serveProfiles serves net/http/pprof on its own listener, apart from the
// public port, and returns the function that stops it.
func serveProfiles(addr string) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	return func() { _ = srv.Close(); <-done }, nil
}

package storagetest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// PrivatePostgres is a PostgreSQL server of one test's own, on a free
// loopback port, that the test may stop and start: fault tests crash it
// without touching the machine's shared server, which other tests use.
type PrivatePostgres struct {
	bin, data, logFile string
	port               int
	cred               *syscall.Credential
}

// StartPrivatePostgres makes a cluster in a temporary folder with
// Debian's initdb and pg_ctl (/usr/lib/postgresql/*/bin) and starts it;
// it is stopped and removed when the test ends. Without those binaries
// the test skips, saying so, unless CI=true, where it fails. As root the
// server runs as the postgres user, as PostgreSQL insists.
func StartPrivatePostgres(t testing.TB) *PrivatePostgres {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(bins) == 0 {
		msg := "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/pg_ctl; Debian: apt-get install postgresql) for a private server"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	slices.SortFunc(bins, func(a, b string) int { return version(b) - version(a) })
	p := &PrivatePostgres{bin: filepath.Dir(bins[0])}
	dir, err := os.MkdirTemp("", "hearth-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, a private PostgreSQL needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	p.data, p.logFile = filepath.Join(dir, "data"), filepath.Join(dir, "server.log")
	if out, err := p.run("initdb", "-D", p.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	// fsync off: an immediate stop kills the server, not the machine, so
	// what it wrote is in the kernel's cache and crash recovery finds it.
	conf := fmt.Sprintf("port = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nfsync = off\nmax_connections = 100\n", p.port, dir)
	if err := os.WriteFile(filepath.Join(p.data, "postgresql.auto.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if p.cred != nil {
		_ = os.Chown(filepath.Join(p.data, "postgresql.auto.conf"), int(p.cred.Uid), int(p.cred.Gid))
	}
	p.Start(t)
	t.Cleanup(func() { _, _ = p.run("pg_ctl", "-D", p.data, "-m", "immediate", "-w", "stop") })
	return p
}

// version reads the major version from a /usr/lib/postgresql/N/bin path.
func version(bin string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(bin))))
	return n
}

func (p *PrivatePostgres) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(p.bin, name), args...)
	cmd.Dir = os.TempDir()
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
	return cmd.CombinedOutput()
}

// URL is the server's postgres database.
func (p *PrivatePostgres) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// Start starts the server (again) and waits until it takes connections.
func (p *PrivatePostgres) Start(t testing.TB) {
	t.Helper()
	if out, err := p.run("pg_ctl", "-D", p.data, "-l", p.logFile, "-w", "-t", "120", "start"); err != nil {
		log, _ := os.ReadFile(p.logFile)
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	db, err := sql.Open("pgx", p.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		if err := db.PingContext(ctx); err == nil {
			return
		} else if ctx.Err() != nil {
			t.Fatalf("private PostgreSQL does not answer: %v", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Crash stops the server at once, as a crash or a kill would (pg_ctl
// stop -m immediate): clients' connections break mid-transaction, and
// the next start recovers from the WAL.
func (p *PrivatePostgres) Crash(t testing.TB) {
	t.Helper()
	if out, err := p.run("pg_ctl", "-D", p.data, "-m", "immediate", "-w", "stop"); err != nil && !strings.Contains(string(out), "Is server running?") {
		t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

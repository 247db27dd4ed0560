package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockFile is the file in the data dir that a process serving an SQLite
// database holds an exclusive flock on.
//
// Why a lock file rather than SQLite's own locking: in WAL mode SQLite lets
// any number of processes open one database, and they would all run, each
// with its own state cache, bus and gateway sessions, none seeing the
// others' events. SQLite's exclusive locking mode would refuse the second
// process only when it first writes, and would also lock out `homeserver
// admin` and `homeserver backup`, which are meant to work beside a running
// server. A flock is released by the kernel when the process dies (SIGKILL
// included), so a crash never leaves a stale lock behind; it does not hold
// across machines on network file systems, where SQLite itself is unsafe.
const LockFile = "hearth.lock"

// ErrDataDirInUse means another process serves the data dir.
var ErrDataDirInUse = errors.New("data dir in use")

// lockDataDir takes the data dir's lock without waiting and writes this
// process's PID into the file, so that the refusal can name the holder.
// release drops the lock.
func lockDataDir(dir string) (release func() error, err error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("cannot open the lock file %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := ""
		if b, rerr := os.ReadFile(path); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
				holder = fmt.Sprintf(" (PID %d)", pid)
			}
		}
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: another homeserver process%s is already serving the data dir %s; with SQLite only one process may serve a data dir (stop the other one, or give this one its own --data; several processes need --database postgres://...): %w",
				ErrDataDirInUse, holder, dir, err)
		}
		return nil, fmt.Errorf("cannot lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() error {
		// Closing the descriptor releases the flock; the file stays, so
		// that a process waiting on it never locks an unlinked inode.
		return f.Close()
	}, nil
}

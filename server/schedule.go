package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Scheduled backups are folders named hearth-<UTC time> in the backup dir,
// made under a .partial- name and renamed once their manifest is written,
// so that a folder with the final name is always a whole backup.
const (
	scheduledPrefix = "hearth-"
	partialPrefix   = ".partial-"
	stampLayout     = "20060102T150405.000Z"
)

// backupMetrics tell an operator (and the alert rules) whether the
// scheduled backups happen.
type backupMetrics struct {
	lastSuccess prometheus.Gauge
	failures    prometheus.Counter
	duration    prometheus.Gauge
}

func newBackupMetrics(reg prometheus.Registerer) *backupMetrics {
	m := &backupMetrics{
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Name: "hearth_backup_last_success_timestamp_seconds",
			Help: "Unix time of the last scheduled backup that finished (0 until one does)."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "hearth_backup_failures_total",
			Help: "Scheduled backups that failed."}),
		duration: prometheus.NewGauge(prometheus.GaugeOpts{Name: "hearth_backup_duration_seconds",
			Help: "How long the last scheduled backup took."}),
	}
	reg.MustRegister(m.lastSuccess, m.failures, m.duration)
	return m
}

// runBackups takes a backup every cfg.BackupEvery into cfg.BackupDir and
// thins the old ones, until ctx ends. The first comes one interval after
// start, so that a server restarting in a loop does not back up in a loop.
func (s *Server) runBackups(ctx context.Context) {
	t := time.NewTicker(s.cfg.BackupEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// One backup per interval where several processes share the
		// database.
		if s.cluster != nil && !s.cluster.leases.Hold(ctx, "backups") {
			continue
		}
		start := time.Now()
		path, err := s.scheduledBackup(ctx, start)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.backupMetrics.failures.Inc()
			s.log.Error("scheduled backup failed", "dir", s.cfg.BackupDir, "err", err)
			continue
		}
		s.backupMetrics.lastSuccess.Set(float64(time.Now().Unix()))
		s.backupMetrics.duration.Set(time.Since(start).Seconds())
		s.log.Info("backup taken", "path", path, "took", time.Since(start).Round(time.Millisecond))
		removed, err := PruneBackups(s.cfg.BackupDir, s.cfg.BackupKeep, time.Now())
		if err != nil {
			s.log.Warn("thinning old backups failed", "dir", s.cfg.BackupDir, "err", err)
		} else if len(removed) > 0 {
			s.log.Info("old backups thinned", "removed", len(removed))
		}
	}
}

// scheduledBackup takes one backup named after now.
func (s *Server) scheduledBackup(ctx context.Context, now time.Time) (string, error) {
	if err := os.MkdirAll(s.cfg.BackupDir, 0o750); err != nil {
		return "", err
	}
	// A partial folder left by a crash is no backup.
	if old, err := filepath.Glob(filepath.Join(s.cfg.BackupDir, partialPrefix+"*")); err == nil {
		for _, p := range old {
			_ = os.RemoveAll(p)
		}
	}
	name := scheduledPrefix + now.UTC().Format(stampLayout)
	tmp := filepath.Join(s.cfg.BackupDir, partialPrefix+name)
	if _, err := Backup(ctx, s.cfg, tmp); err != nil {
		_ = os.RemoveAll(tmp)
		return "", err
	}
	final := filepath.Join(s.cfg.BackupDir, name)
	if err := os.Rename(tmp, final); err != nil {
		_ = os.RemoveAll(tmp)
		return "", fmt.Errorf("backup: %w", err)
	}
	return final, nil
}

// PruneBackups thins the scheduled backups in dir: every one younger than
// keep stays; of the older ones, the first of each UTC day stays and the
// rest go (hourly backups for keep, then daily ones). It returns the
// folders it removed. Folders not named as scheduled backups are left be.
func PruneBackups(dir string, keep time.Duration, now time.Time) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	type backup struct {
		name string
		at   time.Time
	}
	var old []backup
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), scheduledPrefix) {
			continue
		}
		at, err := time.Parse(stampLayout, strings.TrimPrefix(e.Name(), scheduledPrefix))
		if err != nil || now.Sub(at) <= keep {
			continue
		}
		old = append(old, backup{e.Name(), at})
	}
	sort.Slice(old, func(i, j int) bool { return old[i].at.Before(old[j].at) })
	var removed []string
	seen := map[string]bool{}
	for _, b := range old {
		day := b.at.UTC().Format("2006-01-02")
		if !seen[day] {
			seen[day] = true
			continue
		}
		p := filepath.Join(dir, b.name)
		if err := os.RemoveAll(p); err != nil {
			return removed, err
		}
		removed = append(removed, p)
	}
	return removed, nil
}

package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"hearth/storage/blobs"
	"hearth/storage/postgres"
	"hearth/storage/sqlite"
)

// A backup is a folder: the database (hearth.db, an SQLite online backup,
// or database.pgdump, pg_dump's custom format), the keys (signing.key,
// token.key), the file store (files/, laid out as in the data dir, copied
// from the data dir or from the S3 bucket of --files) and manifest.json,
// written last, which lists every other file with its size and SHA-256. A
// folder without a manifest is not a backup. Scaled images are left out:
// they are made again on demand. The files of an S3 store are copied, not
// referred to: a backup that needs the live bucket is no backup when the
// bucket is what was lost (a deleted prefix, a wrong lifecycle rule, the
// provider's account closed). Restore puts them into the file store its
// target is configured with, data dir or bucket, whatever the source had.

// ManifestName is the manifest's file name in a backup folder.
const ManifestName = "manifest.json"

// Manifest describes one backup.
type Manifest struct {
	// Format is the layout's version, 1.
	Format int `json:"format"`
	// Version is the homeserver's that took the backup.
	Version string    `json:"version"`
	Created time.Time `json:"created"`
	// Database is "sqlite" or "postgres"; Schema names the PostgreSQL
	// schema dumped ("" for the whole database).
	Database string         `json:"database"`
	Schema   string         `json:"schema,omitempty"`
	Files    []ManifestFile `json:"files"`
	// FilesIn names the S3 bucket the file store was in when it was not
	// in the data dir; its files are in the backup's files/ all the same.
	FilesIn string `json:"files_in,omitempty"`
}

// ManifestFile is one file of a backup, its path slash-separated and
// relative to the backup folder.
type ManifestFile struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// The files a backup carries besides the database and the file store.
var keyFiles = []string{"signing.key", "token.key"}

const (
	sqliteBackupName = "hearth.db"
	pgDumpName       = "database.pgdump"
)

// Backup writes a backup of the homeserver cfg names into the folder to,
// which must not exist or be empty, while the homeserver may be serving.
// The database comes first, as one snapshot: the file store is copied
// after it, so that every file the snapshot refers to is there (a file
// uploaded later is there too, harmlessly).
func Backup(ctx context.Context, cfg Config, to string) (Manifest, error) {
	if cfg.DataDir == "" {
		cfg.DataDir = "data"
	}
	if err := emptyDir(to); err != nil {
		return Manifest{}, fmt.Errorf("backup: %w", err)
	}
	if err := os.MkdirAll(to, 0o750); err != nil {
		return Manifest{}, fmt.Errorf("backup: %w", err)
	}
	m := Manifest{Format: 1, Version: Version, Created: time.Now().UTC()}
	if cfg.Database == "" {
		m.Database = "sqlite"
		src := filepath.Join(cfg.DataDir, "hearth.db")
		if _, err := os.Stat(src); err != nil {
			return Manifest{}, fmt.Errorf("backup: no SQLite database in the data dir %s (wrong --data, or a PostgreSQL server without --database?): %w", cfg.DataDir, err)
		}
		if err := sqlite.Backup(ctx, src, filepath.Join(to, sqliteBackupName)); err != nil {
			return Manifest{}, fmt.Errorf("backup: %w", err)
		}
		if err := addFile(&m, to, sqliteBackupName); err != nil {
			return Manifest{}, err
		}
	} else {
		m.Database = "postgres"
		schema, err := postgres.Dump(ctx, cfg.Database, filepath.Join(to, pgDumpName))
		if err != nil {
			return Manifest{}, fmt.Errorf("backup: %w", err)
		}
		m.Schema = schema
		if err := addFile(&m, to, pgDumpName); err != nil {
			return Manifest{}, err
		}
	}
	for _, k := range keyFiles {
		sum, n, err := copyFile(filepath.Join(cfg.DataDir, k), filepath.Join(to, k), 0o600)
		if err != nil {
			return Manifest{}, fmt.Errorf("backup: the key %s: %w", k, err)
		}
		m.Files = append(m.Files, ManifestFile{Path: k, Size: n, SHA256: sum})
	}
	if cfg.Files != "" {
		m.FilesIn = cfg.Files
		if err := backupBucket(ctx, cfg, to, &m); err != nil {
			return Manifest{}, fmt.Errorf("backup: the file store in %s: %w", cfg.Files, err)
		}
	} else if err := backupDataDirFiles(ctx, cfg.DataDir, to, &m); err != nil {
		return Manifest{}, fmt.Errorf("backup: the file store: %w", err)
	}
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Manifest{}, err
	}
	if err := writeSynced(filepath.Join(to, ManifestName), append(b, '\n'), 0o640); err != nil {
		return Manifest{}, fmt.Errorf("backup: %w", err)
	}
	return m, nil
}

// backupDataDirFiles copies the data dir's file store into the backup.
func backupDataDirFiles(ctx context.Context, dataDir, to string, m *Manifest) error {
	files := filepath.Join(dataDir, "files")
	return filepath.WalkDir(files, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // swept meanwhile, or no uploads yet
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d.IsDir() {
			if d.Name() == "tmp" && filepath.Dir(path) == files {
				return fs.SkipDir // uploads in progress
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dataDir, path)
		if err != nil {
			return err
		}
		sum, n, err := copyFile(path, filepath.Join(to, rel), 0o640)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // swept between the walk and the copy: unreferenced
		}
		if err != nil {
			return err
		}
		m.Files = append(m.Files, ManifestFile{Path: filepath.ToSlash(rel), Size: n, SHA256: sum})
		return nil
	})
}

// backupBucket copies every blob of the S3 file store cfg.Files names into
// the backup's files/, as the data dir lays them out. An object is checked
// against its name (its SHA-256) as it is copied: what the bucket serves
// is not trusted to be what was stored.
func backupBucket(ctx context.Context, cfg Config, to string, m *Manifest) error {
	store, _, err := openFiles(ctx, cfg)
	if err != nil {
		return err
	}
	var hashes []string
	if err := store.Each(ctx, func(hash string, _ int64) error {
		hashes = append(hashes, hash)
		return nil
	}); err != nil {
		return err
	}
	for _, hash := range hashes {
		rel := "files/" + blobs.Key(hash)
		obj, err := store.Open(ctx, hash)
		if errors.Is(err, blobs.ErrNotFound) {
			continue // swept between the listing and the copy: unreferenced
		}
		if err != nil {
			return err
		}
		sum, n, err := copyFrom(obj, filepath.Join(to, filepath.FromSlash(rel)), 0o640)
		obj.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", hash, err)
		}
		if sum != hash {
			return fmt.Errorf("the object %s holds bytes whose SHA-256 is %s: the bucket is damaged", blobs.Key(hash), sum)
		}
		m.Files = append(m.Files, ManifestFile{Path: rel, Size: n, SHA256: sum})
	}
	return nil
}

// VerifyBackup reads a backup's manifest and checks every file it lists
// against its size and SHA-256.
func VerifyBackup(from string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(from, ManifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return m, fmt.Errorf("%s has no %s: it is not a backup, or one that did not finish", from, ManifestName)
	}
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%s: %w", ManifestName, err)
	}
	if m.Format != 1 {
		return m, fmt.Errorf("%s: format %d is not one this homeserver reads (1)", ManifestName, m.Format)
	}
	if m.Database != "sqlite" && m.Database != "postgres" {
		return m, fmt.Errorf("%s: unknown database %q", ManifestName, m.Database)
	}
	var bad []string
	for _, f := range m.Files {
		p, err := inside(from, f.Path)
		if err != nil {
			return m, err
		}
		sum, n, err := hashFile(p)
		switch {
		case err != nil:
			bad = append(bad, fmt.Sprintf("%s: %v", f.Path, err))
		case n != f.Size || sum != f.SHA256:
			bad = append(bad, f.Path+": checksum mismatch")
		case blobPath(f.Path) && sum != path.Base(f.Path):
			// A stored file is named by its SHA-256: a manifest written
			// after the damage (or by hand) cannot vouch for it.
			bad = append(bad, f.Path+": its bytes are not the ones its name (their SHA-256) says")
		}
	}
	if len(bad) > 0 {
		if len(bad) > 10 {
			bad = append(bad[:10], fmt.Sprintf("and %d more", len(bad)-10))
		}
		return m, fmt.Errorf("the backup in %s is damaged; its checksums fail: %s", from, strings.Join(bad, "; "))
	}
	return m, nil
}

// Restore puts the backup in from into the data dir (and the database)
// cfg names, which must be empty: restore never overwrites a homeserver.
// The backup's checksums are checked first, all of them.
func Restore(ctx context.Context, cfg Config, from string) error {
	if cfg.DataDir == "" {
		cfg.DataDir = "data"
	}
	m, err := VerifyBackup(from)
	if err != nil {
		return fmt.Errorf("restore refused: %w", err)
	}
	switch {
	case m.Database == "sqlite" && cfg.Database != "":
		return errors.New("restore refused: this is a backup of an SQLite homeserver; restore it without --database")
	case m.Database == "postgres" && cfg.Database == "":
		return errors.New("restore refused: this is a backup of a PostgreSQL homeserver; name the empty target database with --database")
	}
	if err := emptyDir(cfg.DataDir); err != nil {
		return fmt.Errorf("restore refused: %w; restore goes only into an empty data dir", err)
	}
	if cfg.Database != "" {
		empty, err := postgres.Empty(ctx, cfg.Database)
		if err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		if !empty {
			return errors.New("restore refused: the target database already holds tables; restore goes only into an empty database (or schema)")
		}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	// No server may start on the data dir while it fills.
	unlock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer unlock()
	// The database goes in place last, under a temporary name until whole:
	// a restore cut short leaves no database a server would open, and
	// never one beside keys the server would make anew (a new identity
	// for the same history).
	// With --files, the stored files go to the bucket (objects it holds
	// already are the same bytes, content addressing says, and are only
	// touched): restore is how a backup of a data dir moves to S3, too.
	var bucket *blobs.Store
	if cfg.Files != "" {
		if bucket, _, err = openFiles(ctx, cfg); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
	}
	sqliteSrc, sqliteSum := "", ""
	for _, f := range m.Files {
		src, _ := inside(from, f.Path)
		switch f.Path {
		case pgDumpName:
			continue
		case sqliteBackupName:
			sqliteSrc, sqliteSum = src, f.SHA256
			continue
		}
		if bucket != nil && blobPath(f.Path) {
			if err := restoreBlob(ctx, bucket, src, f); err != nil {
				return fmt.Errorf("restore: %s: %w", cfg.Files, err)
			}
			continue
		}
		dst, _ := inside(cfg.DataDir, f.Path)
		mode := os.FileMode(0o640)
		if !strings.Contains(f.Path, "/") {
			mode = 0o600 // the keys
		}
		// What is copied is checked again: the backup may change (or a
		// disk misread) between the check and the copy.
		sum, _, err := copyFile(src, dst, mode)
		if err == nil && sum != f.SHA256 {
			_ = os.Remove(dst)
			err = fmt.Errorf("%s changed since its checksum was checked: restore again from a sound backup", f.Path)
		}
		if err != nil {
			return fmt.Errorf("restore: %w", err)
		}
	}
	if sqliteSrc != "" {
		tmp := filepath.Join(cfg.DataDir, ".restore-"+sqliteBackupName)
		sum, _, err := copyFile(sqliteSrc, tmp, 0o640)
		if err == nil && sum != sqliteSum {
			_ = os.Remove(tmp)
			err = fmt.Errorf("%s changed since its checksum was checked: restore again from a sound backup", sqliteBackupName)
		}
		if err == nil {
			err = sqlite.SkipLogSeqs(ctx, tmp, RestoreSeqSkip)
		}
		if err != nil {
			_ = os.Remove(tmp)
			return fmt.Errorf("restore: %w", err)
		}
		if err := os.Rename(tmp, filepath.Join(cfg.DataDir, "hearth.db")); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
	}
	if m.Database == "postgres" {
		if err := postgres.Restore(ctx, cfg.Database, filepath.Join(from, pgDumpName), m.Schema); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		if err := postgres.SkipLogSeqs(ctx, cfg.Database, RestoreSeqSkip); err != nil {
			return fmt.Errorf("restore: %w (the database is restored but its logs were not moved on: drop it and restore again)", err)
		}
	}
	return nil
}

// RestoreSeqSkip is how far restore moves every log's head on. Peers may
// hold events of this server's own guilds logged after the backup and lost
// with the server; their replicas' positions are past the restored head,
// and they would take the restored server's next events, numbered from
// there, for ones they have applied (spec/federation.md §8.2, idempotence)
// and drop them. 2^32 numbers are more than any log gets between two
// backups; a batch covers the skipped range like any other it leaves out.
const RestoreSeqSkip = 1 << 32

// restoreBlob puts the backup's file src into the store, checking that
// what went in is what the manifest says (the backup may change between
// the check and the copy).
func restoreBlob(ctx context.Context, store *blobs.Store, src string, f ManifestFile) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := store.Stage(in, f.Size)
	if err != nil {
		return fmt.Errorf("%s: %w", f.Path, err)
	}
	if st.Hash != f.SHA256 || st.Size != f.Size {
		store.Discard(st)
		return fmt.Errorf("%s changed since its checksum was checked: restore again from a sound backup", f.Path)
	}
	if err := store.Promote(ctx, st); err != nil {
		store.Discard(st)
		return err
	}
	return nil
}

// blobPath reports whether a backup's path is a stored file's, named by
// its content hash (files/ab/cd/<sha256>).
func blobPath(p string) bool {
	hash := path.Base(p)
	return len(hash) == 64 && p == "files/"+blobs.Key(hash)
}

// inside joins a manifest's relative path to dir, refusing one that would
// leave it: a manifest is outside input.
func inside(dir, rel string) (string, error) {
	if rel == "" || !filepath.IsLocal(filepath.FromSlash(rel)) {
		return "", fmt.Errorf("%s: the path %q leaves the backup folder", ManifestName, rel)
	}
	return filepath.Join(dir, filepath.FromSlash(rel)), nil
}

// emptyDir says why dir, if it exists, is not an empty folder.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() == LockFile {
			continue // a lock file alone holds nothing
		}
		return fmt.Errorf("%s is not empty (it holds %s)", dir, e.Name())
	}
	return nil
}

func addFile(m *Manifest, dir, rel string) error {
	sum, n, err := hashFile(filepath.Join(dir, rel))
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	m.Files = append(m.Files, ManifestFile{Path: rel, Size: n, SHA256: sum})
	return nil
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// copyFile copies src to a new file dst, synced, and returns the SHA-256
// and size of what it wrote.
func copyFile(src, dst string, mode os.FileMode) (string, int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", 0, err
	}
	defer in.Close()
	return copyFrom(in, dst, mode)
}

// copyFrom copies what in reads to a new file dst, synced, and returns the
// SHA-256 and size of what it wrote.
func copyFrom(in io.Reader, dst string, mode os.FileMode) (string, int64, error) {
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return "", 0, err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return "", 0, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func writeSynced(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

package blobs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Disk is a Bucket in a folder of the local file system, with its staging
// folder "tmp" inside it (so that Place is a rename).
type Disk struct {
	root string
}

// OpenDisk uses (and creates) the folder root.
func OpenDisk(root string) (*Disk, error) {
	if err := os.MkdirAll(filepath.Join(root, "tmp"), 0o750); err != nil {
		return nil, fmt.Errorf("blobs: create %s: %w", root, err)
	}
	return &Disk{root: root}, nil
}

// StagingDir is root/tmp.
func (d *Disk) StagingDir() string { return filepath.Join(d.root, "tmp") }

// file is where key lives; keys come from this package and the scaler,
// which build them from checked hashes and sizes, never from a request.
func (d *Disk) file(key string) string { return filepath.Join(d.root, filepath.FromSlash(key)) }

// Place renames the staged file into place.
func (d *Disk) Place(_ context.Context, key, staged string) error {
	dst := d.file(key)
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return fmt.Errorf("blobs: place %s: %w", key, err)
	}
	if err := os.Rename(staged, dst); err != nil {
		return fmt.Errorf("blobs: place %s: %w", key, err)
	}
	return nil
}

// Touch sets the file's modification time to now.
func (d *Disk) Touch(_ context.Context, key string) error {
	now := time.Now()
	err := os.Chtimes(d.file(key), now, now)
	if errors.Is(err, fs.ErrNotExist) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("blobs: touch %s: %w", key, err)
	}
	return nil
}

// diskObject is an open file with its size.
type diskObject struct {
	*os.File
	size int64
}

func (o diskObject) Size() int64 { return o.size }

// Open opens the file.
func (d *Disk) Open(_ context.Context, key string) (Object, error) {
	f, err := os.Open(d.file(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("blobs: open %s: %w", key, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blobs: open %s: %w", key, err)
	}
	return diskObject{File: f, size: info.Size()}, nil
}

// Stat reads the file's size and modification time.
func (d *Disk) Stat(_ context.Context, key string) (Entry, error) {
	info, err := os.Stat(d.file(key))
	if errors.Is(err, fs.ErrNotExist) {
		return Entry{}, ErrNotFound
	}
	if err != nil {
		return Entry{}, fmt.Errorf("blobs: stat %s: %w", key, err)
	}
	return Entry{Key: key, Size: info.Size(), ModTime: info.ModTime()}, nil
}

// List walks the folder under prefix.
func (d *Disk) List(ctx context.Context, prefix string, fn func(Entry) error) error {
	start := d.file(prefix)
	staging := d.StagingDir()
	err := filepath.WalkDir(start, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed meanwhile, or nothing under prefix
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if e.IsDir() {
			if p == staging {
				return fs.SkipDir
			}
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		rel, err := filepath.Rel(d.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) || strings.HasPrefix(path.Base(key), ".") {
			return nil
		}
		return fn(Entry{Key: key, Size: info.Size(), ModTime: info.ModTime()})
	})
	if err != nil {
		return fmt.Errorf("blobs: list %s: %w", d.root, err)
	}
	return nil
}

// Remove deletes the file.
func (d *Disk) Remove(_ context.Context, key string) error {
	if err := os.Remove(d.file(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blobs: remove %s: %w", key, err)
	}
	return nil
}

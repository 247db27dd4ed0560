package blobs

import (
	"context"
	"io"
	"time"
)

// Bucket is where files live by key: a folder on disk (Disk) or a prefix
// of an S3-compatible bucket (S3). Keys are slash-separated paths. The
// content-addressed Store and the scaler's copies are both built on one,
// so that several processes on several machines can share their files by
// sharing a bucket.
type Bucket interface {
	// StagingDir is the local folder where content is written before
	// Place moves it in (on the same file system, for a Disk).
	StagingDir() string
	// Place moves the file at path (in StagingDir) to key, replacing
	// what was there; the file at path is gone afterwards.
	Place(ctx context.Context, key, path string) error
	// Touch marks what key holds as written now, so that a sweep sees it
	// as fresh; ErrNotFound when key holds nothing.
	Touch(ctx context.Context, key string) error
	// Open opens what key holds; ErrNotFound when it holds nothing.
	Open(ctx context.Context, key string) (Object, error)
	// Stat describes what key holds; ErrNotFound when it holds nothing.
	Stat(ctx context.Context, key string) (Entry, error)
	// List calls fn for every key under prefix ("" for all; a prefix
	// ends with a slash), in no set order, skipping the staging folder.
	List(ctx context.Context, prefix string, fn func(Entry) error) error
	// Remove deletes key; a key that holds nothing is no error.
	Remove(ctx context.Context, key string) error
}

// Entry describes what a key holds.
type Entry struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// Object is an opened file of a Bucket: it seeks (for ranges) and knows
// its size. Name ends with the key's last element, which for a blob is its
// content hash.
type Object interface {
	io.ReadSeekCloser
	Size() int64
	Name() string
}

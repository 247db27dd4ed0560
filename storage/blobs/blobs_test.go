package blobs_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hearth/storage/blobs"
	"hearth/storage/blobs/blobstest"
)

func TestDisk(t *testing.T) {
	blobstest.Run(t, func(t *testing.T) blobstest.Backend {
		root := t.TempDir()
		d, err := blobs.OpenDisk(root)
		if err != nil {
			t.Fatal(err)
		}
		return blobstest.Backend{Bucket: d, Age: func(t *testing.T, key string, ago time.Duration) {
			at := time.Now().Add(-ago)
			if err := os.Chtimes(filepath.Join(root, filepath.FromSlash(key)), at, at); err != nil {
				t.Fatal(err)
			}
		}}
	})
}

// TestS3: the same contract on an S3 server the test starts, under a
// prefix (two stores in one bucket do not see each other's blobs).
func TestS3(t *testing.T) {
	srv := blobstest.StartS3(t)
	n := 0
	blobstest.Run(t, func(t *testing.T) blobstest.Backend {
		n++
		b, err := blobs.OpenS3(context.Background(), srv.Config("run"+string(rune('a'+n))+"/files", t.TempDir()))
		if err != nil {
			t.Fatal(err)
		}
		return blobstest.Backend{Bucket: b, Age: func(t *testing.T, key string, ago time.Duration) {
			restore := srv.Backdate(ago)
			defer restore()
			if err := b.Touch(context.Background(), key); err != nil {
				t.Fatal(err)
			}
		}}
	})
}

// TestOpenS3Refuses: a bucket that is not there, or a URL that is not an
// S3 one, stops at start with a sentence naming it.
func TestOpenS3Refuses(t *testing.T) {
	srv := blobstest.StartS3(t)
	for _, c := range []struct{ url, want string }{
		{"s3://no-such-bucket/x", "does not exist"},
		{"https://bucket/x", "is not s3://bucket"},
		{"s3:///x", "is not s3://bucket"},
	} {
		cfg := srv.Config("", t.TempDir())
		cfg.URL = c.url
		_, err := blobs.OpenS3(context.Background(), cfg)
		if err == nil || !contains(err.Error(), c.want) {
			t.Errorf("OpenS3(%s) = %v, want %q", c.url, err, c.want)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// Package blobstest holds what tests of file stores share: an
// S3-compatible server on a loopback port, and the conformance suite every
// Bucket behind blobs.Store passes.
package blobstest

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"hearth/storage/blobs"
)

// S3 is an S3-compatible server (gofakes3, speaking the S3 protocol over
// HTTP) on a loopback port, with one bucket. Its credentials are any.
type S3 struct {
	// Endpoint is http://127.0.0.1:port.
	Endpoint string
	// Bucket exists and starts empty.
	Bucket string
	clock  *skewedClock
	stop   func()
}

// The credentials tests sign with (the server checks none).
const (
	AccessKey = "hearth-test"
	SecretKey = "hearth-test-secret"
)

// skewedClock is the server's clock for the times it stamps on objects,
// moved back while a test backdates what it writes.
type skewedClock struct{ skew atomic.Int64 }

func (c *skewedClock) Now() time.Time                  { return time.Now().Add(-time.Duration(c.skew.Load())) }
func (c *skewedClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// StartS3 starts the server, stopped when the test ends.
func StartS3(t testing.TB) *S3 {
	t.Helper()
	clock := &skewedClock{}
	backend := s3mem.New(s3mem.WithTimeSource(clock))
	const bucket = "hearth-files"
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The service stamps times in two places (its listings and its
	// headers): both follow the clock, and the signature's time is not
	// checked against it, since Backdate moves it.
	fake := gofakes3.New(backend, gofakes3.WithTimeSource(clock), gofakes3.WithTimeSkewLimit(0))
	srv := &http.Server{Handler: fake.Server(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("S3 server: %v", err)
		}
	}()
	stop := sync.OnceFunc(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	})
	t.Cleanup(stop)
	return &S3{Endpoint: "http://" + ln.Addr().String(), Bucket: bucket, clock: clock, stop: stop}
}

// Stop stops the server before the test ends: an outage of the store.
func (s *S3) Stop() { s.stop() }

// Config is what reaches the server's bucket under prefix, staging in
// staging.
func (s *S3) Config(prefix, staging string) blobs.S3Config {
	return blobs.S3Config{URL: "s3://" + s.Bucket + "/" + prefix, Endpoint: s.Endpoint, Region: "us-east-1",
		PathStyle: true, AccessKey: AccessKey, SecretKey: SecretKey, Staging: staging}
}

// Backdate makes the objects written until restore is called look written
// by ago earlier.
func (s *S3) Backdate(ago time.Duration) (restore func()) {
	s.clock.skew.Store(int64(ago))
	return func() { s.clock.skew.Store(0) }
}

package blobs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config says where an S3-compatible bucket is and how to sign for it.
type S3Config struct {
	// URL is s3://bucket or s3://bucket/prefix.
	URL string
	// Endpoint is the service's base URL (https://s3.eu-central-003.backblazeb2.com,
	// http://127.0.0.1:9000); empty means AWS S3 in Region.
	Endpoint string
	// Region is the bucket's region; empty lets the client ask.
	Region string
	// PathStyle addresses the bucket in the path instead of the host
	// name (MinIO and Garage want it); false lets the client choose by
	// endpoint.
	PathStyle bool
	// AccessKey, SecretKey and SessionToken are static credentials; when
	// AccessKey is empty the shared credentials file
	// (~/.aws/credentials, AWS_PROFILE) and then the instance's IAM role
	// are tried.
	AccessKey, SecretKey, SessionToken string
	// Staging is a local folder uploads are written to (and hashed in)
	// before they go to the bucket.
	Staging string
	// Transport, when set, carries the requests (tests).
	Transport http.RoundTripper
}

// S3 is a Bucket under a prefix of an S3-compatible bucket. Its
// modification times are the service's Last-Modified.
type S3 struct {
	client  *minio.Client
	bucket  string
	prefix  string // "" or ends with "/"
	staging string
}

// ParseS3URL splits s3://bucket/prefix into the bucket and the prefix
// (without slashes at either end).
func ParseS3URL(raw string) (bucket, prefix string, err error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.RawQuery != "" || u.User != nil {
		return "", "", fmt.Errorf("%q is not s3://bucket or s3://bucket/prefix", raw)
	}
	return u.Host, strings.Trim(u.Path, "/"), nil
}

// OpenS3 connects to the bucket cfg names and checks that it is there
// (a typo in a bucket name should stop the server at start, not fail
// every upload).
func OpenS3(ctx context.Context, cfg S3Config) (*S3, error) {
	bucket, prefix, err := ParseS3URL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("blobs: %w", err)
	}
	endpoint := cfg.Endpoint
	if endpoint == "" {
		endpoint = "https://s3.amazonaws.com"
		if cfg.Region != "" {
			endpoint = "https://s3." + cfg.Region + ".amazonaws.com"
		}
	}
	eu, err := url.Parse(endpoint)
	if err != nil || (eu.Scheme != "http" && eu.Scheme != "https") || eu.Host == "" || strings.Trim(eu.Path, "/") != "" {
		return nil, fmt.Errorf("blobs: S3 endpoint %q is not an http(s)://host[:port] URL", endpoint)
	}
	creds := credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, cfg.SessionToken)
	if cfg.AccessKey == "" {
		creds = credentials.NewChainCredentials([]credentials.Provider{
			&credentials.FileAWSCredentials{},
			&credentials.IAM{Client: &http.Client{Timeout: 10 * time.Second}},
		})
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(eu.Host, &minio.Options{
		Creds: creds, Secure: eu.Scheme == "https", Region: cfg.Region,
		BucketLookup: lookup, Transport: cfg.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("blobs: S3 client: %w", err)
	}
	if cfg.Staging == "" {
		return nil, errors.New("blobs: S3 needs a local staging folder")
	}
	if err := os.MkdirAll(cfg.Staging, 0o750); err != nil {
		return nil, fmt.Errorf("blobs: create %s: %w", cfg.Staging, err)
	}
	ok, err := client.BucketExists(ctx, bucket)
	if err != nil {
		return nil, fmt.Errorf("blobs: reach bucket %s at %s: %w", bucket, eu.Host, err)
	}
	if !ok {
		return nil, fmt.Errorf("blobs: bucket %s does not exist at %s", bucket, eu.Host)
	}
	if prefix != "" {
		prefix += "/"
	}
	return &S3{client: client, bucket: bucket, prefix: prefix, staging: cfg.Staging}, nil
}

// Within is the same bucket under prefix/name, staging in staging.
func (s *S3) Within(name, staging string) (*S3, error) {
	if err := os.MkdirAll(staging, 0o750); err != nil {
		return nil, fmt.Errorf("blobs: create %s: %w", staging, err)
	}
	return &S3{client: s.client, bucket: s.bucket, prefix: s.prefix + strings.Trim(name, "/") + "/", staging: staging}, nil
}

// StagingDir is the local folder given to OpenS3 or Within.
func (s *S3) StagingDir() string { return s.staging }

func (s *S3) object(key string) string { return s.prefix + key }

// notFound reports whether err is the service's "no such key".
func notFound(err error) bool {
	code := minio.ToErrorResponse(err).Code
	return code == minio.NoSuchKey || code == "NotFound"
}

// Place uploads the staged file, then removes it.
func (s *S3) Place(ctx context.Context, key, staged string) error {
	if _, err := s.client.FPutObject(ctx, s.bucket, s.object(key), staged, minio.PutObjectOptions{ContentType: "application/octet-stream"}); err != nil {
		return fmt.Errorf("blobs: upload %s: %w", key, err)
	}
	_ = os.Remove(staged)
	return nil
}

// Touch copies the object onto itself with new metadata, which S3
// allows and which gives it a new Last-Modified without moving its bytes
// through this server.
func (s *S3) Touch(ctx context.Context, key string) error {
	_, err := s.client.CopyObject(ctx,
		minio.CopyDestOptions{Bucket: s.bucket, Object: s.object(key), ReplaceMetadata: true,
			UserMetadata: map[string]string{"Hearth-Touched": time.Now().UTC().Format(time.RFC3339)}},
		minio.CopySrcOptions{Bucket: s.bucket, Object: s.object(key)})
	if notFound(err) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("blobs: touch %s: %w", key, err)
	}
	return nil
}

// s3Object reads an object, each read past a seek being a ranged GET.
type s3Object struct {
	*minio.Object
	name string
	size int64
}

func (o s3Object) Size() int64  { return o.size }
func (o s3Object) Name() string { return o.name }

// Open asks for the object's metadata, so that a missing key is
// ErrNotFound here and not at the first read.
func (s *S3) Open(ctx context.Context, key string) (Object, error) {
	obj, err := s.client.GetObject(ctx, s.bucket, s.object(key), minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("blobs: open %s: %w", key, err)
	}
	info, err := obj.Stat()
	if err != nil {
		obj.Close()
		if notFound(err) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("blobs: open %s: %w", key, err)
	}
	return s3Object{Object: obj, name: path.Base(key), size: info.Size}, nil
}

// Stat asks for the object's metadata.
func (s *S3) Stat(ctx context.Context, key string) (Entry, error) {
	info, err := s.client.StatObject(ctx, s.bucket, s.object(key), minio.StatObjectOptions{})
	if notFound(err) {
		return Entry{}, ErrNotFound
	}
	if err != nil {
		return Entry{}, fmt.Errorf("blobs: stat %s: %w", key, err)
	}
	return Entry{Key: key, Size: info.Size, ModTime: info.LastModified}, nil
}

// List pages through the keys under prefix.
func (s *S3) List(ctx context.Context, prefix string, fn func(Entry) error) error {
	ctx, cancel := context.WithCancel(ctx) // stops the listing's goroutine when fn fails
	defer cancel()
	for info := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}) {
		if info.Err != nil {
			return fmt.Errorf("blobs: list %s: %w", s.prefix+prefix, info.Err)
		}
		key := strings.TrimPrefix(info.Key, s.prefix)
		if strings.HasSuffix(key, "/") {
			continue // a folder marker some tools make
		}
		if err := fn(Entry{Key: key, Size: info.Size, ModTime: info.LastModified}); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// Remove deletes the object.
func (s *S3) Remove(ctx context.Context, key string) error {
	if err := s.client.RemoveObject(ctx, s.bucket, s.object(key), minio.RemoveObjectOptions{}); err != nil && !notFound(err) {
		return fmt.Errorf("blobs: remove %s: %w", key, err)
	}
	return nil
}

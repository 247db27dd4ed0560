package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"hearth/storage/blobs"
	"hearth/storage/blobs/blobstest"
)

// TestFilesFlag: HEARTH_FILES and the AWS variables an operator already
// has put a real process's files in an S3 bucket; a bucket that is not
// there stops the start with a sentence naming it.
func TestFilesFlag(t *testing.T) {
	srv := blobstest.StartS3(t)
	env := []string{
		"HEARTH_FILES=s3://" + srv.Bucket + "/prod", "AWS_ENDPOINT_URL_S3=" + srv.Endpoint, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=" + blobstest.AccessKey, "AWS_SECRET_ACCESS_KEY=" + blobstest.SecretKey,
	}
	p := startProcess(t, env, "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--files-path-style")
	call := func(method, path, token string, body any) (int, []byte) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, p.url+path, rd)
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	var reg struct{ Token string }
	code, b := call("POST", "/api/v10/auth/register", "", map[string]string{"username": "ops", "password": "correct horse battery"})
	if code != 201 || json.Unmarshal(b, &reg) != nil {
		t.Fatalf("register: %d %s", code, b)
	}
	var pic bytes.Buffer
	if err := png.Encode(&pic, image.NewRGBA(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	var me struct{ ID, Avatar string }
	code, b = call("PATCH", "/api/v10/users/@me", reg.Token, map[string]string{"avatar": "data:image/png;base64," + base64.StdEncoding.EncodeToString(pic.Bytes())})
	if code != 200 || json.Unmarshal(b, &me) != nil {
		t.Fatalf("avatar: %d %s", code, b)
	}
	if code, b := call("GET", "/avatars/"+me.ID+"/"+me.Avatar+".png", "", nil); code != 200 || !bytes.Equal(b, pic.Bytes()) {
		t.Fatalf("avatar read back: %d, %d bytes", code, len(b))
	}
	bucket, err := blobs.OpenS3(context.Background(), srv.Config("prod/files", t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if has, err := blobs.New(bucket).Has(context.Background(), me.Avatar); !has || err != nil {
		t.Fatalf("the avatar is not in the bucket: %v", err)
	}

	cmd := exec.Command(os.Args[0], "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--files-path-style", "--files", "s3://no-such-bucket")
	cmd.Env = append(append(os.Environ(), "HEARTH_TEST_MAIN=1"), env...)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "bucket no-such-bucket does not exist") {
		t.Fatalf("started on a missing bucket (%v):\n%s", err, out)
	}
}

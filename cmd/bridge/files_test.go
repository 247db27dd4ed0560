package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	st "hearth/server/servertest"
	"hearth/storage/blobs"
	"hearth/storage/blobs/blobstest"
)

// TestBridgeFilesInS3: with --files s3://bucket/prefix (and the AWS
// variables an operator has) the bridge keeps what it copies from Discord
// in the bucket: alice's avatar, copied for her puppet, is there.
func TestBridgeFilesInS3(t *testing.T) {
	srv := blobstest.StartS3(t)
	env := map[string]string{"AWS_ENDPOINT_URL_S3": srv.Endpoint, "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": blobstest.AccessKey, "AWS_SECRET_ACCESS_KEY": blobstest.SecretKey}
	d := startDiscord(t, st.SQLite)
	png, uri := avatarPNG(t, 33)
	st.OK(t, d.Do(t, "PATCH", "/api/v10/users/@me", d.alice, map[string]any{"avatar": uri}), http.StatusOK)
	st.OK(t, d.Do(t, "POST", "/api/v10/channels/"+d.general+"/messages", d.alice, map[string]any{"content": "to the bucket"}), http.StatusOK)

	flags := append(bridgeFlags(t, st.SQLite), "--files", "s3://"+srv.Bucket+"/bridge", "--files-path-style")
	startBridgeEnv(t, flags, d, env)
	command := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := run(context.Background(), append(args, flags...), func(k string) string { return env[k] }, &out, &errOut); err != nil {
			t.Fatalf("bridge %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
		}
		return out.String()
	}
	command("link", d.guild, "--backfill", "1")
	st.WaitFor(t, "link", wait, func() string {
		if out := command("status"); !strings.Contains(out, "\tlinked") {
			return out
		}
		return ""
	})
	bucket, err := blobs.OpenS3(context.Background(), srv.Config("bridge/files", t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	st.WaitFor(t, "alice's avatar in the bucket", wait, func() string {
		has, err := blobs.New(bucket).Has(context.Background(), sha(png))
		if err != nil || !has {
			return fmt.Sprintf("not there (%v)", err)
		}
		return ""
	})
}

package clientapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	st "hearth/server/servertest"
	"hearth/storage/blobs"
	"hearth/storage/blobs/blobstest"
)

// TestFilesInS3: with the files in an S3 bucket (--files s3://...), an
// attachment is uploaded to the bucket and served from it (ranges too), a
// scaled copy is made and kept there, an avatar works, nothing lands in
// the data dir, and the sweep removes a file nothing refers to from the
// bucket.
func TestFilesInS3(t *testing.T) {
	srv := blobstest.StartS3(t)
	dataDir := t.TempDir()
	s := st.Start(t, st.Options{DataDir: dataDir, Files: "s3://" + srv.Bucket + "/hearth", FilesS3: srv.Config("", "")})
	owner := s.Register(t, "owner", "correct horse")
	g := newGuild(t, s, owner, "Bucket")
	ctx := context.Background()
	// The test's own view of the bucket, as another machine would have.
	files, err := blobs.OpenS3(ctx, srv.Config("hearth/files", t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	scaled, err := blobs.OpenS3(ctx, srv.Config("hearth/scaled", t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	keys := func(b blobs.Bucket) []string {
		var out []string
		if err := b.List(ctx, "", func(e blobs.Entry) error { out = append(out, e.Key); return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}

	jpg := jpegBytes(t, photo(600, 400, false))
	lone := []byte("bytes of one message only")
	keep := ok(t, multipartSend(t, s, owner, g.general, `{"content":"photo"}`, map[string][]byte{"photo.jpg": jpg}), 200)
	drop := ok(t, multipartSend(t, s, owner, g.general, `{"content":"note"}`, map[string][]byte{"note.txt": lone}), 200)
	photoLink := mustPath(t, keep["attachments"].([]any)[0].(map[string]any)["url"].(string))
	noteLink := mustPath(t, drop["attachments"].([]any)[0].(map[string]any)["url"].(string))

	if r := s.Do(t, "GET", photoLink, "", nil); r.Status != 200 || !bytes.Equal(r.Body, jpg) {
		t.Fatalf("attachment from the bucket: %d, %d bytes of %d", r.Status, len(r.Body), len(jpg))
	}
	if r := doWith(t, s, noteLink, map[string]string{"Range": "bytes=6-8"}); r.Status != 206 || string(r.Body) != "of " {
		t.Fatalf("ranged read: %d %q", r.Status, r.Body)
	}
	if got := keys(files); len(got) != 2 {
		t.Fatalf("bucket holds %v, want the two uploads", got)
	}

	img := decoded(t, s.Do(t, "GET", photoLink+"&width=150", "", nil), "image/jpeg")
	if b := img.Bounds(); b.Dx() != 150 || b.Dy() != 100 {
		t.Fatalf("scaled to %v, want 150×100", b)
	}
	if got := keys(scaled); len(got) != 1 || !strings.HasSuffix(got[0], "/150x100") {
		t.Fatalf("scaled copies in the bucket: %v", got)
	}
	if r := s.Do(t, "GET", photoLink+"&width=150", "", nil); r.Status != 200 || r.Header.Get("ETag") == "" {
		t.Fatalf("the kept copy: %d", r.Status)
	}

	uri, _ := pngDataURI(t)
	me := ok(t, s.Do(t, "PATCH", "/api/v10/users/@me", owner, map[string]any{"avatar": uri}), 200)
	if r := s.Do(t, "GET", fmt.Sprintf("/avatars/%s/%s.png", me["id"], me["avatar"]), "", nil); r.Status != 200 {
		t.Fatalf("avatar from the bucket: %d", r.Status)
	}

	// Nothing but staging folders (empty) in the data dir.
	for _, dir := range []string{"files", "scaled"} {
		_ = filepath.WalkDir(filepath.Join(dataDir, dir), func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				t.Errorf("a file in the data dir: %s", p)
			}
			return nil
		})
	}

	ok(t, s.Do(t, "DELETE", "/api/v10/channels/"+g.general+"/messages/"+drop["id"].(string), owner, nil), 204)
	n, _, err := s.Homeserver().SweepFiles(ctx, 0)
	if err != nil || n != 1 {
		t.Fatalf("sweep removed %d (%v), want the deleted message's file", n, err)
	}
	if got := keys(files); len(got) != 2 { // the photo and the avatar
		t.Fatalf("bucket after the sweep: %v", got)
	}
	if r := s.Do(t, "GET", photoLink, "", nil); r.Status != 200 || !bytes.Equal(r.Body, jpg) {
		t.Fatalf("the kept photo after the sweep: %d", r.Status)
	}

	// The store goes away: uploads and reads answer 503 with a Discord
	// error (the client may retry), not 500 or 404.
	srv.Stop()
	if r := multipartSend(t, s, owner, g.general, `{"content":"late"}`, map[string][]byte{"late.txt": []byte("late bytes")}); r.Status != 503 || !strings.Contains(string(r.Body), `"code"`) {
		t.Fatalf("upload with the bucket down: %d %s", r.Status, r.Body)
	}
	if r := s.Do(t, "GET", photoLink, "", nil); r.Status != 503 {
		t.Fatalf("read with the bucket down: %d %s", r.Status, r.Body)
	}
}

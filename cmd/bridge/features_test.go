package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"image"
	"image/color"
	pngenc "image/png"
	"net/http"
	"testing"

	st "hearth/server/servertest"
)

// avatarPNG is a small PNG, distinct per shade, and its data URI.
func avatarPNG(t *testing.T, shade uint8) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(2, 1, color.RGBA{G: shade, A: 255})
	if err := pngenc.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestBridgeAvatarsAndBridgedMark: avatars cross both ways with the
// protocol's remote avatars. alice's Discord avatar is her puppet's, and
// bob's homeserver shows it (copied from the bridge) with the bridged
// mark; bob's Hearth avatar reaches the bridge with his act, and his
// relayed message on Discord carries it as the webhook's avatar_url (the
// bridge's copy, fetched from bob's server). bob is not marked bridged.
func TestBridgeAvatarsAndBridgedMark(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		e := linked(t, backend, 0)
		alicePNG, aliceURI := avatarPNG(t, 100)
		bobPNG, bobURI := avatarPNG(t, 200)
		st.OK(t, e.d.Do(t, "PATCH", "/api/v10/users/@me", e.d.alice, map[string]any{"avatar": aliceURI}), http.StatusOK)
		st.OK(t, e.h.Do(t, "PATCH", "/api/v10/users/@me", e.bob, map[string]any{"avatar": bobURI}), http.StatusOK)

		// Discord to Hearth.
		st.OK(t, e.d.Do(t, "POST", "/api/v10/channels/"+e.d.general+"/messages", e.d.alice,
			map[string]any{"content": "my face"}), http.StatusOK)
		var author map[string]any
		st.WaitFor(t, "alice's message on Hearth with her avatar", wait, func() string {
			for _, m := range history(t, e.h, e.bob, e.mirror) {
				if m["content"] == "my face" {
					author = m["author"].(map[string]any)
					if author["avatar"] == sha(alicePNG) {
						return ""
					}
					return "author " + author["username"].(string) + " without her avatar"
				}
			}
			return "not yet"
		})
		if author["hearth_bridged"] != true {
			t.Fatalf("alice's puppet on bob's server is not marked bridged: %v", author)
		}
		if got := fetch(t, e.h.URL()+"/avatars/"+author["id"].(string)+"/"+sha(alicePNG)+".png"); !bytes.Equal(got, alicePNG) {
			t.Fatalf("bob's server serves %d bytes as alice's avatar, want her %d", len(got), len(alicePNG))
		}

		// Hearth to Discord.
		st.OK(t, e.h.Do(t, "POST", "/api/v10/channels/"+e.mirror+"/messages", e.bob,
			map[string]any{"content": "my face too"}), http.StatusOK)
		m := find(t, waitContents(t, "bob's message on Discord", e.d.Server, e.d.alice, e.d.general, has("my face too")), "my face too")
		bobOnDiscord := m["author"].(map[string]any)
		if bobOnDiscord["avatar"] != sha(bobPNG) {
			t.Fatalf("bob's message on Discord has avatar %v, want his %s", bobOnDiscord["avatar"], sha(bobPNG))
		}
		if got := fetch(t, e.d.URL()+"/avatars/"+bobOnDiscord["id"].(string)+"/"+sha(bobPNG)+".png"); !bytes.Equal(got, bobPNG) {
			t.Fatalf("Discord serves %d bytes as bob's avatar, want his %d", len(got), len(bobPNG))
		}
		for _, m := range history(t, e.h, e.bob, e.mirror) {
			if m["content"] == "my face too" && m["author"].(map[string]any)["hearth_bridged"] != nil {
				t.Fatalf("bob is marked bridged: %v", m["author"])
			}
		}
	})
}

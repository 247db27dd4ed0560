package homeserver

import (
	"context"
	"errors"
	"fmt"

	"hearth/homeserver/remotefiles"
	"hearth/homeserver/wire"
	"hearth/snowflake"
	"hearth/storage"
)

// Files and custom emoji of other homeservers' guilds: a replica holds
// their metadata, and fetches the bytes from the origin the first time one
// of its users asks, keeping them in its own store after.

// maxEmojiImage bounds a fetched emoji image (Discord's limit is 256 KiB).
const maxEmojiImage = 1 << 20

// fetchBlob copies a file of origin into the blob store.
func (h *Homeserver) fetchBlob(ctx context.Context, origin, path string, limit int64, want string) (string, error) {
	if h.remote == nil {
		return "", fmt.Errorf("fetch from %s: federation is off: %w", origin, ErrUnavailable)
	}
	hash, err := remotefiles.Copy(ctx, h.remote, h.cfg.Blobs, origin, path, limit, want)
	if errors.Is(err, remotefiles.ErrKeep) || errors.Is(err, remotefiles.ErrMismatch) {
		return "", fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return hash, err
}

// remoteAttachment fetches the bytes of a replicated attachment.
func (h *Homeserver) remoteAttachment(ctx context.Context, a storage.Attachment) (storage.Attachment, error) {
	rl, ok := h.replicaOfChannel(ctx, a.ChannelID)
	if !ok || a.OriginPath == "" {
		return a, fmt.Errorf("attachment %d: %w", a.ID, ErrNotFound)
	}
	hash, err := h.fetchBlob(ctx, rl.Origin, a.OriginPath, h.cfg.MaxUploadSize, "")
	if err != nil {
		return a, err
	}
	err = h.store.Update(ctx, func(tx storage.Tx) error { return tx.SetAttachmentHash(ctx, replicaScope(rl), a.ID, hash) })
	if err != nil {
		return a, storeErr("attachment", err)
	}
	a.Hash = hash
	return a, nil
}

// remoteEmoji fetches the image of a replicated custom emoji.
func (h *Homeserver) remoteEmoji(ctx context.Context, e storage.Emoji) (storage.Emoji, error) {
	rl, ok := h.replicaGuild(ctx, e.GuildID)
	if !ok {
		return e, fmt.Errorf("emoji %d: %w", e.ID, ErrNotFound)
	}
	origins, err := h.store.FederatedOrigins(ctx, []snowflake.ID{e.ID})
	if err != nil {
		return e, storeErr("emoji", err)
	}
	g, ok := origins[e.ID]
	if !ok || g.Origin != rl.Origin {
		return e, fmt.Errorf("emoji %d: %w", e.ID, ErrNotFound)
	}
	ext := ".png"
	if e.Animated {
		ext = ".gif"
	}
	hash, err := h.fetchBlob(ctx, rl.Origin, "/emojis/"+g.OriginID+ext, maxEmojiImage, "")
	if err != nil {
		return e, err
	}
	if err := h.store.Update(ctx, func(tx storage.Tx) error { return tx.SetEmojiHash(ctx, replicaScope(rl), e.ID, hash) }); err != nil {
		return e, storeErr("emoji", err)
	}
	e.Hash = hash
	return e, nil
}

// borrowUploads fetches from peer the files its user is sending in one of
// this server's channels, after checking that the user may post files
// there at all.
func (h *Homeserver) borrowUploads(ctx context.Context, peer string, p Principal, channelID snowflake.ID, files []wire.ActFile) ([]Upload, error) {
	if len(files) == 0 {
		return nil, nil
	}
	if len(files) > MaxFiles {
		return nil, Invalid("files", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", MaxFiles))
	}
	if err := h.CanUpload(ctx, p, channelID); err != nil {
		return nil, err
	}
	var out []Upload
	for _, f := range files {
		if f.Size > h.cfg.MaxUploadSize {
			h.DiscardUploads(out)
			return nil, fmt.Errorf("upload %q: %w", f.Filename, ErrTooLarge)
		}
		body, err := h.remote.FetchUpload(ctx, peer, f.Hash, h.cfg.MaxUploadSize)
		if err != nil {
			h.DiscardUploads(out)
			return nil, err
		}
		up, err := h.StoreUpload(body, f.Filename)
		body.Close()
		if err == nil && up.Hash != f.Hash {
			h.DiscardUploads([]Upload{up})
			err = fmt.Errorf("upload %q: %s sent other bytes than it named: %w", f.Filename, peer, ErrForbidden)
		}
		if err != nil {
			h.DiscardUploads(out)
			return nil, err
		}
		up.Description = clip(f.Description, 1024)
		out = append(out, up)
	}
	return out, nil
}

// PeerUpload opens an upload for the peer it was lent to.
func (h *Homeserver) PeerUpload(ctx context.Context, peer, hash string) (File, error) {
	if !h.lending.Lent(peer, hash) {
		return File{}, fmt.Errorf("upload %s: not lent to %s: %w", hash, peer, ErrNotFound)
	}
	f, err := h.cfg.Blobs.Open(ctx, hash)
	if err != nil {
		return File{}, fmt.Errorf("upload %s: %w", hash, ErrNotFound)
	}
	return File{ReadSeekCloser: f, ContentType: "application/octet-stream", Size: f.Size()}, nil
}

// remoteAvatar fetches the current avatar of another server's user from
// that server, as a replica's attachments are (spec/federation.md §7.7),
// and keeps it: the hash is the SHA-256 of the image, so bytes that do not
// match it are refused, and the user's row, which only their own server
// sets, keeps the copy from being swept.
func (h *Homeserver) remoteAvatar(ctx context.Context, u storage.User) (File, error) {
	want := trimAnimated(u.Avatar)
	got, err := h.fetchBlob(ctx, u.Origin, "/avatars/"+u.OriginID+"/"+u.Avatar+".png", AvatarMax, want)
	if err != nil {
		return File{}, fmt.Errorf("avatar of %d: %w", u.ID, err)
	}
	if got != want {
		return File{}, fmt.Errorf("avatar of %d: %s sent other bytes than its hash: %w", u.ID, u.Origin, ErrUnavailable)
	}
	return h.openImage(ctx, want)
}

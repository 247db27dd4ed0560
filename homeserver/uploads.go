package homeserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"hearth/homeserver/media"
	"hearth/storage/blobs"
)

// Upload is a file stored for a message that is yet to be sent.
type Upload struct {
	Filename    string
	Description string
	ContentType string
	Size        int64
	Hash        string
	Width       int
	Height      int
	// staged is the file on disk, kept only if the message is sent.
	staged blobs.Staged
}

// DiscardUploads removes uploads whose message will not be sent.
func (h *Homeserver) DiscardUploads(ups []Upload) {
	for _, u := range ups {
		h.cfg.Blobs.Discard(u.staged)
	}
}

// MaxFiles is how many files one message may carry.
const MaxFiles = 10

// StoreUpload streams a file to the data dir and reads its type from its
// bytes. The file is staged: SendMessage moves it into the store when the
// message is accepted, and discards it otherwise (as does DiscardUploads). The name is sanitised; the declared type is not
// asked for, because it is never trusted. A file over the upload limit is
// ErrTooLarge and leaves nothing behind.
func (h *Homeserver) StoreUpload(r io.Reader, filename string) (Upload, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(64 << 10)
	head = append([]byte(nil), head...)
	st, err := h.cfg.Blobs.Stage(br, h.cfg.MaxUploadSize)
	if errors.Is(err, blobs.ErrTooLarge) {
		return Upload{}, fmt.Errorf("upload %q: %w", SanitiseFilename(filename), ErrTooLarge)
	}
	if err != nil {
		return Upload{}, fmt.Errorf("upload: %w", err)
	}
	u := Upload{Filename: SanitiseFilename(filename), Size: st.Size, Hash: st.Hash, ContentType: media.Detect(head), staged: st}
	if img, err := media.Sniff(head); err == nil {
		u.ContentType, u.Width, u.Height = img.ContentType, img.Width, img.Height
	}
	return u, nil
}

// SanitiseFilename keeps a file's base name only, safe in paths and
// headers (media.SanitiseFilename, which replicas use too).
func SanitiseFilename(name string) string { return media.SanitiseFilename(name) }

// FileGrace is how long a stored file is kept before a sweep may remove it
// for want of a reference: longer than any upload takes between its
// promotion and the commit of the message (or avatar, icon, emoji) that
// refers to it, and than a member server's upload waits for its origin.
const FileGrace = time.Hour

// SweepFiles removes the stored files nothing refers to any more (the
// files of deleted messages, replaced avatars and icons, deleted emoji)
// once they are older than grace, and uploads a crash left behind. Edit
// history keeps a deleted message's file names and sizes, not its bytes,
// as Discord does not serve a deleted message's files either.
func (h *Homeserver) SweepFiles(ctx context.Context, grace time.Duration) (int, int64, error) {
	refs, err := h.store.FileHashes(ctx)
	if err != nil {
		return 0, 0, storeErr("sweep files", err)
	}
	n, size, err := h.cfg.Blobs.Sweep(ctx, func(hash string) bool { return refs[hash] || refs["a_"+hash] }, grace)
	if err != nil {
		return n, size, fmt.Errorf("sweep files: %w", err)
	}
	return n, size, nil
}

// AttachmentDescriptionMax is the longest description (alt text) a file
// keeps, in characters, as on Discord; longer ones are cut there.
const AttachmentDescriptionMax = 1024

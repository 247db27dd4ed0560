// Package federation is a homeserver's face to other homeservers: its
// signing keys and their publication, server discovery, and (as the
// federation issue lands) request signing and verification, the sender and
// the inbound handlers. See spec/federation.md.
package federation

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"
)

// Key is a homeserver's ed25519 signing key.
type Key struct {
	// ID names the key in signatures: "ed25519:" and 8 hex digits of the
	// public key's SHA-256, so that a rotated key gets a new name.
	ID      string
	Private ed25519.PrivateKey
	Public  ed25519.PublicKey
	// Created is when the key was generated (the file's time).
	Created time.Time
}

// LoadOrCreateKey reads the signing key at path, generating and saving a new
// one (mode 0600) when the file does not exist yet.
func LoadOrCreateKey(path string) (Key, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return createKey(path)
	}
	if err != nil {
		return Key{}, fmt.Errorf("federation: read signing key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return Key{}, fmt.Errorf("federation: %s is not a PEM private key", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return Key{}, fmt.Errorf("federation: parse signing key %s: %w", path, err)
	}
	priv, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return Key{}, fmt.Errorf("federation: %s is not an ed25519 key", path)
	}
	st, err := os.Stat(path)
	if err != nil {
		return Key{}, fmt.Errorf("federation: stat signing key: %w", err)
	}
	return newKey(priv, st.ModTime()), nil
}

func createKey(path string) (Key, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Key{}, fmt.Errorf("federation: generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return Key{}, fmt.Errorf("federation: encode signing key: %w", err)
	}
	// O_EXCL: if two processes race on first start, one loses and
	// re-reads the winner's key instead of overwriting it.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadOrCreateKey(path)
	}
	if err != nil {
		return Key{}, fmt.Errorf("federation: save signing key: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return Key{}, fmt.Errorf("federation: save signing key: %w", err)
	}
	if err := f.Close(); err != nil {
		return Key{}, fmt.Errorf("federation: save signing key: %w", err)
	}
	return newKey(priv, time.Now()), nil
}

func newKey(priv ed25519.PrivateKey, created time.Time) Key {
	pub := priv.Public().(ed25519.PublicKey)
	sum := sha256.Sum256(pub)
	return Key{
		ID:      fmt.Sprintf("ed25519:%x", sum[:4]),
		Private: priv,
		Public:  pub,
		Created: created.UTC(),
	}
}

// PublicBase64 is the public key in unpadded standard base64, as published.
func (k Key) PublicBase64() string { return base64.RawStdEncoding.EncodeToString(k.Public) }

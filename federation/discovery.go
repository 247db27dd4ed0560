package federation

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Discovery serves /.well-known/hearth and the key list: what another
// homeserver, a client or the bridge reads first to learn where this
// server's APIs are and which keys sign its requests.
type Discovery struct {
	ServerName string
	// PublicURL is the base URL clients and peers reach this server at.
	PublicURL string
	Version   string
	Key       Key
	// KeyValidity is how long a fetched key may be cached before asking
	// again.
	KeyValidity time.Duration
}

// WellKnown is the body of /.well-known/hearth.
type WellKnown struct {
	ServerName string `json:"server_name"`
	Software   string `json:"software"`
	Version    string `json:"version"`
	ClientAPI  string `json:"client_api"`
	Gateway    string `json:"gateway"`
	Federation string `json:"federation"`
	Keys       string `json:"keys"`
}

// PublishedKey is one entry of the key list.
type PublishedKey struct {
	KeyID      string `json:"key_id"`
	Algorithm  string `json:"algorithm"`
	PublicKey  string `json:"public_key"`
	ValidFrom  int64  `json:"valid_from"`
	ValidUntil int64  `json:"valid_until"`
}

// KeyList is the body of /_hearth/federation/v1/keys.
type KeyList struct {
	ServerName string         `json:"server_name"`
	Keys       []PublishedKey `json:"keys"`
}

// Paths served by Discovery.
const (
	WellKnownPath = "/.well-known/hearth"
	KeysPath      = "/_hearth/federation/v1/keys"
)

// ServeWellKnown answers /.well-known/hearth.
func (d *Discovery) ServeWellKnown(w http.ResponseWriter, r *http.Request) {
	base := strings.TrimSuffix(d.PublicURL, "/")
	ws := "ws" + strings.TrimPrefix(base, "http")
	writeJSON(w, WellKnown{
		ServerName: d.ServerName,
		Software:   "hearth",
		Version:    d.Version,
		ClientAPI:  base + "/api/v10",
		Gateway:    ws + "/gateway",
		Federation: base + "/_hearth/federation/v1",
		Keys:       base + KeysPath,
	})
}

// ServeKeys answers the key list.
func (d *Discovery) ServeKeys(w http.ResponseWriter, r *http.Request) {
	validity := d.KeyValidity
	if validity == 0 {
		validity = 24 * time.Hour
	}
	writeJSON(w, KeyList{
		ServerName: d.ServerName,
		Keys: []PublishedKey{{
			KeyID: d.Key.ID, Algorithm: "ed25519", PublicKey: d.Key.PublicBase64(),
			ValidFrom:  d.Key.Created.UnixMilli(),
			ValidUntil: time.Now().Add(validity).UnixMilli(),
		}},
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_ = jsonEncode(w, v)
}

func jsonEncode(w http.ResponseWriter, v any) error { return json.NewEncoder(w).Encode(v) }

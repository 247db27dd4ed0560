package homeserver

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"

	"hearth/discord"
	"hearth/snowflake"
	"hearth/storage"
)

// An application may take its interactions over HTTP instead of its
// gateway, as on Discord: each is POSTed to its interactions endpoint URL,
// signed with ed25519 over the timestamp and the body, and the answer to
// the POST is the initial response. Setting the URL runs Discord's
// handshake: a PING must be answered with a PONG, and a request with a
// bad signature refused with 401.

// InteractionPoster sends requests to application endpoints, through the
// same guard as federation (no private addresses unless allowed).
type InteractionPoster interface {
	// Post sends body with the headers and returns the status and at most
	// limit bytes of the answer.
	Post(ctx context.Context, url string, headers map[string]string, body []byte, limit int64) (int, []byte, error)
}

// SetInteractionPoster sets how interactions reach HTTP endpoints; without
// one, setting an endpoint URL is refused.
func (h *Homeserver) SetInteractionPoster(p InteractionPoster) { h.poster = p }

// maxEndpointAnswer bounds an endpoint's answer.
const maxEndpointAnswer = 1 << 20

// appKey is an application's interaction signing key. It is derived from
// the server's token key and the application's ID, so there is nothing to
// store and it is stable across restarts.
func (h *Homeserver) appKey(appID snowflake.ID) ed25519.PrivateKey {
	mac := hmac.New(sha256.New, h.cfg.TokenKey)
	mac.Write([]byte("hearth interactions signing key " + appID.String()))
	return ed25519.NewKeyFromSeed(mac.Sum(nil))
}

// verifyKey is the public half of appKey, hex-encoded as Discord shows it.
func (h *Homeserver) verifyKey(appID snowflake.ID) string {
	return hex.EncodeToString(h.appKey(appID).Public().(ed25519.PublicKey))
}

// postSigned sends body to an application's endpoint, signed (or, with
// forge, signed by a key that is not the application's).
func (h *Homeserver) postSigned(ctx context.Context, appID snowflake.ID, endpoint string, body []byte, forge bool) (int, []byte, error) {
	ts := strconv.FormatInt(h.now().Unix(), 10)
	key := h.appKey(appID)
	if forge {
		key = h.appKey(appID + 1)
	}
	sig := ed25519.Sign(key, append([]byte(ts), body...))
	headers := map[string]string{
		"Content-Type": "application/json", "User-Agent": "Discord-Interactions/1.0 (+https://discord.com)",
		"X-Signature-Ed25519": hex.EncodeToString(sig), "X-Signature-Timestamp": ts,
	}
	return h.poster.Post(ctx, endpoint, headers, body, maxEndpointAnswer)
}

// verifyEndpoint runs Discord's handshake against an endpoint URL.
func (h *Homeserver) verifyEndpoint(ctx context.Context, appID snowflake.ID, endpoint string) error {
	bad := Invalid("interactions_endpoint_url", "APPLICATION_INTERACTIONS_ENDPOINT_URL_INVALID",
		"The specified interactions endpoint url could not be verified.")
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(endpoint) > 2048 || h.poster == nil {
		return bad
	}
	ctx, cancel := context.WithTimeout(ctx, 2*InteractionAnswerWindow)
	defer cancel()
	ping, _ := json.Marshal(map[string]any{"id": h.cfg.IDs.Next(), "application_id": appID, "type": discord.InteractionPing,
		"token": "ping", "version": 1}) // plain data: cannot fail
	if status, _, err := h.postSigned(ctx, appID, endpoint, ping, true); err != nil || status != 401 {
		h.log.Info("interactions endpoint accepted a bad signature", "application_id", appID, "status", status, "err", err)
		return bad
	}
	status, answer, err := h.postSigned(ctx, appID, endpoint, ping, false)
	var pong struct {
		Type int `json:"type"`
	}
	if err != nil || status != 200 || json.Unmarshal(answer, &pong) != nil || pong.Type != discord.CallbackPong {
		h.log.Info("interactions endpoint did not answer the PING", "application_id", appID, "status", status, "err", err)
		return bad
	}
	return nil
}

// deliverHTTP posts an interaction to its application's endpoint and
// takes the answer as the initial response. It runs on its own goroutine
// (tracked by h.tasks) and ends within the answer window.
func (h *Homeserver) deliverHTTP(app storage.Application, id snowflake.ID, token string, payload map[string]any) {
	ctx, cancel := context.WithTimeout(context.Background(), InteractionAnswerWindow)
	defer cancel()
	body, err := json.Marshal(payload)
	if err != nil {
		return
	}
	status, answer, err := h.postSigned(ctx, app.ID, app.InteractionsURL, body, false)
	if err != nil || status != 200 {
		h.log.Info("interactions endpoint failed", "application_id", app.ID, "interaction_id", id, "status", status, "err", err)
		return
	}
	resp, err := decodeInteractionResponse(answer)
	if err == nil {
		_, err = h.RespondInteraction(ctx, id, token, resp)
	}
	if err != nil {
		h.log.Info("interactions endpoint answered badly", "application_id", app.ID, "interaction_id", id, "err", err)
	}
}

// decodeInteractionResponse reads an endpoint's answer: Discord's
// interaction response, as the callback route takes it.
func decodeInteractionResponse(b []byte) (InteractionResponse, error) {
	var in struct {
		Type int             `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return InteractionResponse{}, fmt.Errorf("interaction response: %w", err)
	}
	r := InteractionResponse{Type: in.Type}
	if len(in.Data) == 0 || bytes.Equal(bytes.TrimSpace(in.Data), []byte("null")) {
		return r, nil
	}
	var err error
	switch in.Type {
	case discord.CallbackAutocompleteResult:
		var d struct {
			Choices []discord.CommandChoice `json:"choices"`
		}
		err = json.Unmarshal(in.Data, &d)
		r.Choices = d.Choices
	case discord.CallbackModal:
		err = json.Unmarshal(in.Data, &r.Modal)
	default:
		var d struct {
			Content    *string              `json:"content"`
			Embeds     *[]json.RawMessage   `json:"embeds"`
			Components *[]discord.Component `json:"components"`
			Flags      *int                 `json:"flags"`
			TTS        bool                 `json:"tts"`
		}
		err = json.Unmarshal(in.Data, &d)
		if d.Content != nil {
			r.Message.Content = Optional[string]{Set: true, Value: *d.Content}
		}
		if d.Embeds != nil {
			r.Message.Embeds = Optional[[]json.RawMessage]{Set: true, Value: *d.Embeds}
		}
		if d.Components != nil {
			r.Message.Components = Optional[[]discord.Component]{Set: true, Value: *d.Components}
		}
		if d.Flags != nil {
			r.Message.Flags = Optional[int]{Set: true, Value: *d.Flags}
		}
		r.Message.TTS = d.TTS
	}
	if err != nil {
		return r, fmt.Errorf("interaction response data: %w", err)
	}
	return r, nil
}

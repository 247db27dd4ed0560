package federation

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"hearth/homeserver"
)

// WebPoster sends interactions to applications' HTTP endpoints through
// the same guarded client as federation: no private or loopback addresses
// unless insecure, no redirects, bounded answers.
type WebPoster struct {
	http *http.Client
}

// NewWebPoster makes a WebPoster; insecure allows private addresses
// (development and tests).
func NewWebPoster(insecure bool) *WebPoster { return &WebPoster{http: NewClient(insecure)} }

var _ homeserver.InteractionPoster = (*WebPoster)(nil)

// Post implements homeserver.InteractionPoster.
func (p *WebPoster) Post(ctx context.Context, url string, headers map[string]string, body []byte, limit int64) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("post %s: %w", url, err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := p.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("post %s: %w", url, err)
	}
	defer res.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(res.Body, limit))
	if err != nil {
		return res.StatusCode, nil, fmt.Errorf("post %s: answer: %w", url, err)
	}
	return res.StatusCode, answer, nil
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// serveBaseline runs a bare stand-in for a homeserver: just enough REST and
// gateway for the gateway scenario (register, one guild and channel, sends
// that are broadcast at once as MESSAGE_CREATE to every connection) with
// no storage, permissions or event log. Measured with the same client on
// the same machine, it is the ceiling the real server is compared with.
func serveBaseline(ctx context.Context, addr string, out io.Writer) error {
	var (
		mu    sync.Mutex
		conns = map[*websocket.Conn]chan []byte{}
		seq   int64
	)
	broadcast := func(content string) {
		mu.Lock()
		defer mu.Unlock()
		seq++
		d, _ := json.Marshal(map[string]any{"id": strconv.FormatInt(seq, 10), "channel_id": "2", "guild_id": "1",
			"content": content, "author": map[string]any{"id": "3", "username": "sender"}})
		f := []byte(`{"op":0,"s":` + strconv.FormatInt(seq, 10) + `,"t":"MESSAGE_CREATE","d":` + string(d) + `}`)
		for _, ch := range conns {
			select {
			case ch <- f:
			default: // a slow client misses it, as the real server drops it
			}
		}
	}
	reply := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v10/auth/register", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 201, map[string]string{"token": "baseline"})
	})
	mux.HandleFunc("POST /api/v10/guilds", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 201, map[string]string{"id": "1"})
	})
	mux.HandleFunc("GET /api/v10/guilds/1/channels", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, []map[string]any{{"id": "2", "type": 0}})
	})
	mux.HandleFunc("POST /api/v10/channels/2/invites", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, map[string]string{"code": "baseline"})
	})
	mux.HandleFunc("POST /api/v10/invites/baseline", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, map[string]string{"code": "baseline"})
	})
	mux.HandleFunc("POST /api/v10/channels/2/messages", func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			Content string `json:"content"`
		}
		if json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&m) != nil {
			reply(w, 400, map[string]string{"message": "bad body"})
			return
		}
		broadcast(m.Content)
		reply(w, 200, map[string]string{"content": m.Content})
	})
	mux.HandleFunc("/gateway", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true, CompressionMode: websocket.CompressionDisabled})
		if err != nil {
			return
		}
		defer c.CloseNow()
		ch := make(chan []byte, 512)
		cctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		if c.Write(cctx, websocket.MessageText, []byte(`{"op":10,"d":{"heartbeat_interval":41250}}`)) != nil {
			return
		}
		go func() { // owned by this handler: ends with cctx
			for {
				select {
				case <-cctx.Done():
					return
				case f := <-ch:
					if c.Write(cctx, websocket.MessageText, f) != nil {
						cancel()
						return
					}
				}
			}
		}()
		for {
			_, msg, err := c.Read(cctx)
			if err != nil {
				mu.Lock()
				delete(conns, c)
				mu.Unlock()
				return
			}
			var f struct {
				Op int `json:"op"`
			}
			_ = json.Unmarshal(msg, &f)
			switch f.Op {
			case 1:
				ch <- []byte(`{"op":11}`)
			case 2:
				ch <- []byte(`{"op":0,"s":1,"t":"READY","d":{"v":10,"session_id":"baseline"}}`)
				ch <- []byte(`{"op":0,"s":2,"t":"GUILD_CREATE","d":{"id":"1"}}`)
				mu.Lock()
				conns[c] = ch
				mu.Unlock()
			}
		}
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(out, "baseline server on http://%s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}

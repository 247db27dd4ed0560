package clientapi

import (
	"bufio"
	"errors"
	"net"
	"net/http"
)

// ginJSON is the Content-Type gin writes for JSON. Discord sends plain
// "application/json", and some bot libraries (discord.py among them)
// compare the header exactly: given the charset they read every answer as
// text and never connect.
const ginJSON = "application/json; charset=utf-8"

// jsonType rewrites gin's JSON Content-Type to Discord's just before the
// header goes out, so that every answer (routes, errors, 404, 405, 429,
// recovered panics) carries it without each handler remembering.
type jsonType struct {
	http.ResponseWriter
	done bool
}

func (w *jsonType) fix() {
	if w.done {
		return
	}
	w.done = true
	h := w.ResponseWriter.Header()
	if h.Get("Content-Type") == ginJSON {
		h.Set("Content-Type", "application/json")
	}
}

// WriteHeader implements http.ResponseWriter.
func (w *jsonType) WriteHeader(status int) {
	w.fix()
	w.ResponseWriter.WriteHeader(status)
}

// Write implements http.ResponseWriter.
func (w *jsonType) Write(b []byte) (int, error) {
	w.fix()
	return w.ResponseWriter.Write(b)
}

// Flush implements http.Flusher when the wrapped writer does.
func (w *jsonType) Flush() {
	w.fix()
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack implements http.Hijacker when the wrapped writer does.
func (w *jsonType) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := w.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("clientapi: response writer cannot be hijacked")
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *jsonType) Unwrap() http.ResponseWriter { return w.ResponseWriter }

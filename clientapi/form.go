package clientapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"hearth/homeserver"
	"hearth/snowflake"
)

// form is a JSON object body read field by field, so that a wrong type is
// reported against its field as Discord does, and a PATCH can tell a field
// left out from one set to null.
type form struct {
	fields map[string]json.RawMessage
	v      homeserver.ValidationError
}

// readForm reads the request body as a JSON object. An empty body is an
// empty object.
func readForm(c *gin.Context) (*form, error) {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, errBodyTooLarge
		}
		return nil, fmt.Errorf("%w: %w", errMalformedJSON, err)
	}
	f := &form{fields: map[string]json.RawMessage{}}
	if len(bytes.TrimSpace(body)) == 0 {
		return f, nil
	}
	if err := json.Unmarshal(body, &f.fields); err != nil || f.fields == nil {
		return nil, errMalformedJSON
	}
	return f, nil
}

// Err returns the type errors found so far, or nil.
func (f *form) Err() error { return f.v.Err() }

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// String reads a string field.
func (f *form) String(name string, required bool) homeserver.Optional[string] {
	raw, ok := f.fields[name]
	if !ok || (required && isNull(raw)) {
		if required {
			f.v.Add(name, "BASE_TYPE_REQUIRED", "This field is required")
		}
		return homeserver.Optional[string]{}
	}
	if isNull(raw) {
		return homeserver.Optional[string]{Set: true, Null: true}
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		f.v.Add(name, "BASE_TYPE_STRING", "Must be a string.")
		return homeserver.Optional[string]{}
	}
	return homeserver.Optional[string]{Set: true, Value: s}
}

// Int reads an integer field; a numeric string is accepted as Discord does.
func (f *form) Int(name string) homeserver.Optional[int] {
	raw, ok := f.fields[name]
	if !ok {
		return homeserver.Optional[int]{}
	}
	if isNull(raw) {
		return homeserver.Optional[int]{Set: true, Null: true}
	}
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err == nil {
		switch x := v.(type) {
		case json.Number:
			n = x
		case string:
			n = json.Number(x)
		}
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil || i > math.MaxInt32 || i < math.MinInt32 {
		f.v.Add(name, "NUMBER_TYPE_COERCE", fmt.Sprintf("Value %q is not int.", clipValue(string(raw))))
		return homeserver.Optional[int]{}
	}
	return homeserver.Optional[int]{Set: true, Value: int(i)}
}

func clipValue(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// pathID reads a snowflake from the URL path.
func pathID(c *gin.Context, name string) (snowflake.ID, error) {
	raw := c.Param(name)
	id, err := snowflake.Parse(raw)
	if err != nil {
		return 0, homeserver.Invalid(name, "NUMBER_TYPE_COERCE", fmt.Sprintf("Value %q is not snowflake.", clipValue(raw)))
	}
	return id, nil
}

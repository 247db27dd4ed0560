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
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"hearth/homeserver"
	"hearth/homeserver/permission"
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
	body, err := readBody(c)
	if err != nil {
		return nil, err
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

// Bool reads a boolean field.
func (f *form) Bool(name string) homeserver.Optional[bool] {
	raw, ok := f.fields[name]
	if !ok {
		return homeserver.Optional[bool]{}
	}
	if isNull(raw) {
		return homeserver.Optional[bool]{Set: true, Null: true}
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		f.v.Add(name, "BASE_TYPE_BOOLEAN", "Must be either true or false.")
		return homeserver.Optional[bool]{}
	}
	return homeserver.Optional[bool]{Set: true, Value: b}
}

// ID reads a snowflake field (string or number); null is Set with 0.
func (f *form) ID(name string) homeserver.Optional[snowflake.ID] {
	raw, ok := f.fields[name]
	if !ok {
		return homeserver.Optional[snowflake.ID]{}
	}
	if isNull(raw) {
		return homeserver.Optional[snowflake.ID]{Set: true, Null: true}
	}
	var id snowflake.ID
	if err := json.Unmarshal(raw, &id); err != nil {
		f.v.Add(name, "NUMBER_TYPE_COERCE", fmt.Sprintf("Value %s is not snowflake.", clipValue(string(raw))))
		return homeserver.Optional[snowflake.ID]{}
	}
	return homeserver.Optional[snowflake.ID]{Set: true, Value: id}
}

// Strings reads an array of strings.
func (f *form) Strings(name string, required bool) []string {
	raw, ok := f.fields[name]
	if !ok || isNull(raw) {
		if required {
			f.v.Add(name, "BASE_TYPE_REQUIRED", "This field is required")
		}
		return nil
	}
	var out []string
	if err := json.Unmarshal(raw, &out); err != nil {
		f.v.Add(name, "BASE_TYPE_ARRAY", "Must be an array of strings.")
		return nil
	}
	return out
}

// IDs reads an array of snowflakes.
func (f *form) IDs(name string) homeserver.Optional[[]snowflake.ID] {
	raw, ok := f.fields[name]
	if !ok || isNull(raw) {
		return homeserver.Optional[[]snowflake.ID]{Set: ok, Null: ok}
	}
	var ids []snowflake.ID
	if err := json.Unmarshal(raw, &ids); err != nil {
		f.v.Add(name, "BASE_TYPE_ARRAY", "Must be an array of snowflakes.")
		return homeserver.Optional[[]snowflake.ID]{}
	}
	if ids == nil {
		ids = []snowflake.ID{}
	}
	return homeserver.Optional[[]snowflake.ID]{Set: true, Value: ids}
}

// Perms reads a permission bitfield (a decimal string, or a number).
func (f *form) Perms(name string) homeserver.Optional[permission.Set] {
	raw, ok := f.fields[name]
	if !ok {
		return homeserver.Optional[permission.Set]{}
	}
	if isNull(raw) {
		return homeserver.Optional[permission.Set]{Set: true, Null: true}
	}
	s := strings.Trim(string(bytes.TrimSpace(raw)), `"`)
	p, err := permission.Parse(s)
	if err != nil {
		f.v.Add(name, "NUMBER_TYPE_COERCE", fmt.Sprintf("Value %q is not a valid permission bitfield.", clipValue(s)))
		return homeserver.Optional[permission.Set]{}
	}
	return homeserver.Optional[permission.Set]{Set: true, Value: p}
}

// Time reads an ISO 8601 timestamp; null is Set with the zero time.
func (f *form) Time(name string) homeserver.Optional[time.Time] {
	raw, ok := f.fields[name]
	if !ok {
		return homeserver.Optional[time.Time]{}
	}
	if isNull(raw) {
		return homeserver.Optional[time.Time]{Set: true, Null: true}
	}
	var s string
	var t time.Time
	err := json.Unmarshal(raw, &s)
	if err == nil {
		t, err = time.Parse(time.RFC3339Nano, s)
	}
	if err != nil {
		f.v.Add(name, "DATE_TIME_TYPE_PARSE", "Could not parse the time; use ISO 8601.")
		return homeserver.Optional[time.Time]{}
	}
	return homeserver.Optional[time.Time]{Set: true, Value: t}
}

// Objects reads an array of objects, each as a form whose errors are
// reported under name.i.field.
func (f *form) Objects(name string) ([]*form, bool) {
	raw, ok := f.fields[name]
	if !ok || isNull(raw) {
		return nil, false
	}
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		f.v.Add(name, "BASE_TYPE_ARRAY", "Must be an array of objects.")
		return nil, false
	}
	out := make([]*form, len(items))
	for i, it := range items {
		if it == nil {
			it = map[string]json.RawMessage{}
		}
		out[i] = &form{fields: it}
	}
	return out, true
}

// merge moves a sub-form's errors under prefix.
func (f *form) merge(prefix string, sub *form) {
	for k, list := range sub.v.Fields {
		for _, fe := range list {
			f.v.Add(prefix+"."+k, fe.Code, fe.Message)
		}
	}
}

// readArray reads a request body that is a JSON array of objects (the bulk
// routes), as forms.
func readArray(c *gin.Context) ([]*form, error) {
	limitedBody(c)
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, errBodyTooLarge
		}
		return nil, fmt.Errorf("%w: %w", errMalformedJSON, err)
	}
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, errMalformedJSON
	}
	out := make([]*form, len(items))
	for i, it := range items {
		if it == nil {
			it = map[string]json.RawMessage{}
		}
		out[i] = &form{fields: it}
	}
	return out, nil
}

// queryInt reads an integer query parameter; def when absent.
func queryInt(c *gin.Context, name string, def int) (int, error) {
	raw, ok := c.GetQuery(name)
	if !ok || raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		return 0, homeserver.Invalid(name, "NUMBER_TYPE_COERCE", fmt.Sprintf("Value %q is not int.", clipValue(raw)))
	}
	return n, nil
}

// queryID reads a snowflake query parameter; 0 when absent.
func queryID(c *gin.Context, name string) (snowflake.ID, error) {
	raw, ok := c.GetQuery(name)
	if !ok || raw == "" {
		return 0, nil
	}
	id, err := snowflake.Parse(raw)
	if err != nil {
		return 0, homeserver.Invalid(name, "NUMBER_TYPE_COERCE", fmt.Sprintf("Value %q is not snowflake.", clipValue(raw)))
	}
	return id, nil
}

// queryBool reads a boolean query parameter as Discord's libraries send it.
func queryBool(c *gin.Context, name string) bool {
	v := strings.ToLower(c.Query(name))
	return v == "true" || v == "1"
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

// page reads the after and limit query parameters of a list route (limit
// def when absent), answering the error itself.
func (a *API) page(c *gin.Context, def int) (snowflake.ID, int, bool) {
	limit, err := queryInt(c, "limit", def)
	if err == nil {
		var after snowflake.ID
		if after, err = queryID(c, "after"); err == nil {
			return after, limit, true
		}
	}
	a.fail(c, err)
	return 0, 0, false
}

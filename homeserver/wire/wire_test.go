package wire_test

import (
	"encoding/json"
	"testing"
	"time"

	"hearth/homeserver/wire"
)

// A deadline is written in UTC to the millisecond and reads back as the
// same instant, whatever the zone it was made in.
func TestFormatActDeadline(t *testing.T) {
	at := time.Now().In(time.FixedZone("far", 13*3600)).Truncate(time.Millisecond)
	s := wire.FormatActDeadline(at)
	back, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || !back.Equal(at) || back.Location() != time.UTC {
		t.Fatalf("%q reads back as %v (%v), want %v in UTC", s, back, err, at)
	}
}

// The digest that tells a repeated act from another under a used ID
// changes with every part of the act, and only with the act.
func TestActDigest(t *testing.T) {
	base := wire.Act{ID: "1@b.example", Deadline: wire.FormatActDeadline(time.Now()), User: "2@b.example",
		Action: wire.ActSend, Guild: "3@a.example", Channel: "4@a.example", Data: json.RawMessage(`{"content":"hi"}`)}
	d0, err := wire.ActDigest(base)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := wire.ActDigest(base); again != d0 {
		t.Fatal("the same act digests differently")
	}
	changes := map[string]func(*wire.Act){
		"user":     func(a *wire.Act) { a.User = "5@b.example" },
		"action":   func(a *wire.Act) { a.Action = wire.ActDelete },
		"channel":  func(a *wire.Act) { a.Channel = "6@a.example" },
		"message":  func(a *wire.Act) { a.Message = "7@a.example" },
		"data":     func(a *wire.Act) { a.Data = json.RawMessage(`{"content":"ho"}`) },
		"deadline": func(a *wire.Act) { a.Deadline = wire.FormatActDeadline(time.Now().Add(time.Second)) },
	}
	for name, change := range changes {
		a := base
		change(&a)
		if d, _ := wire.ActDigest(a); d == d0 {
			t.Errorf("changing the %s keeps the digest", name)
		}
	}
}

package homeserver

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzLooksLikeEmoji: what passes for a unicode emoji is short, valid
// UTF-8 without markup, and is stored and shown back as itself.
func FuzzLooksLikeEmoji(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		if !looksLikeEmoji(s) {
			return
		}
		if !utf8.ValidString(s) || utf8.RuneCountInString(s) > 8 || strings.ContainsAny(s, ":<>@/ \t\n") {
			t.Fatalf("looksLikeEmoji(%q) admits it", s)
		}
		if e := reactionEmojiOf(s); e.ID != nil || e.Name != s {
			t.Fatalf("reactionEmojiOf(%q) = %+v", s, e)
		}
	})
}

// FuzzReactionEmojiOf: a stored reaction key reads back as a custom emoji
// only when it is name:id with a valid ID, and then writes back the same.
func FuzzReactionEmojiOf(f *testing.F) {
	f.Fuzz(func(t *testing.T, key string) {
		e := reactionEmojiOf(key)
		if e.ID == nil {
			if e.Name != key {
				t.Fatalf("reactionEmojiOf(%q) = %+v", key, e)
			}
			return
		}
		if e.Name+":"+e.ID.String() != key {
			t.Fatalf("reactionEmojiOf(%q) = %s:%s", key, e.Name, e.ID)
		}
	})
}

// FuzzValidEmojiName: a custom emoji name admitted has no character that
// would break the <:name:id> markup it is written in.
func FuzzValidEmojiName(f *testing.F) {
	f.Fuzz(func(t *testing.T, name string) {
		if validEmojiName(name) && strings.ContainsAny(name, ":<> \n") {
			t.Fatalf("validEmojiName(%q) admits it", name)
		}
	})
}

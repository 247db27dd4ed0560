package main

import "testing"

func TestCheckTarget(t *testing.T) {
	cases := []struct {
		url    string
		remote bool
		ok     bool
	}{
		{"http://127.0.0.1:8080", false, true},
		{"http://localhost:8080", false, true},
		{"http://[::1]:8080", false, true},
		{"http://10.0.0.5:8080", false, false},
		{"https://example.com", false, false},
		{"http://10.0.0.5:8080", true, true},
	}
	for _, c := range cases {
		if err := checkTarget(c.url, c.remote); (err == nil) != c.ok {
			t.Errorf("checkTarget(%s, %v) = %v", c.url, c.remote, err)
		}
	}
}

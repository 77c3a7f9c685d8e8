package sse_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/vibecode/vibecode/shared/sse"
)

func TestReader(t *testing.T) {
	in := ": keep-alive\n\nevent: delta\ndata: {\"a\":1}\nid: 7\n\ndata: line one\r\ndata: line two\r\n\r\nretry: 10\n\nevent: unfinished\ndata: lost"
	r := sse.NewReader(strings.NewReader(in), 1024)
	var got []string
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.Event+"|"+string(ev.Data))
	}
	want := []string{`delta|{"a":1}`, "|line one\nline two"}
	if strings.Join(got, ";") != strings.Join(want, ";") {
		t.Fatalf("events = %q, want %q", got, want)
	}
}

func TestReader_Refuses(t *testing.T) {
	for name, tc := range map[string]struct {
		in   string
		want error
	}{
		"endless line":  {strings.Repeat("x", 5000), sse.ErrEventTooLong},
		"huge event":    {strings.Repeat("data: "+strings.Repeat("y", 100)+"\n", 20) + "\n", sse.ErrEventTooLong},
		"not sse":       {"<html>502 Bad Gateway</html>\n\n", sse.ErrMalformed},
		"unknown field": {"bogus: 1\n\n", sse.ErrMalformed},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := sse.NewReader(strings.NewReader(tc.in), 1024).Next()
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

package stdlibeval_test

import (
	"testing"

	"github.com/vibecode/vibecode/shared/stdlibeval"
)

func TestDocQuery(t *testing.T) {
	tests := []struct{ doc, name, want string }{
		{"ReadFull reads exactly len(buf) bytes from r into buf.\nIt returns the number of bytes copied.", "ReadFull", "reads exactly len(buf) bytes from r into buf."},
		{"NewReaderSize returns a new Reader whose buffer has at least the specified size.", "NewReaderSize", "returns a whose buffer has at least the specified"},
		{"", "F", ""},
	}
	for _, tt := range tests {
		if got := stdlibeval.DocQuery(tt.doc, tt.name); got != tt.want {
			t.Errorf("DocQuery(%q, %s) = %q, want %q", tt.doc, tt.name, got, tt.want)
		}
	}
}

func TestEvaluable(t *testing.T) {
	f := stdlibeval.Func{Exported: true, Doc: "Copy copies from src to dst until EOF.", Query: "copies from src to dst until EOF."}
	if !f.Evaluable() {
		t.Errorf("%+v is not evaluable", f)
	}
	for _, g := range []stdlibeval.Func{
		{Exported: false, Doc: f.Doc, Query: f.Query},
		{Exported: true, Doc: "Copy copies it.", Query: "copies it."},
		{Exported: true, Doc: "Copy copy copy copy copy.", Query: "."},
	} {
		if g.Evaluable() {
			t.Errorf("%+v is evaluable", g)
		}
	}
}

//go:build cgo

package chunk_test

import (
	"fmt"
	"strings"
	"testing"
)

func TestChunker_Chunk_TreeSitter(t *testing.T) {
	tests := []struct {
		fixture   string
		maxTokens int
		want      []wantChunk
	}{
		{"widget.ts", 0, []wantChunk{
			{1, 7, "WidgetOptions"}, {9, 39, "Widget"}, {41, 51, "formatSize, createWidget, Registry"},
		}},
		{"widget.ts", 120, []wantChunk{
			{1, 1, ""}, {3, 7, "WidgetOptions"}, {9, 14, "Widget, Widget.count"},
			{16, 18, "Widget.constructor"}, {20, 30, "Widget.render"}, {31, 34, "Widget.render"},
			{36, 39, "Widget.name"}, {41, 41, "formatSize"}, {43, 45, "createWidget"}, {47, 51, "Registry"},
		}},
		{"button.tsx", 0, []wantChunk{{1, 12, "Props, Button, App"}}},
		{"button.tsx", 64, []wantChunk{{1, 1, ""}, {3, 3, "Props"}, {5, 8, "Button"}, {10, 12, "App"}}},
		{"util.js", 0, []wantChunk{{1, 10, "path, joinAll"}, {12, 27, "Cache"}, {29, 33, "exports.handler"}}},
		{"util.js", 64, []wantChunk{
			{1, 1, ""}, {3, 3, "path"}, {5, 10, "joinAll"}, {12, 15, "Cache, Cache.constructor"},
			{17, 19, "Cache.get"}, {21, 27, "Cache.set"}, {29, 31, "exports.handler"}, {33, 33, ""},
		}},
		{"models.py", 0, []wantChunk{{1, 5, "DEFAULT_NAME"}, {8, 21, "User"}, {24, 31, "load"}}},
		{"models.py", 64, []wantChunk{
			{1, 1, ""}, {2, 3, ""}, {5, 5, "DEFAULT_NAME"}, {8, 10, "User"}, {12, 12, "User.name"},
			{13, 13, "User.email"}, {15, 18, "User.display"}, {20, 21, "User.greet"}, {24, 31, "load"},
		}},
		{"lib.rs", 0, []wantChunk{{1, 8, "Point"}, {10, 19, "Point"}, {21, 49, "Point, Shape, origin, tests"}}},
		{"lib.rs", 64, []wantChunk{
			{1, 1, ""}, {3, 8, "Point"}, {10, 14, "Point, Point::new"}, {16, 19, "Point::norm"},
			{21, 25, "Point"}, {27, 31, "Point"}, {33, 35, "Shape"}, {37, 39, "origin"}, {41, 49, "tests"},
		}},
		{"Greeter.java", 0, []wantChunk{{1, 3, ""}, {5, 18, "Greeter"}}},
		{"Greeter.java", 64, []wantChunk{
			{1, 3, ""}, {5, 7, "Greeter, Greeter.greeting"}, {9, 11, "Greeter.Greeter"},
			{13, 18, "Greeter.greetAll"},
		}},
		{"list.c", 0, []wantChunk{{1, 20, "node, node_t, count, push"}}},
		{"list.c", 64, []wantChunk{{1, 1, ""}, {3, 7, "node"}, {9, 9, "node_t"}, {11, 11, "count"}, {13, 20, "push"}}},
		{"shape.cpp", 0, []wantChunk{{1, 1, ""}, {3, 17, "geo"}}},
		{"shape.cpp", 64, []wantChunk{{1, 1, ""}, {3, 13, "geo, geo::Circle"}, {15, 17, "geo::Circle::Area"}}},
		{"greeter.rb", 0, []wantChunk{{1, 1, ""}, {3, 25, "Greetings"}}},
		{"greeter.rb", 64, []wantChunk{
			{1, 1, ""}, {3, 8, "Greetings::Greeter, Greetings::Greeter.initialize"},
			{10, 12, "Greetings::Greeter.greet"}, {14, 16, "Greetings::Greeter.default"},
			{18, 19, "Greetings::Greeter.greet_all"}, {20, 25, "Greetings::Greeter.greet_all"},
		}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.fixture, tt.maxTokens), func(t *testing.T) {
			cs := chunkOf(t, "src/"+tt.fixture, readFixture(t, tt.fixture), tt.maxTokens)
			checkChunks(t, cs, tt.want)
		})
	}
}

func TestChunker_Chunk_TreeSitterContext(t *testing.T) {
	t.Run("doc comment and decorator stay with the class", func(t *testing.T) {
		src := readFixture(t, "widget.ts")
		cs := chunkOf(t, "widget.ts", src, 120)
		if !strings.HasPrefix(cs[2].Content, "/**\n * Widget renders") || !strings.Contains(cs[2].Content, "@Component(") {
			t.Errorf("class head chunk:\n%s", cs[2].Content)
		}
		// A piece of render: the class line and render's signature, each followed by a
		// marker for the lines left out (the decorator is not repeated).
		ls := lines(src)
		want := "export class Widget extends EventEmitter {\n  // ...\n  render(target: HTMLElement): void {\n    // ...\n" +
			strings.Join(ls[30:34], "\n")
		if cs[5].Content != want {
			t.Errorf("render piece:\n%s\nwant\n%s", cs[5].Content, want)
		}
	})

	t.Run("python method split at statements", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("class Job:\n    \"\"\"A job.\"\"\"\n\n    @retry(times=3)\n    def run(self, items):\n        \"\"\"Runs the job.\"\"\"\n")
		for i := range 60 {
			fmt.Fprintf(&b, "        total_%d = sum(item.value * %d for item in items)\n", i, i)
		}
		b.WriteString("        return total_0\n")
		src := []byte(b.String())
		ls := lines(src)
		cs := chunkOf(t, "job.py", src, 128)
		if len(cs) < 3 {
			t.Fatalf("%d chunks, want run split", len(cs))
		}
		// The class line and docstring, then run with its decorator and docstring, then
		// the rest of run.
		if got := (wantChunk{cs[0].StartLine, cs[0].EndLine, cs[0].Symbol}); got != (wantChunk{1, 2, "Job"}) {
			t.Errorf("first chunk %v", got)
		}
		if want := "class Job:\n    # ...\n" + strings.Join(ls[3:cs[1].EndLine], "\n"); cs[1].StartLine != 4 || cs[1].Content != want {
			t.Errorf("first piece of run %d-%d:\n%s\nwant\n%s", cs[1].StartLine, cs[1].EndLine, cs[1].Content, want)
		}
		for i, c := range cs[1:] {
			if c.Symbol != "Job.run" {
				t.Errorf("piece %d has symbol %q", i+1, c.Symbol)
			}
			if i == 0 {
				continue
			}
			if c.StartLine != cs[i].EndLine+1 {
				t.Errorf("piece %d starts at %d, previous ended at %d", i+1, c.StartLine, cs[i].EndLine)
			}
			want := "class Job:\n    # ...\n    def run(self, items):\n        # ...\n" + strings.Join(ls[c.StartLine-1:c.EndLine], "\n")
			if c.Content != want {
				t.Errorf("piece %d:\n%s\nwant\n%s", i+1, c.Content, want)
			}
		}
	})

	t.Run("test callbacks split at statements", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("describe(\"math\", () => {\n")
		for i := range 30 {
			fmt.Fprintf(&b, "  it(\"adds %d\", () => {\n    expect(add(%d, 1)).toBe(%d);\n  });\n", i, i, i+1)
		}
		b.WriteString("});\n")
		cs := chunkOf(t, "math.test.js", []byte(b.String()), 100)
		if len(cs) < 3 {
			t.Fatalf("%d chunks, want the describe block split", len(cs))
		}
		for i, c := range cs[1:] {
			if !strings.HasPrefix(c.Content, "describe(\"math\", () => {\n  // ...\n  it(\"adds ") {
				t.Errorf("piece %d:\n%s", i+1, c.Content)
			}
		}
	})
}

func TestChunker_Chunk_TreeSitterMinified(t *testing.T) {
	// One 200 kB line of JavaScript: not parsed, cut into pieces of that line.
	line := strings.Repeat("function f(a){return a+1};", 8000)
	cs := chunkOf(t, "app.min.js", []byte(line+"\n"), 0)
	if len(cs) < 10 {
		t.Fatalf("%d chunks", len(cs))
	}
	var joined strings.Builder
	for _, c := range cs {
		if c.StartLine != 1 || c.EndLine != 1 || c.Symbol != "" {
			t.Errorf("chunk %d-%d %q", c.StartLine, c.EndLine, c.Symbol)
		}
		joined.WriteString(c.Content)
	}
	if joined.String() != line {
		t.Error("the pieces do not add up to the line")
	}
}

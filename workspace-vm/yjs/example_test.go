package yjs_test

import (
	"fmt"

	"github.com/vibecode/vibecode/workspace-vm/yjs"
)

// A collaboration server keeps one Doc per document: it applies what clients
// send, answers SyncStep1 with the diff they lack, writes the text to disk and
// turns changes on disk into updates for the editors.
func Example() {
	agent := yjs.NewDoc(yjs.RandomClientID())
	browser := yjs.NewDoc(42) // stands in for a y-websocket client

	// The file on disk seeds the empty document once.
	seed, _ := agent.SetText("content", "hello\n")
	_ = browser.ApplyUpdate(seed)

	// An edit in the editor reaches the agent, which writes the file.
	edit, _ := browser.SetText("content", "hello, world\n")
	_ = agent.ApplyUpdate(edit)
	fmt.Printf("file: %q\n", agent.Text("content"))

	// A change made in a terminal becomes a minimal update for the editors.
	change, _ := agent.SetText("content", "hello, world\nfrom git\n")
	_ = browser.ApplyUpdate(change)
	fmt.Printf("editor: %q\n", browser.Text("content"))

	// SyncStep1 → SyncStep2: send the client only what it lacks.
	diff, _ := agent.EncodeStateAsUpdate(browser.EncodeStateVector())
	fmt.Println("diff bytes:", len(diff))

	// Compaction: the whole state as one update replaces the stored log.
	state, _ := agent.EncodeStateAsUpdate(nil)
	merged, _ := yjs.MergeUpdates([][]byte{seed, edit, change})
	fmt.Println(len(state) == len(merged))
	// Output:
	// file: "hello, world\n"
	// editor: "hello, world\nfrom git\n"
	// diff bytes: 2
	// true
}

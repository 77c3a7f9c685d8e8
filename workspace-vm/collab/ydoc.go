package collab

import "github.com/vibecode/vibecode/workspace-vm/yjs"

// newYDoc is the one place the hub creates Yjs documents. A fresh random client id per load
// means the hub never reuses an id whose clock it might have lost.
func newYDoc() ydoc { return yjs.NewDoc(yjs.RandomClientID()) }

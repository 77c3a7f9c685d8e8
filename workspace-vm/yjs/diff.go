package yjs

import "hash/maphash"

// edit replaces old[pos:pos+del] with new[insStart:insEnd].
type edit struct {
	pos, del         int
	insStart, insEnd int
}

// maxLineDiff bounds the line diff (the number of differing lines Myers'
// algorithm may explore); beyond it the changed middle is replaced whole,
// which is still correct, just less minimal.
const maxLineDiff = 2000

// diffUTF16 computes the edits turning old into new: common prefix and suffix
// first, then a line diff of the middle whose hunks are trimmed to the
// characters that differ. Edit boundaries never split a surrogate pair.
func diffUTF16(old, new []uint16) []edit {
	p := commonPrefix(old, new)
	s := commonSuffix(old[p:], new[p:])
	if p == len(old) && p == len(new) {
		return nil
	}
	oldMid, newMid := old[p:len(old)-s], new[p:len(new)-s]
	if len(oldMid) == 0 || len(newMid) == 0 {
		return []edit{{pos: p, del: len(oldMid), insStart: p, insEnd: p + len(newMid)}}
	}
	oldLines, newLines := splitLines(oldMid), splitLines(newMid)
	if len(oldLines) == 1 || len(newLines) == 1 {
		return []edit{{pos: p, del: len(oldMid), insStart: p, insEnd: p + len(newMid)}}
	}
	hunks, ok := myers(hashLines(oldMid, oldLines), hashLines(newMid, newLines), oldLines, newLines, oldMid, newMid)
	if !ok {
		return []edit{{pos: p, del: len(oldMid), insStart: p, insEnd: p + len(newMid)}}
	}
	edits := make([]edit, 0, len(hunks))
	for _, h := range hunks {
		a0, a1 := lineStart(oldLines, h.a0, len(oldMid)), lineStart(oldLines, h.a1, len(oldMid))
		b0, b1 := lineStart(newLines, h.b0, len(newMid)), lineStart(newLines, h.b1, len(newMid))
		a, b := oldMid[a0:a1], newMid[b0:b1]
		hp := commonPrefix(a, b)
		hs := commonSuffix(a[hp:], b[hp:])
		edits = append(edits, edit{
			pos:      p + a0 + hp,
			del:      len(a) - hp - hs,
			insStart: p + b0 + hp,
			insEnd:   p + b1 - hs,
		})
	}
	return edits
}

// commonPrefix returns the length of the common prefix, backed off so it does
// not end between the halves of a surrogate pair.
func commonPrefix(a, b []uint16) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	if i > 0 && isHighSurrogate(a[i-1]) {
		i--
	}
	return i
}

// commonSuffix returns the length of the common suffix, backed off so it does
// not start between the halves of a surrogate pair.
func commonSuffix(a, b []uint16) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[len(a)-1-i] == b[len(b)-1-i] {
		i++
	}
	if i > 0 && isLowSurrogate(a[len(a)-i]) {
		i--
	}
	return i
}

// splitLines returns the start offset of every line ('\n' ends a line).
func splitLines(s []uint16) []int {
	starts := []int{0}
	for i, u := range s {
		if u == '\n' && i+1 < len(s) {
			starts = append(starts, i+1)
		}
	}
	return starts
}

func lineStart(starts []int, i, total int) int {
	if i >= len(starts) {
		return total
	}
	return starts[i]
}

var lineSeed = maphash.MakeSeed()

func hashLines(s []uint16, starts []int) []uint64 {
	hs := make([]uint64, len(starts))
	var h maphash.Hash
	h.SetSeed(lineSeed)
	buf := make([]byte, 0, 256)
	for i, st := range starts {
		end := lineStart(starts, i+1, len(s))
		buf = buf[:0]
		for _, u := range s[st:end] {
			buf = append(buf, byte(u), byte(u>>8))
		}
		h.Reset()
		_, _ = h.Write(buf)
		hs[i] = h.Sum64()
	}
	return hs
}

// hunk replaces lines [a0,a1) of old with lines [b0,b1) of new.
type hunk struct{ a0, a1, b0, b1 int }

// myers runs Myers' O(ND) diff over line hashes (lines with equal hashes are
// compared for real) and returns the changed hunks; ok is false when more
// than maxLineDiff lines differ.
func myers(a, b []uint64, aStarts, bStarts []int, aText, bText []uint16) ([]hunk, bool) {
	n, m := len(a), len(b)
	eq := func(x, y int) bool {
		if a[x] != b[y] {
			return false
		}
		ax := aText[aStarts[x]:lineStart(aStarts, x+1, len(aText))]
		by := bText[bStarts[y]:lineStart(bStarts, y+1, len(bText))]
		if len(ax) != len(by) {
			return false
		}
		for i := range ax {
			if ax[i] != by[i] {
				return false
			}
		}
		return true
	}
	maxD := min(n+m, maxLineDiff)
	off := maxD + 1
	v := make([]int, 2*maxD+3)
	var trace [][]int
	for d := 0; d <= maxD; d++ {
		// Keep v[-d-1 .. d+1] of the previous round for backtracking.
		trace = append(trace, append([]int(nil), v[off-d-1:off+d+2]...))
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1]
			} else {
				x = v[off+k-1] + 1
			}
			y := x - k
			for x < n && y < m && eq(x, y) {
				x++
				y++
			}
			v[off+k] = x
			if x >= n && y >= m {
				return backtrack(trace, n, m, d), true
			}
		}
	}
	return nil, false
}

// backtrack walks Myers' trace back from (n,m) and collects the hunks.
func backtrack(trace [][]int, n, m, dEnd int) []hunk {
	var hunks []hunk
	x, y := n, m
	add := func(a0, a1, b0, b1 int) {
		if len(hunks) > 0 {
			last := &hunks[len(hunks)-1]
			if last.a0 == a1 && last.b0 == b1 {
				last.a0, last.b0 = a0, b0
				return
			}
		}
		hunks = append(hunks, hunk{a0, a1, b0, b1})
	}
	for d := dEnd; d > 0; d-- {
		vPrev := trace[d] // v after round d-1, indexed from -d-1
		get := func(k int) int { return vPrev[k+d+1] }
		k := x - y
		var prevK int
		if k == -d || (k != d && get(k-1) < get(k+1)) {
			prevK = k + 1
		} else {
			prevK = k - 1
		}
		prevX := get(prevK)
		prevY := prevX - prevK
		for x > prevX && y > prevY {
			x--
			y--
		}
		if x == prevX {
			add(x, x, prevY, y) // insertion of new line prevY
		} else {
			add(prevX, x, y, y) // deletion of old line prevX
		}
		x, y = prevX, prevY
	}
	for i, j := 0, len(hunks)-1; i < j; i, j = i+1, j-1 {
		hunks[i], hunks[j] = hunks[j], hunks[i]
	}
	return hunks
}

package sqlite

import (
	"math"
	"math/bits"
	"math/rand/v2"
)

// signCoder turns a normalised vector into a 1-bit-per-dimension sign code and estimates a
// query's dot product with a vector from the vector's code alone, for the first step of a
// two-step search (see vectorIndex). A code is 32 times smaller than the float32 vector, so
// ranking 100k vectors by their codes reads 6.4 MB instead of 205 MB.
//
// The signs are taken after a fixed random rotation (a randomised Hadamard transform, as in
// RaBitQ). Without it the signs of a hashed embedding are a poor summary: most of its weight
// sits in a few dozen buckets and the signs of the rest are noise, and a short query is
// sparse, so on localembed vectors only 80% of the true top 30 is among the best 1000 by
// estimate, against 99.6% with it (100k chunks of the Go source, docs/benchmarks.md). The
// rotation spreads every vector's weight evenly over all dimensions, where one sign per
// dimension loses the least.
//
// The estimate is asymmetric: the query stays in float32 and is dotted with the code's ±1
// values, divided by the rotated vector's L1 norm (RaBitQ's estimator of the dot
// product: <x, q> ≈ <sign(x), q> / ‖x‖₁ for rotated unit x, q). Comparing codes with codes
// (Hamming distance) throws away the query's magnitudes, needs about four times the
// candidates for the same recall, and in Go is hardly cheaper than the table lookups.
type signCoder struct {
	dims  int          // length of the vectors coded
	n     int          // length of the rotation: dims rounded up to a power of two, at least 64
	size  int          // bytes per code: n/8, bit i in byte i/8 (the lookup table's unit)
	signs [2][]float32 // the random ±1 diagonal before each of the two Hadamard transforms
}

// rotationSeed fixes the rotation: codes are only rebuilt in memory, but every vector and
// query of one index must see the same one.
const rotationSeed = 0x5eed_c0de

func newSignCoder(dims int) signCoder {
	n := 64
	for n < dims {
		n *= 2
	}
	c := signCoder{dims: dims, n: n, size: n / 8}
	r := rand.New(rand.NewPCG(rotationSeed, rotationSeed))
	for i := range c.signs {
		c.signs[i] = make([]float32, n)
		for j := range c.signs[i] {
			c.signs[i][j] = float32(2*r.IntN(2) - 1)
		}
	}
	return c
}

// rotate writes the rotation of v (len dims) into dst (len n): twice a random sign flip per
// dimension followed by a fast Walsh–Hadamard transform, then one scaling by 1/n that makes
// the two transforms orthonormal. It preserves lengths and dot products, so it changes no
// similarity, only how evenly each vector's weight is spread. It is most of the cost of
// adding a vector (a few microseconds), so the transform's first two levels, where slicing
// pairs would cost more than the additions, are written out.
func (c *signCoder) rotate(dst, v []float32) {
	copy(dst, v)
	clear(dst[len(v):])
	for _, s := range c.signs {
		s = s[:len(dst)]
		for i := range dst {
			dst[i] *= s[i]
		}
		for i := 0; i+4 <= len(dst); i += 4 {
			p := (*[4]float32)(dst[i:])
			a0, a1 := p[0]+p[1], p[0]-p[1]
			a2, a3 := p[2]+p[3], p[2]-p[3]
			p[0], p[1], p[2], p[3] = a0+a2, a1+a3, a0-a2, a1-a3
		}
		for h := 4; h < len(dst); h *= 2 {
			for i := 0; i < len(dst); i += 2 * h {
				a, b := dst[i:i+h], dst[i+h:i+2*h]
				for j := range a {
					a[j], b[j] = a[j]+b[j], a[j]-b[j]
				}
			}
		}
	}
	scale := 1 / float32(c.n)
	for i := range dst {
		dst[i] *= scale
	}
}

// encode writes the sign code of the normalised vector v into code (len size), using rot
// (len n) as scratch, and returns the scale the estimate multiplies by: 1/‖rotated v‖₁, or 0
// for a zero vector, whose estimate is then 0 like its exact score.
func (c *signCoder) encode(code []byte, v, rot []float32) float32 {
	c.rotate(rot, v)
	// Bits from the float's sign bit rather than a comparison: the signs are random, so a
	// branch on them would be mispredicted half the time. A zero counts as positive.
	var l1 float32
	for j := range code {
		var b byte
		for k, x := range rot[8*j : 8*j+8] {
			u := math.Float32bits(x)
			b |= byte(^u>>31) << k
			l1 += math.Float32frombits(u &^ (1 << 31))
		}
		code[j] = b
	}
	if l1 == 0 {
		return 0
	}
	return 1 / l1
}

// lookupTable holds, for each byte of a code and each of its 256 values, the rotated query's
// dot product with that byte's eight ±1 values, so estimating a vector takes one lookup and
// one add per eight dimensions instead of eight multiply-adds.
type lookupTable [][256]float32

// table returns the lookup table of the normalised query q (len dims).
func (c *signCoder) table(q []float32) lookupTable {
	rq := make([]float32, c.n)
	c.rotate(rq, q)
	t := make(lookupTable, c.n/8)
	for j := range t {
		part := rq[8*j : 8*j+8]
		var sum float32
		for _, x := range part {
			sum -= x
		}
		// Entry 0 has every bit negative; each other entry adds 2·q for its lowest set bit to
		// the entry without that bit.
		t[j][0] = sum
		for b := 1; b < 256; b++ {
			t[j][b] = t[j][b&(b-1)] + 2*part[bits.TrailingZeros8(uint8(b))]
		}
	}
	return t
}

// estimateScan estimates rows [lo, hi) of sp from their codes and keeps the best c of those
// keep accepts.
func estimateScan(lut lookupTable, sp *vectorSpace, lo, hi, c int, keep chunkFilter) topK {
	size := len(lut)
	top := topK{k: c, items: make([]scored, 0, min(c, hi-lo))}
	for r := lo; r < hi; r++ {
		if keep != nil && !keep(sp.metas[r]) {
			continue
		}
		s := estimate(lut, sp.codes[r*size:(r+1)*size]) * sp.invL1[r]
		if len(top.items) < c || s > top.items[0].score {
			top.offer(s, int32(r))
		}
	}
	return top
}

// estimate returns the rotated query's dot product with code's ±1 values (len(code) ==
// len(lut), a multiple of 8). It works eight bytes at a time through array pointers, so every
// lookup compiles to a byte load and an add from the table at a constant offset, without
// bounds checks; four accumulators keep the adds from waiting on one another. This is the
// loop that decides a two-step search's speed.
func estimate(lut lookupTable, code []byte) float32 {
	var s0, s1, s2, s3 float32
	for len(code) >= 8 && len(lut) >= 8 {
		t, b := (*[8][256]float32)(lut), (*[8]byte)(code)
		s0 += t[0][b[0]] + t[4][b[4]]
		s1 += t[1][b[1]] + t[5][b[5]]
		s2 += t[2][b[2]] + t[6][b[6]]
		s3 += t[3][b[3]] + t[7][b[7]]
		lut, code = lut[8:], code[8:]
	}
	return (s0 + s1) + (s2 + s3)
}

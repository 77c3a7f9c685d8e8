package chunk

import "unicode/utf8"

// EstimateTokens returns the estimated number of BPE tokens in text, the unit of
// Options.MaxTokens. It is exported so that code budgeting prompts (retrieval context,
// completion context) counts the way the chunker does.
//
// The estimate is one pass over the bytes that mimics how cl100k-style vocabularies split
// code. bytes/4 is cheaper to state but tracks code badly: measured against cl100k on
// samples of Go, Python, JavaScript and C files, bytes/4 is off by 18%, 15%, 9% and 8% per
// file on average (tabs, four-space indents and punctuation runs weigh very differently),
// this estimate by 6%, 6%, 6% and 3%. It counts
//   - each word piece, a run of letters split where lower case turns upper
//     (parseHTTPRequest is parse, HTTP, Request): one token, plus one per started 6
//     letters beyond the first 10;
//   - each run of digits: one token per started 3 digits, as BPE splits numbers;
//   - each run of punctuation: one token per started 3 characters ("();", ":=", "},"),
//     except that a single character before a word is folded into it (".Reader", "(src");
//   - each non-ASCII character: one token;
//   - each line break: one token; indentation after it of two or more blanks, and any
//     inner run of blanks: one token, plus one per 16 blanks.
//
// A single space between words is free (BPE folds it into the next word). Every other
// byte is worth at least 1/16 of a token, so the estimate grows with the length of any
// text and a budget in tokens also bounds a chunk's size in bytes.
func EstimateTokens(text []byte) int {
	n := 0
	for i := 0; i < len(text); {
		var t int
		i, t = estimateRun(text, i)
		n += t
	}
	return n
}

// Byte classes of the estimator.
const (
	clSpace = iota
	clLetter
	clDigit
	clPunct
	clNewline
	clHigh // a byte >= 0x80: part of a multi-byte character (or invalid UTF-8)
)

var byteClass = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			t[c] = clSpace
		case c == '\n':
			t[c] = clNewline
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			t[c] = clLetter
		case c >= '0' && c <= '9':
			t[c] = clDigit
		case c >= 0x80:
			t[c] = clHigh
		default:
			t[c] = clPunct
		}
	}
	return t
}()

// Estimator parameters (see EstimateTokens), fitted to cl100k counts of ~640 files.
const (
	wordLetters     = 10 // a word piece up to this long is one token
	lettersPerToken = 6  // letters per further token of a longer word piece
	digitsPerToken  = 3
	punctsPerToken  = 3
	blanksPerToken  = 16
)

// estimateRun consumes one run of b starting at i and returns where the next run starts and
// the run's tokens, so that callers can also stop at a budget (cutLine).
func estimateRun(b []byte, i int) (next, tokens int) {
	switch byteClass[b[i]] {
	case clNewline:
		j := i + 1
		k := j
		for k < len(b) && byteClass[b[k]] == clSpace {
			k++
		}
		if k-j > 1 { // one blank of indentation is folded into the next word ("\treturn")
			return k, 2 + (k-j)/blanksPerToken
		}
		return k, 1
	case clSpace:
		j := i + 1
		for j < len(b) && byteClass[b[j]] == clSpace {
			j++
		}
		if j-i > 1 {
			return j, 1 + (j-i)/blanksPerToken
		}
		return j, 0
	case clLetter:
		// One word piece: an optional run of capitals followed by lower-case letters.
		j := i
		upper := 0
		for j < len(b) && b[j] >= 'A' && b[j] <= 'Z' {
			j++
			upper++
		}
		if j < len(b) && b[j] >= 'a' && b[j] <= 'z' {
			if upper > 1 {
				j-- // the last capital starts the lower-case word: "HTTPRequest"
			}
			for j < len(b) && b[j] >= 'a' && b[j] <= 'z' {
				j++
			}
		}
		if l := j - i; l > wordLetters {
			return j, 1 + (l-wordLetters+lettersPerToken-1)/lettersPerToken
		}
		return j, 1
	case clDigit:
		j := i + 1
		for j < len(b) && byteClass[b[j]] == clDigit {
			j++
		}
		return j, (j - i + digitsPerToken - 1) / digitsPerToken
	case clHigh:
		_, size := utf8.DecodeRune(b[i:])
		return i + size, 1
	default:
		j := i + 1
		for j < len(b) && byteClass[b[j]] == clPunct {
			j++
		}
		if j-i == 1 && j < len(b) && byteClass[b[j]] == clLetter {
			return j, 0 // folded into the word that follows
		}
		return j, (j - i + punctsPerToken - 1) / punctsPerToken
	}
}

package collab_test

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"testing"
)

// The log format, as documented in storage.go, parsed independently of the package.

type logRecord struct {
	kind    byte
	payload []byte
}

func crc(p []byte) uint32 { return crc32.Checksum(p, crc32.MakeTable(crc32.Castagnoli)) }

// record encodes one log record.
func record(kind byte, payload []byte) []byte {
	body := append([]byte{kind}, payload...)
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(body)))
	b = binary.LittleEndian.AppendUint32(b, crc(body))
	return append(b, body...)
}

// readLog parses a whole log and fails the test on any damage.
func readLog(t *testing.T, path string) []logRecord {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("VCYLOG1\n")) {
		t.Fatalf("%s: bad magic", path)
	}
	n := binary.LittleEndian.Uint32(b[8:])
	end := 12 + int(n)
	if crc(b[:end]) != binary.LittleEndian.Uint32(b[end:]) {
		t.Fatalf("%s: header checksum", path)
	}
	b = b[end+4:]
	var out []logRecord
	for len(b) > 0 {
		if len(b) < 8 {
			t.Fatalf("%s: torn record header", path)
		}
		n := binary.LittleEndian.Uint32(b)
		sum := binary.LittleEndian.Uint32(b[4:])
		if int(n) > len(b)-8 || n == 0 {
			t.Fatalf("%s: torn record", path)
		}
		body := b[8 : 8+n]
		if crc(body) != sum {
			t.Fatalf("%s: record checksum", path)
		}
		out = append(out, logRecord{kind: body[0], payload: body[1:]})
		b = b[8+n:]
	}
	return out
}

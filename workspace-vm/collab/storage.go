package collab

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
)

// The log file format (all integers little-endian):
//
//	header: "VCYLOG1\n" | u32 name length | document name | u32 CRC-32C of everything before
//	record: u32 body length | u32 CRC-32C of the body | body = u8 kind | payload
//
// kind 0 is a Yjs v1 update; kinds 1 and 2 are file markers (payload: the SHA-256 of a
// content) that say which content of the workspace file the document was last in step with:
// 1 = about to write this content to the file, 2 = the file holds this content (written by
// the hub, or read from disk and applied). On load they tell an edit made to the file while
// the document was unloaded (apply it) from a write the hub did not get to finish (redo it).
//
// Records are appended and fsync'd before the update they hold is broadcast. A crash can
// leave a torn last record (short, or with a bad checksum); opening the log truncates the file
// at the first record that does not check out. Compaction replaces the file atomically with
// a header, one update holding the whole state, and the current file markers.
const logMagic = "VCYLOG1\n"

// recordHeaderSize is the length and checksum in front of every record.
const recordHeaderSize = 8

// Record kinds.
const (
	recUpdate      byte = 0
	recFileWriting byte = 1
	recFileSynced  byte = 2
)

// record is one entry of a log.
type record struct {
	kind    byte
	payload []byte
}

func checksum(p []byte) uint32 { return crc32.Checksum(p, crc32.MakeTable(crc32.Castagnoli)) }

// logFileName names a document's log after a hash of the document name: names are paths of
// up to 1,024 bytes with slashes, which do not fit a file name. The header keeps the name.
func logFileName(doc string) string {
	sum := sha256.Sum256([]byte(doc))
	return hex.EncodeToString(sum[:20]) + ".ylog"
}

// updateLog is one document's durable, append-only update log. It is used by one goroutine
// at a time (the document's), so it has no lock.
type updateLog struct {
	dir, path string
	doc       string
	f         *os.File
	size      int64 // bytes in the file
	records   int   // records in the file
	baseSize  int64 // the file's size after the last open or compaction
}

// openLog opens (creating if needed) the log of doc in dir and returns every stored record,
// oldest first, and how many bytes of a torn or corrupt tail it cut off.
func openLog(dir, doc string) (l *updateLog, records []record, cut int64, err error) {
	path := filepath.Join(dir, logFileName(doc))
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := writeFileAtomic(dir, path, encodeLog(doc, nil)); err != nil {
			return nil, nil, 0, fmt.Errorf("collab: create log of %q: %w", doc, err)
		}
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, nil, 0, fmt.Errorf("collab: read log of %q: %w", doc, err)
	}
	hdrLen, name, err := parseLogHeader(data)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("collab: log %s: %w", path, err)
	}
	if name != doc {
		return nil, nil, 0, fmt.Errorf("collab: log %s belongs to %q, not %q", path, name, doc)
	}
	off := hdrLen
	for off < len(data) {
		if len(data)-off < recordHeaderSize {
			break
		}
		n := binary.LittleEndian.Uint32(data[off:])
		sum := binary.LittleEndian.Uint32(data[off+4:])
		if uint64(n) > uint64(len(data)-off-recordHeaderSize) {
			break
		}
		body := data[off+recordHeaderSize : off+recordHeaderSize+int(n)]
		if n == 0 || checksum(body) != sum || body[0] > recFileSynced {
			break
		}
		records = append(records, record{kind: body[0], payload: body[1:]})
		off += recordHeaderSize + int(n)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("collab: open log of %q: %w", doc, err)
	}
	if off < len(data) {
		cut = int64(len(data) - off)
		if err := f.Truncate(int64(off)); err != nil {
			f.Close()
			return nil, nil, 0, fmt.Errorf("collab: truncate torn tail of %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, nil, 0, fmt.Errorf("collab: sync %s: %w", path, err)
		}
	}
	if _, err := f.Seek(int64(off), 0); err != nil {
		f.Close()
		return nil, nil, 0, fmt.Errorf("collab: seek %s: %w", path, err)
	}
	l = &updateLog{dir: dir, path: path, doc: doc, f: f, size: int64(off), records: len(records), baseSize: int64(off)}
	return l, records, cut, nil
}

func parseLogHeader(data []byte) (n int, name string, err error) {
	if len(data) < len(logMagic)+8 || !bytes.Equal(data[:len(logMagic)], []byte(logMagic)) {
		return 0, "", errors.New("not a collab log (bad magic)")
	}
	nameLen := binary.LittleEndian.Uint32(data[len(logMagic):])
	end := len(logMagic) + 4 + int(nameLen)
	if nameLen > 1<<16 || end+4 > len(data) {
		return 0, "", errors.New("corrupt log header")
	}
	if checksum(data[:end]) != binary.LittleEndian.Uint32(data[end:]) {
		return 0, "", errors.New("log header checksum mismatch")
	}
	return end + 4, string(data[len(logMagic)+4 : end]), nil
}

func appendLogHeader(b []byte, doc string) []byte {
	start := len(b)
	b = append(b, logMagic...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(doc)))
	b = append(b, doc...)
	return binary.LittleEndian.AppendUint32(b, checksum(b[start:]))
}

func appendRecord(b []byte, r record) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(1+len(r.payload)))
	start := len(b) + 4
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = append(b, r.kind)
	b = append(b, r.payload...)
	binary.LittleEndian.PutUint32(b[start-4:], checksum(b[start:]))
	return b
}

// encodeLog returns a whole log file holding records.
func encodeLog(doc string, records []record) []byte {
	b := appendLogHeader(nil, doc)
	for _, r := range records {
		b = appendRecord(b, r)
	}
	return b
}

// append writes records with one write and one fsync (group commit). On failure it cuts the
// file back to where it was, so a half-written batch is never read back as acknowledged.
func (l *updateLog) append(records ...record) error {
	return l.appendRecords(true, records)
}

// write appends records without waiting for them to be durable (the next append's fsync, or
// the kernel, takes them to disk). Only for records whose loss is harmless.
func (l *updateLog) write(records ...record) error {
	return l.appendRecords(false, records)
}

func (l *updateLog) appendRecords(sync bool, records []record) error {
	var size int
	for _, r := range records {
		size += recordHeaderSize + 1 + len(r.payload)
	}
	b := make([]byte, 0, size)
	for _, r := range records {
		b = appendRecord(b, r)
	}
	if _, err := l.f.Write(b); err != nil {
		l.rollback()
		return fmt.Errorf("collab: append to log of %q: %w", l.doc, err)
	}
	if !sync {
		l.size += int64(len(b))
		l.records += len(records)
		return nil
	}
	if err := l.f.Sync(); err != nil {
		l.rollback()
		return fmt.Errorf("collab: sync log of %q: %w", l.doc, err)
	}
	l.size += int64(len(b))
	l.records += len(records)
	return nil
}

func (l *updateLog) rollback() {
	_ = l.f.Truncate(l.size)
	_, _ = l.f.Seek(l.size, 0)
}

// replace swaps the whole log for one holding only records (compaction): temp file, fsync,
// rename, fsync of the directory, so a crash leaves either the old log or the new one.
func (l *updateLog) replace(records []record) error {
	data := encodeLog(l.doc, records)
	if err := writeFileAtomic(l.dir, l.path, data); err != nil {
		return fmt.Errorf("collab: compact log of %q: %w", l.doc, err)
	}
	f, err := os.OpenFile(l.path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("collab: reopen log of %q: %w", l.doc, err)
	}
	if _, err := f.Seek(int64(len(data)), 0); err != nil {
		f.Close()
		return fmt.Errorf("collab: seek log of %q: %w", l.doc, err)
	}
	_ = l.f.Close()
	l.f, l.size, l.records, l.baseSize = f, int64(len(data)), len(records), int64(len(data))
	return nil
}

func (l *updateLog) close() error {
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("collab: close log of %q: %w", l.doc, err)
	}
	return nil
}

// writeFileAtomic writes data to path through a temporary file in dir: write, fsync, rename,
// fsync the directory.
func writeFileAtomic(dir, path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err = tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

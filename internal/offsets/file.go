package offsets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// fileProperty is the worker property naming the offsets file; errors
// quote it so an operator knows which setting points at the broken disk.
const fileProperty = "offset.storage.file.filename"

// File is Kafka Connect's standalone offset store
// (offset.storage.file.filename). The file is JSON: an object mapping
// each serialised key to its serialised offset, both as Kafka Connect
// writes them, so they can be fed to its offsets topic.
//
// Every Put rewrites the file atomically: write a temp file next to it,
// fsync, rename over the file, fsync the directory. A Put that fails
// (disk full, read-only file system, permissions) leaves the previous file
// untouched and removes its temp file, and the store keeps the offsets it
// had, so the caller can stop the task and a restart resumes from the last
// successful commit.
type File struct {
	path string
	mu   sync.Mutex
	m    map[string][]byte
}

// FileError is a failed read or write of the offsets file. It unwraps to
// the operating system's error, so errors.Is(err, syscall.ENOSPC) works.
type FileError struct {
	Path string
	// Step says what failed, e.g. "writing /d/offsets.json.tmp123".
	Step string
	// Kept says what became of the offsets file, e.g. "the previous
	// offsets file is unchanged"; empty when there is nothing to say.
	Kept string
	Err  error
}

func (e *FileError) Error() string {
	// The cause first ("no space left on device"), then the details: the
	// cause is what the operator has to fix.
	cause := e.Err.Error()
	var errno syscall.Errno
	if errors.As(e.Err, &errno) {
		cause = errno.Error()
	}
	detail := e.Step
	if e.Kept != "" {
		detail += "; " + e.Kept
	}
	return fmt.Sprintf("%s=%s: %s (%s)", fileProperty, e.Path, cause, detail)
}

func (e *FileError) Unwrap() error { return e.Err }

// CorruptError is an offsets file that cannot be read as offsets. Offset
// is the zero-based position of the byte at fault (as `cmp` and `xxd`
// count), the file's length when it ends too early.
type CorruptError struct {
	Path   string
	Offset int64
	Err    error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("%s=%s: corrupt offsets file at byte %d: %v (the file was left as it is; restore it from a backup or fix it, "+
		"or remove it to make every connector start over with a new snapshot)", fileProperty, e.Path, e.Offset, e.Err)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// OpenFile loads (or creates on first Put) the offsets file at path. A
// file that exists but does not hold offsets is an error, never a fresh
// start: starting over would silently re-snapshot every connector (or,
// for a source that cannot re-snapshot, skip data).
func OpenFile(path string) (*File, error) {
	f := &File{path: path, m: map[string][]byte{}}
	removeStaleTemps(path)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, &FileError{Path: path, Step: "reading the offsets file", Err: err}
	}
	if err := parseFile(data, f.m); err != nil {
		err.Path = path
		return nil, err
	}
	return f, nil
}

// removeStaleTemps deletes temp files a crashed Put left behind: Put
// removes its own on failure, but a process killed between creating and
// renaming one cannot, and they would otherwise accumulate on every crash.
// A temp file younger than staleTempAge may belong to a live commit of
// another process (a worker writing while a tool or test reads the
// file), so it is left alone: a commit's temp file lives milliseconds.
func removeStaleTemps(path string) {
	stale, _ := filepath.Glob(tempPattern(path))
	for _, s := range stale {
		if fi, err := os.Stat(s); err == nil && time.Since(fi.ModTime()) >= staleTempAge {
			_ = os.Remove(s)
		}
	}
}

// staleTempAge is how old a temp file must be to count as left behind.
const staleTempAge = time.Minute

func tempPattern(path string) string {
	return filepath.Join(filepath.Dir(path), escapeGlob(filepath.Base(path))+".tmp*")
}

// escapeGlob quotes the glob metacharacters of a file name.
func escapeGlob(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		switch r {
		case '*', '?', '[', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// parseFile reads the offsets JSON into m, checking every key and offset,
// so a damaged file is reported at open with the byte at fault rather than
// later as a connector's puzzling offset error.
func parseFile(data []byte, m map[string][]byte) *CorruptError {
	// Syntax first: json.Unmarshal reports the absolute byte offset of a
	// syntax error, and "unexpected end of JSON input" at the file's end
	// for a truncated file.
	var whole json.RawMessage
	if err := json.Unmarshal(data, &whole); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			// se.Offset counts the bytes read, including the offending
			// one; a truncated file is reported at its end, where the
			// missing data should start.
			at := se.Offset
			if at > 0 && !strings.HasPrefix(se.Error(), "unexpected end") {
				at--
			}
			return &CorruptError{Offset: at, Err: err}
		}
		return &CorruptError{Err: err}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	start := skipSpace(data, 0)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return &CorruptError{Offset: start, Err: fmt.Errorf("expected a JSON object of offsets, found %s", describe(data[start:]))}
	}
	for dec.More() {
		keyAt := skipSpace(data, dec.InputOffset())
		tok, err := dec.Token()
		if err != nil {
			return &CorruptError{Offset: keyAt, Err: err}
		}
		key := tok.(string) // object keys are strings in valid JSON
		if _, _, err := ParseKey([]byte(key)); err != nil {
			return &CorruptError{Offset: keyAt, Err: err}
		}
		valAt := skipSpace(data, dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return &CorruptError{Offset: valAt, Err: err}
		}
		if len(raw) == 0 || raw[0] != '{' {
			return &CorruptError{Offset: valAt, Err: fmt.Errorf("offset of %s: expected a JSON object, found %s", key, describe(raw))}
		}
		if _, err := DecodeMap(raw); err != nil {
			return &CorruptError{Offset: valAt, Err: fmt.Errorf("offset of %s: %w", key, err)}
		}
		m[key] = []byte(raw)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return &CorruptError{Offset: dec.InputOffset(), Err: err}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &CorruptError{Offset: skipSpace(data, dec.InputOffset()), Err: errors.New("unexpected data after the offsets object")}
	}
	return nil
}

// skipSpace returns the offset of the first byte at or after off that is
// neither JSON whitespace nor a separator, where the next token starts.
func skipSpace(data []byte, off int64) int64 {
	for off < int64(len(data)) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
			continue
		}
		break
	}
	return off
}

// describe names a JSON value briefly for an error message.
func describe(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	case '{':
		return "an object"
	}
	return "a number"
}

func (f *File) Get(_ context.Context, connector string, partition map[string]any) (map[string]any, error) {
	k, err := Key(connector, partition)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return DecodeMap(f.m[string(k)])
}

func (f *File) List(_ context.Context, connector string) ([]Entry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return list(f.m, connector)
}

// Put stores entries. On error the file and the store's offsets are what
// they were before, except in the one case FileError.Kept says otherwise.
func (f *File) Put(_ context.Context, connector string, entries []Entry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	next := make(map[string][]byte, len(f.m)+len(entries))
	for k, v := range f.m {
		next[k] = v
	}
	if err := putAll(next, connector, entries); err != nil {
		return err
	}
	raw := make(map[string]json.RawMessage, len(next))
	for k, v := range next {
		raw[k] = v
	}
	data, err := json.MarshalIndent(raw, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding offsets: %w", err)
	}
	replaced, err := writeAtomic(f.path, data)
	if replaced {
		// The file on disk holds next even if the directory sync failed;
		// keep memory in step with it so the next Put does not drop these
		// offsets again.
		f.m = next
	}
	return err
}

// writeAtomic replaces path with data, reporting whether the rename
// happened. Before the rename every failure leaves path untouched.
func writeAtomic(path string, data []byte) (replaced bool, err error) {
	const unchanged = "the previous offsets file is unchanged"
	fail := func(step string, err error) error {
		return &FileError{Path: path, Step: step, Kept: unchanged, Err: err}
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fail("creating the directory", err)
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return false, fail("creating a temporary file in "+dir, err)
	}
	name := tmp.Name()
	// Removing works on a full disk and is a no-op after the rename.
	defer os.Remove(name)
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return false, fail("writing "+name, err)
	}
	// Sync and Close report the delayed-allocation ENOSPC of file systems
	// such as ext4 and XFS, and NFS write errors: never rename before both
	// succeeded.
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, fail("syncing "+name, err)
	}
	if err := tmp.Close(); err != nil {
		return false, fail("closing "+name, err)
	}
	if err := os.Rename(name, path); err != nil {
		return false, fail("renaming "+name+" over the offsets file", err)
	}
	d, err := os.Open(dir)
	if err == nil {
		err = d.Sync()
		if cerr := d.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return true, &FileError{Path: path, Step: "syncing the directory " + dir,
			Kept: "the offsets file holds the new offsets but may not survive a crash", Err: err}
	}
	return true, nil
}

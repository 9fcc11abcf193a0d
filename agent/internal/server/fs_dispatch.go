package server

import (
	"errors"
	"path/filepath"
	"strings"

	"microsandbox/agent/internal/protocol"
)

// Parsing of the file operations' opening messages (PROTOCOL.md, "File operations"): strict JSON, absolute
// paths (cleaned lexically), numbers in range. The work itself runs on the operation's own goroutine.

// pathMax is the kernel's PATH_MAX: a path of this length or more is ENAMETOOLONG.
const pathMax = 4096

// fsTask is a parsed file operation: the user it runs as and its work, which returns the terminal message.
type fsTask struct {
	user string
	run  func(f *fsStream) (any, *protocol.OpError)
}

// startFs returns the handler of a file operation whose opening message parse turns into a task. A parse
// error is EINVAL naming the field (an *protocol.OpError from parse is answered as is).
func startFs(parse func(payload []byte) (*fsTask, error)) opHandler {
	return func(c *conn, sess *session, id uint32, op *protocol.Operation, payload []byte) *protocol.OpError {
		task, err := parse(payload)
		if err != nil {
			var opErr *protocol.OpError
			if errors.As(err, &opErr) {
				return opErr
			}
			return parseError(op.Open, err)
		}
		f := newFsStream(sess, id, op)
		if e := sess.open(&opStream{id: id, op: op, live: f}); e != nil {
			return e
		}
		go f.run(task)
		return nil
	}
}

// checkPath validates the path in *p (absolute, no NUL, shorter than PATH_MAX) and cleans it.
func checkPath(field string, p *string) error {
	switch v := *p; {
	case !strings.HasPrefix(v, "/"):
		return protocol.FieldErrorf(protocol.CodeInvalid, field, "%s: must be an absolute path, got %q", field, v)
	case strings.IndexByte(v, 0) >= 0:
		return protocol.FieldErrorf(protocol.CodeInvalid, field, "%s: contains a NUL byte", field)
	case len(v) >= pathMax:
		return protocol.FieldErrorf("ENAMETOOLONG", field, "%s: %d bytes, the limit is %d", field, len(v), pathMax-1)
	}
	*p = filepath.Clean(*p)
	return nil
}

// checkMode validates an optional mode (permission bits, 0..07777) and returns it, or def when absent.
func checkMode(mode *int64, def uint32) (uint32, error) {
	if mode == nil {
		return def, nil
	}
	if *mode < 0 || *mode > 0o7777 {
		return 0, protocol.FieldErrorf(protocol.CodeInvalid, "mode", "mode: must be 0..0o7777, got %d", *mode)
	}
	return uint32(*mode), nil
}

func parseFsRead(payload []byte) (*fsTask, error) {
	var r protocol.FsRead
	if err := unmarshal(payload, &r); err != nil {
		return nil, err
	}
	if err := checkPath("path", &r.Path); err != nil {
		return nil, err
	}
	if r.Offset < 0 {
		return nil, protocol.FieldErrorf(protocol.CodeInvalid, "offset", "offset: must not be negative")
	}
	if r.Length != nil && *r.Length < 0 {
		return nil, protocol.FieldErrorf(protocol.CodeInvalid, "length", "length: must not be negative")
	}
	return &fsTask{user: r.User, run: func(f *fsStream) (any, *protocol.OpError) { return f.read(&r) }}, nil
}

func parseFsWrite(payload []byte) (*fsTask, error) {
	var r protocol.FsWrite
	if err := unmarshal(payload, &r); err != nil {
		return nil, err
	}
	if err := checkPath("path", &r.Path); err != nil {
		return nil, err
	}
	if _, err := checkMode(r.Mode, 0); err != nil {
		return nil, err
	}
	return &fsTask{user: r.User, run: func(f *fsStream) (any, *protocol.OpError) { return f.write(&r) }}, nil
}

func parseFsMkdir(payload []byte) (*fsTask, error) {
	var r protocol.FsMkdir
	if err := unmarshal(payload, &r); err != nil {
		return nil, err
	}
	if err := checkPath("path", &r.Path); err != nil {
		return nil, err
	}
	mode, err := checkMode(r.Mode, 0o755)
	if err != nil {
		return nil, err
	}
	return &fsTask{user: r.User, run: func(f *fsStream) (any, *protocol.OpError) { return f.mkdir(r.Path, mode) }}, nil
}

func parseFsRemove(payload []byte) (*fsTask, error) {
	var r protocol.FsRemove
	if err := unmarshal(payload, &r); err != nil {
		return nil, err
	}
	if err := checkPath("path", &r.Path); err != nil {
		return nil, err
	}
	return &fsTask{user: r.User, run: func(f *fsStream) (any, *protocol.OpError) { return f.remove(&r) }}, nil
}

func parseFsSync(payload []byte) (*fsTask, error) {
	var r protocol.FsSync
	if err := unmarshal(payload, &r); err != nil {
		return nil, err
	}
	if err := checkPath("path", &r.Path); err != nil {
		return nil, err
	}
	return &fsTask{run: func(f *fsStream) (any, *protocol.OpError) { return f.sync(r.Path) }}, nil
}

// fsPathOp returns the parser of an operation whose message is protocol.FsPath.
func fsPathOp(work func(f *fsStream, path string) (any, *protocol.OpError)) func([]byte) (*fsTask, error) {
	return func(payload []byte) (*fsTask, error) {
		var r protocol.FsPath
		if err := unmarshal(payload, &r); err != nil {
			return nil, err
		}
		if err := checkPath("path", &r.Path); err != nil {
			return nil, err
		}
		return &fsTask{user: r.User, run: func(f *fsStream) (any, *protocol.OpError) { return work(f, r.Path) }}, nil
	}
}

// fsFromToOp returns the parser of an operation whose message is protocol.FsFromTo.
func fsFromToOp(work func(f *fsStream, from, to string) (any, *protocol.OpError)) func([]byte) (*fsTask, error) {
	return func(payload []byte) (*fsTask, error) {
		var r protocol.FsFromTo
		if err := unmarshal(payload, &r); err != nil {
			return nil, err
		}
		if err := checkPath("from", &r.From); err != nil {
			return nil, err
		}
		if err := checkPath("to", &r.To); err != nil {
			return nil, err
		}
		return &fsTask{user: r.User, run: func(f *fsStream) (any, *protocol.OpError) { return work(f, r.From, r.To) }}, nil
	}
}

package server

import (
	"errors"
	"syscall"

	"microsandbox/agent/internal/protocol"
)

// fsCodes are the errno values a file operation reports by name (PROTOCOL.md); any other is EIO.
var fsCodes = map[syscall.Errno]string{
	syscall.ENOENT:       "ENOENT",
	syscall.EISDIR:       "EISDIR",
	syscall.ENOTDIR:      "ENOTDIR",
	syscall.EACCES:       "EACCES",
	syscall.EPERM:        "EPERM",
	syscall.ENOSPC:       "ENOSPC",
	syscall.EDQUOT:       "EDQUOT",
	syscall.EEXIST:       "EEXIST",
	syscall.ENOTEMPTY:    "ENOTEMPTY",
	syscall.EROFS:        "EROFS",
	syscall.ELOOP:        "ELOOP",
	syscall.ENAMETOOLONG: "ENAMETOOLONG",
	syscall.EXDEV:        "EXDEV",
	syscall.EINVAL:       "EINVAL",
}

// fsError turns a failure of the file work into the error message naming field ("path", "from", "to").
// The message is the error's text (an *os.PathError says which call failed on which path).
func fsError(err error, field string) *protocol.OpError {
	code := protocol.CodeIO
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if c, ok := fsCodes[errno]; ok {
			code = c
		}
	}
	return protocol.FieldErrorf(code, field, "%v", err)
}

// isErrno reports whether err is (or wraps) errno.
func isErrno(err error, errno syscall.Errno) bool {
	return errors.Is(err, errno)
}

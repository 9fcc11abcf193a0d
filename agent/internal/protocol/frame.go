// Package protocol implements the host <-> agent wire format described in protocol/PROTOCOL.md: frames of
// [u32 BE length][u32 BE stream][u8 kind][payload], and the JSON control messages they carry.
package protocol

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Protocol constants, mirrored from protocol/vectors.json (and operations.json for the message limits).
const (
	// HeaderSize is the number of bytes before a frame's payload.
	HeaderSize = 9
	// MaxPayload is the largest payload a frame may carry (1 MiB).
	MaxPayload = 1 << 20
	// InitialWindow is the credit each side starts with, per stream and direction, for data bytes.
	InitialWindow = 256 << 10
	// MaxDataChunk is the largest data payload a sender puts in one frame.
	MaxDataChunk = 64 << 10
	// GuestStreamBase is the first stream id reserved for streams the guest opens.
	GuestStreamBase = 0x80000000
	// MinVersion is the lowest protocol version this agent speaks.
	MinVersion = 1
	// MaxVersion is the highest protocol version this agent speaks.
	MaxVersion = 1
)

// Kind is a frame kind.
type Kind uint8

// Frame kinds.
const (
	KindHello   Kind = 0x01
	KindControl Kind = 0x02
	KindStdin   Kind = 0x03
	KindStdout  Kind = 0x04
	KindStderr  Kind = 0x05
	KindWindow  Kind = 0x06
	// KindContinue carries a leading part of a CONTROL payload (host to guest only); the next CONTROL frame
	// of the stream carries the last part.
	KindContinue Kind = 0x07
)

// Valid reports whether k is a defined frame kind.
func (k Kind) Valid() bool { return k >= KindHello && k <= KindContinue }

// String returns the kind's protocol name.
func (k Kind) String() string {
	switch k {
	case KindHello:
		return "HELLO"
	case KindControl:
		return "CONTROL"
	case KindStdin:
		return "STDIN"
	case KindStdout:
		return "STDOUT"
	case KindStderr:
		return "STDERR"
	case KindWindow:
		return "WINDOW"
	case KindContinue:
		return "CONTINUE"
	}
	return fmt.Sprintf("kind(0x%02x)", uint8(k))
}

// Frame is one decoded frame.
type Frame struct {
	Stream  uint32
	Kind    Kind
	Payload []byte
}

// Error classes of a malformed byte stream; they match the "error" names in vectors.json.
const (
	ErrOversize    = "oversize"
	ErrUnknownKind = "unknown-kind"
	ErrTruncated   = "truncated"
	ErrBadWindow   = "bad-window"
	ErrBadStream   = "bad-stream"
)

// FrameError is a framing violation. After one, the connection cannot be resynchronised.
type FrameError struct {
	// Class is one of the Err* class names.
	Class string
	// Msg describes the violation.
	Msg string
}

// Error implements error.
func (e *FrameError) Error() string { return "protocol " + e.Class + ": " + e.Msg }

// ClassOf returns the FrameError class of err, or "" if err is not a FrameError.
func ClassOf(err error) string {
	var fe *FrameError
	if errors.As(err, &fe) {
		return fe.Class
	}
	return ""
}

// AppendFrame appends the encoding of one frame to dst. It panics if payload exceeds MaxPayload (a bug).
func AppendFrame(dst []byte, stream uint32, kind Kind, payload []byte) []byte {
	if len(payload) > MaxPayload {
		panic(fmt.Sprintf("protocol: frame payload %d > %d", len(payload), MaxPayload))
	}
	var h [HeaderSize]byte
	binary.BigEndian.PutUint32(h[0:4], uint32(len(payload)))
	binary.BigEndian.PutUint32(h[4:8], stream)
	h[8] = byte(kind)
	dst = append(dst, h[:]...)
	return append(dst, payload...)
}

// EncodeFrame returns the encoding of one frame.
func EncodeFrame(stream uint32, kind Kind, payload []byte) []byte {
	return AppendFrame(make([]byte, 0, HeaderSize+len(payload)), stream, kind, payload)
}

// WindowPayload returns the 4-byte payload of a WINDOW frame granting credit bytes.
func WindowPayload(credit uint32) []byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], credit)
	return b[:]
}

// WindowCredit returns the credit carried by a (validated) WINDOW frame.
func (f Frame) WindowCredit() uint32 { return binary.BigEndian.Uint32(f.Payload) }

// Decoder reads frames from a byte stream.
type Decoder struct {
	r *bufio.Reader
}

// NewDecoder returns a Decoder reading from r.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: bufio.NewReaderSize(r, 128<<10)}
}

// Next reads one frame. It returns io.EOF when the stream ends cleanly between frames, a *FrameError for a
// framing violation (including a stream ending inside a frame), or the underlying read error. The payload
// is a fresh slice owned by the caller.
func (d *Decoder) Next() (Frame, error) {
	var h [HeaderSize]byte
	n, err := io.ReadFull(d.r, h[:])
	if err != nil {
		if n == 0 && err == io.EOF {
			return Frame{}, io.EOF
		}
		if err == io.ErrUnexpectedEOF {
			return Frame{}, &FrameError{ErrTruncated, fmt.Sprintf("stream ended inside a frame header (%d bytes)", n)}
		}
		return Frame{}, err
	}
	length := binary.BigEndian.Uint32(h[0:4])
	if length > MaxPayload {
		return Frame{}, &FrameError{ErrOversize, fmt.Sprintf("frame length %d exceeds the maximum %d", length, MaxPayload)}
	}
	f := Frame{Stream: binary.BigEndian.Uint32(h[4:8]), Kind: Kind(h[8])}
	if !f.Kind.Valid() {
		return Frame{}, &FrameError{ErrUnknownKind, fmt.Sprintf("unknown frame kind 0x%02x", h[8])}
	}
	f.Payload = make([]byte, length)
	if m, err := io.ReadFull(d.r, f.Payload); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return Frame{}, &FrameError{ErrTruncated, fmt.Sprintf("stream ended inside a frame payload (%d of %d bytes)", m, length)}
		}
		return Frame{}, err
	}
	if err := Validate(f); err != nil {
		return Frame{}, err
	}
	return f, nil
}

// Validate checks the per-kind rules that do not depend on connection state.
func Validate(f Frame) error {
	if f.Kind == KindWindow && len(f.Payload) != 4 {
		return &FrameError{ErrBadWindow, fmt.Sprintf("WINDOW payload is %d bytes, expected 4", len(f.Payload))}
	}
	if f.Kind == KindHello && f.Stream != 0 {
		return &FrameError{ErrBadStream, fmt.Sprintf("HELLO on stream %d, expected 0", f.Stream)}
	}
	return nil
}

// HelloMarker is what follows the length of every HELLO frame: stream 0, kind HELLO, and the payload's
// first bytes `{"type":"hello"` (HELLO payloads start exactly so). A receiver that lost the frame
// boundaries (a reconnect on the virtio port) resynchronises by looking for it at offset 4 of a frame.
var HelloMarker = []byte("\x00\x00\x00\x00\x01{\"type\":\"hello\"")

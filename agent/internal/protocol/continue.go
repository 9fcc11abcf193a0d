package protocol

import "fmt"

// MaxPendingControl bounds the bytes an Assembler holds for all streams' unfinished messages together (a host
// sends a message's frames back to back, so more than one unfinished message at a time is already unusual).
const MaxPendingControl = 4 * MaxControlMessage

// Assembler reassembles CONTROL messages sent as CONTINUE parts followed by a final CONTROL frame. Memory is
// bounded by MaxControlMessage per stream and MaxPendingControl in all. It is not safe for concurrent use.
type Assembler struct {
	parts map[uint32][]byte
	total int
}

// Accept feeds one decoded frame. It returns the frame to handle and true: the frame itself, or for a CONTROL
// frame that ends a CONTINUE sequence, that frame carrying the whole message. It returns false for a CONTINUE
// part it kept, and a *FrameError for a violation: a message over MaxControlMessage (or over
// MaxPendingControl pending in all), or another frame of the stream inside a message.
//
// A HELLO starts a new session: it drops every unfinished message (a host that reconnected without the guest
// noticing may have left one behind) and is returned as is.
func (a *Assembler) Accept(f Frame) (Frame, bool, error) {
	if f.Kind == KindHello {
		a.Reset()
		return f, true, nil
	}
	pending, inMessage := a.parts[f.Stream]
	switch {
	case f.Kind == KindContinue:
		size := len(pending) + len(f.Payload)
		if size > MaxControlMessage {
			return Frame{}, false, &FrameError{ErrOversize,
				fmt.Sprintf("control message on stream %d over %d bytes", f.Stream, MaxControlMessage)}
		}
		if a.total+len(f.Payload) > MaxPendingControl {
			return Frame{}, false, &FrameError{ErrOversize,
				fmt.Sprintf("unfinished control messages over %d bytes in all", MaxPendingControl)}
		}
		if a.parts == nil {
			a.parts = map[uint32][]byte{}
		}
		a.parts[f.Stream] = append(pending, f.Payload...)
		a.total += len(f.Payload)
		return Frame{}, false, nil
	case !inMessage:
		return f, true, nil
	case f.Kind != KindControl:
		return Frame{}, false, &FrameError{ErrTruncated,
			fmt.Sprintf("stream %d: a %s frame inside a control message", f.Stream, f.Kind)}
	}
	delete(a.parts, f.Stream)
	a.total -= len(pending)
	if len(pending)+len(f.Payload) > MaxControlMessage {
		return Frame{}, false, &FrameError{ErrOversize,
			fmt.Sprintf("control message on stream %d over %d bytes", f.Stream, MaxControlMessage)}
	}
	f.Payload = append(pending, f.Payload...)
	return f, true, nil
}

// Pending returns the bytes held for unfinished messages.
func (a *Assembler) Pending() int { return a.total }

// Reset drops every unfinished message.
func (a *Assembler) Reset() {
	a.parts = nil
	a.total = 0
}

package protocol

import (
	"encoding/json"
	"fmt"
)

// Message types carried in HELLO and CONTROL payloads.
const (
	TypeHello          = "hello"
	TypePing           = "ping"
	TypePong           = "pong"
	TypeShutdown       = "shutdown"
	TypeShutdownAck    = "shutdown.ack"
	TypeInit           = "init"
	TypeInitDone       = "init.done"
	TypeExecStart      = "exec.start"
	TypeExecStarted    = "exec.started"
	TypeExecExited     = "exec.exited"
	TypeExecSignal     = "exec.signal"
	TypeNetConfigure   = "net.configure"
	TypeTemplatePark   = "template.park"
	TypeTemplateResume = "template.resume"
	TypeExecResize     = "exec.resize"
	TypeStreamCancel   = "stream.cancel"
	TypeStats          = "stats"
	TypeStatsResult    = "stats.result"
	TypeMetrics        = "metrics"
	TypeMetricsRes     = "metrics.result"
	TypeSupMetrics     = "sup.metrics"
	TypeSupMetricsRs   = "sup.metrics.result"
	TypeSupStats       = "sup.stats"
	TypeSupStatsRes    = "sup.stats.result"
	TypeSupDrain       = "sup.drain"
	TypeSupDetach      = "sup.detach"
	TypeSupOk          = "sup.ok"
	TypeError          = "error"

	TypeFsRead         = "fs.read"
	TypeFsWrite        = "fs.write"
	TypeFsList         = "fs.list"
	TypeFsStat         = "fs.stat"
	TypeFsMkdir        = "fs.mkdir"
	TypeFsRemove       = "fs.remove"
	TypeFsCopy         = "fs.copy"
	TypeFsRename       = "fs.rename"
	TypeFsArchiveRead  = "fs.archive.read"
	TypeFsArchiveWrite = "fs.archive.write"
	TypeFsSync         = "fs.sync"
	TypeFsDone         = "fs.done"
	TypeFsStatResult   = "fs.stat.result"
)

// Error codes of the "error" message.
const (
	CodeInvalid  = "EINVAL"
	CodeNotFound = "ENOENT"
	CodeAccess   = "EACCES"
	CodeNotDir   = "ENOTDIR"
	CodeUser     = "EUSER"
	CodeAlready  = "EALREADY"
	CodeNoDevice = "ENODEV"
	CodeIO       = "EIO"
	CodeNotSup   = "ENOTSUP"
	CodeAgain    = "EAGAIN"
	CodeTooBig   = "E2BIG"
	// CodeCanceled ends an operation the host cancelled (stream.cancel) or whose session ended.
	CodeCanceled = "ECANCELED"
)

// Envelope is the part every control message has: its type.
type Envelope struct {
	Type string `json:"type"`
}

// HostHello is the host's HELLO.
type HostHello struct {
	Type       string `json:"type"`
	MinVersion uint32 `json:"minVersion"`
	MaxVersion uint32 `json:"maxVersion"`
	// TimeMs is the host wall clock in ms since the epoch (0: not sent).
	TimeMs int64 `json:"timeMs"`
}

// AgentHello is the agent's HELLO answer.
type AgentHello struct {
	Type         string   `json:"type"`
	MinVersion   uint32   `json:"minVersion"`
	MaxVersion   uint32   `json:"maxVersion"`
	Version      uint32   `json:"version"`
	AgentVersion string   `json:"agentVersion"`
	Features     []string `json:"features"`
	UptimeMs     int64    `json:"uptimeMs"`
}

// Ping asks for a Pong with the same id.
type Ping struct {
	Type string          `json:"type"`
	ID   json.RawMessage `json:"id,omitempty"`
}

// Pong answers a Ping.
type Pong struct {
	Type string          `json:"type"`
	ID   json.RawMessage `json:"id,omitempty"`
}

// RootSpec says how init finds and mounts the root disk.
type RootSpec struct {
	Serial   string `json:"serial"`
	Fstype   string `json:"fstype"`
	Readonly bool   `json:"readonly"`
}

// Kinds of GuestMount.
const (
	MountVirtiofs = "virtiofs"
	MountDisk     = "disk"
	MountTmpfs    = "tmpfs"
)

// GuestMount is one mount init makes after the root switch, in plan order: a virtio-fs share (Tag), an ext4
// disk found by its virtio-blk Serial, or a tmpfs (bounded by SizeMib when set).
type GuestMount struct {
	Kind     string `json:"kind"`
	Target   string `json:"target"`
	Tag      string `json:"tag,omitempty"`
	Serial   string `json:"serial,omitempty"`
	SizeMib  *int64 `json:"sizeMib,omitempty"`
	Readonly bool   `json:"readonly"`
}

// Init prepares the guest (once per boot).
type Init struct {
	Type     string       `json:"type"`
	Hostname string       `json:"hostname"`
	Root     *RootSpec    `json:"root,omitempty"`
	Mounts   []GuestMount `json:"mounts,omitempty"`
}

// TemplateResume makes a guest restored from a VM template its own: its hostname, and fresh entropy mixed
// into the kernel's pool and the CRNG reseeded (every sandbox restored from one template starts with the same
// RNG state until then). Entropy is base64, 32 to 512 bytes decoded. ResolvConf and Hosts (both or neither)
// replace the contents of the files a net.configure run in the template installed: the template's network
// (loopback, NIC) is then the sandbox's, and no net.configure follows.
type TemplateResume struct {
	Type       string  `json:"type"`
	Hostname   string  `json:"hostname"`
	Entropy    string  `json:"entropy"`
	ResolvConf *string `json:"resolvConf,omitempty"`
	Hosts      *string `json:"hosts,omitempty"`
}

// NetFiles are the contents of /etc/resolv.conf and /etc/hosts as the network set-up provides them.
type NetFiles struct {
	ResolvConf string
	Hosts      string
}

// NetInterface is the guest side of the virtual link: the NIC (found by MAC), its address and the gateway.
type NetInterface struct {
	Mac          string `json:"mac"`
	Address      string `json:"address"`
	PrefixLength int    `json:"prefixLength"`
	Gateway      string `json:"gateway"`
	Mtu          int    `json:"mtu"`
}

// NetConfigure configures the guest network (once per boot): loopback, the NIC when Interface is set, and the
// resolv.conf and hosts files bind-mounted over /etc/resolv.conf and /etc/hosts.
type NetConfigure struct {
	Type       string        `json:"type"`
	Interface  *NetInterface `json:"interface,omitempty"`
	ResolvConf string        `json:"resolvConf"`
	Hosts      string        `json:"hosts"`
}

// ExecStart starts a process.
type ExecStart struct {
	Type      string            `json:"type"`
	Argv      []string          `json:"argv"`
	Env       map[string]string `json:"env,omitempty"`
	Cwd       string            `json:"cwd,omitempty"`
	User      string            `json:"user,omitempty"`
	TimeoutMs int64             `json:"timeoutMs,omitempty"`
	Stdin     string            `json:"stdin,omitempty"`
	Tty       *TtySize          `json:"tty,omitempty"`
}

// TtySize is the window size of an exec's pseudo-terminal.
type TtySize struct {
	Rows int `json:"rows"`
	Cols int `json:"cols"`
}

// ExecStarted reports the pid of a started process.
type ExecStarted struct {
	Type string `json:"type"`
	Pid  int    `json:"pid"`
}

// ExecExited is the terminal message of an exec.
type ExecExited struct {
	Type     string `json:"type"`
	Code     int    `json:"code"`
	Signal   int    `json:"signal"`
	TimedOut bool   `json:"timedOut"`
}

// ExecSignal asks the agent to signal a running exec's process group.
type ExecSignal struct {
	Type   string `json:"type"`
	Signal int    `json:"signal"`
}

// ExecResize sets the window size of a running exec's pseudo-terminal.
type ExecResize struct {
	Type string `json:"type"`
	Rows int    `json:"rows"`
	Cols int    `json:"cols"`
}

// StatsResult answers stats: the operations open in the session, the stats operation itself excluded.
type StatsResult struct {
	Type    string `json:"type"`
	Streams int    `json:"streams"`
}

// MetricsResult answers metrics: the guest's own counters, as the raw text of /proc/stat, /proc/meminfo,
// /proc/diskstats and /proc/net/dev, each cut at MaxProcText bytes. The host parses them strictly.
type MetricsResult struct {
	Type      string `json:"type"`
	Stat      string `json:"stat"`
	Meminfo   string `json:"meminfo"`
	Diskstats string `json:"diskstats"`
	NetDev    string `json:"netDev"`
}

// MaxProcText bounds each /proc file carried by metrics.result.
const MaxProcText = 64 << 10

// ErrorMsg is the terminal message of a failed operation.
type ErrorMsg struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// Field names the request field that failed ("" when none).
	Field string `json:"field,omitempty"`
	// Error is the structured error the supervisor attaches to its own errors; the agent never sets it.
	Error json.RawMessage `json:"error,omitempty"`
}

// Simple is a message without fields besides its type (shutdown, shutdown.ack, init.done, stream.cancel,
// stats).
type Simple struct {
	Type string `json:"type"`
}

// Marshal encodes a message as JSON. Messages are plain structs, so encoding cannot fail; a failure is a bug.
func Marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("protocol: marshal: " + err.Error())
	}
	return b
}

// Negotiate returns the version two peers with ranges [aMin, aMax] and [bMin, bMax] speak, or 0 when the
// ranges do not overlap: min(aMax, bMax) if it is at least max(aMin, bMin).
func Negotiate(aMin, aMax, bMin, bMax uint32) uint32 {
	chosen := aMax
	if bMax < chosen {
		chosen = bMax
	}
	lo := aMin
	if bMin > lo {
		lo = bMin
	}
	if chosen < lo {
		return 0
	}
	return chosen
}

// OpError is an operation failure that becomes an "error" message: Code is one of the Code* constants, Field
// the request field that failed ("" when none).
type OpError struct {
	Code    string
	Message string
	Field   string
}

// Error implements error.
func (e *OpError) Error() string { return e.Code + ": " + e.Message }

// Msg returns the error as a wire message.
func (e *OpError) Msg() ErrorMsg {
	return ErrorMsg{Type: TypeError, Code: e.Code, Message: e.Message, Field: e.Field}
}

// Errorf returns an *OpError with a formatted message.
func Errorf(code, format string, args ...any) *OpError {
	return &OpError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an *OpError naming the request field that failed, with a formatted message.
func FieldErrorf(code, field, format string, args ...any) *OpError {
	return &OpError{Code: code, Message: fmt.Sprintf(format, args...), Field: field}
}

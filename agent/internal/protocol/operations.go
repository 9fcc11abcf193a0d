package protocol

// The operation table, mirrored from protocol/operations.json (the single source of truth; operations_test.go
// checks that this table equals it, and that every message struct carries exactly the fields listed there).

// Limits of the operation table.
const (
	// MaxControlMessage is the largest CONTROL message, whole (CONTINUE parts plus the final CONTROL frame).
	MaxControlMessage = 8 << 20
	// MaxStreamsPerSession bounds the operations open at once in one session.
	MaxStreamsPerSession = 1024
)

// Who sends a message, or who handles an operation.
const (
	// FromHost marks a message the host sends.
	FromHost = "host"
	// FromAgent marks a message the agent (or the supervisor on its behalf) sends.
	FromAgent = "agent"
	// HandlerAgent marks an operation the agent answers.
	HandlerAgent = "agent"
	// HandlerSupervisor marks an operation the host-side supervisor answers itself (never sent to the agent).
	HandlerSupervisor = "supervisor"
	// HandlerBoth marks a connection request that both the agent and the supervisor answer.
	HandlerBoth = "both"
)

// Features of the agent HELLO.
const (
	FeatureExec            = "exec"
	FeatureNet             = "net"
	FeatureExecTty         = "exec.tty"
	FeatureStreamCancel    = "stream.cancel"
	FeatureStats           = "stats"
	FeatureMetrics         = "metrics"
	FeatureSupMetrics      = "sup.metrics"
	FeatureControlContinue = "control.continue"
	FeatureSupStats        = "sup.stats"
	FeatureSupDrain        = "sup.drain"
	FeatureSupDetach       = "sup.detach"
	FeatureFs              = "fs"
	FeatureMounts          = "mounts"
	FeatureTemplate        = "template"
	FeatureFsSync          = "fs.sync"
)

// MessageSpec describes one message type: who sends it and the fields it may carry besides "type".
type MessageSpec struct {
	From   string
	Fields []string
}

// ConnRequest is a stream-0 request and its reply.
type ConnRequest struct {
	Request string
	Reply   string
	Handler string
}

// FollowUp is a message the host may send on an open operation's stream, gated by its own feature.
type FollowUp struct {
	Type    string
	Feature string
}

// Operation is one row of the operation table.
type Operation struct {
	// Open is the type of the message that opens the operation's stream.
	Open string
	// Handler is HandlerAgent or HandlerSupervisor.
	Handler string
	// Feature is the HELLO feature that gates the operation ("" when it is always available).
	Feature string
	// Clients reports whether SDK clients may open the operation through the supervisor.
	Clients bool
	// FollowUps are the messages the host may send on the open stream.
	FollowUps []FollowUp
	// Replies are the agent's non-terminal messages.
	Replies []string
	// Terminal are the messages that end the operation (besides "error").
	Terminal []string
	// Input and Output report whether the stream carries STDIN, and STDOUT/STDERR, data.
	Input, Output bool
}

// AllowsFollowUp reports whether typ is a follow-up of the operation.
func (op *Operation) AllowsFollowUp(typ string) bool {
	for _, f := range op.FollowUps {
		if f.Type == typ {
			return true
		}
	}
	return false
}

// Messages lists every message type of the table (HELLO payloads are not in it).
var Messages = map[string]MessageSpec{
	TypePing:           {FromHost, []string{"id"}},
	TypePong:           {FromAgent, []string{"id"}},
	TypeShutdown:       {FromHost, []string{}},
	TypeShutdownAck:    {FromAgent, []string{}},
	TypeInit:           {FromHost, []string{"hostname", "root", "mounts"}},
	TypeInitDone:       {FromAgent, []string{}},
	TypeNetConfigure:   {FromHost, []string{"interface", "resolvConf", "hosts"}},
	TypeTemplatePark:   {FromHost, []string{}},
	TypeTemplateResume: {FromHost, []string{"hostname", "entropy", "resolvConf", "hosts"}},
	TypeExecStart:      {FromHost, []string{"argv", "env", "cwd", "user", "timeoutMs", "stdin", "tty"}},
	TypeExecStarted:    {FromAgent, []string{"pid"}},
	TypeExecExited:     {FromAgent, []string{"code", "signal", "timedOut"}},
	TypeExecSignal:     {FromHost, []string{"signal"}},
	TypeExecResize:     {FromHost, []string{"rows", "cols"}},
	TypeStreamCancel:   {FromHost, []string{}},
	TypeStats:          {FromHost, []string{}},
	TypeStatsResult:    {FromAgent, []string{"streams"}},
	TypeMetrics:        {FromHost, []string{}},
	TypeMetricsRes:     {FromAgent, []string{"stat", "meminfo", "diskstats", "netDev"}},
	TypeSupStats:       {FromHost, []string{}},
	TypeSupStatsRes:    {FromAgent, []string{"clients", "streams", "agentStreams"}},
	TypeSupMetrics:     {FromHost, []string{}},
	TypeSupMetricsRs:   {FromAgent, supMetricsFields},
	TypeSupDrain:       {FromHost, []string{}},
	TypeSupDetach:      {FromHost, []string{}},
	TypeSupOk:          {FromAgent, []string{}},
	TypeError:          {FromAgent, []string{"code", "message", "field", "error"}},

	TypeFsRead:         {FromHost, []string{"path", "offset", "length", "user"}},
	TypeFsWrite:        {FromHost, []string{"path", "mode", "append", "user"}},
	TypeFsList:         {FromHost, []string{"path", "user"}},
	TypeFsStat:         {FromHost, []string{"path", "user"}},
	TypeFsMkdir:        {FromHost, []string{"path", "mode", "user"}},
	TypeFsRemove:       {FromHost, []string{"path", "recursive", "user"}},
	TypeFsCopy:         {FromHost, []string{"from", "to", "user"}},
	TypeFsRename:       {FromHost, []string{"from", "to", "user"}},
	TypeFsArchiveRead:  {FromHost, []string{"path", "user"}},
	TypeFsArchiveWrite: {FromHost, []string{"path", "user"}},
	TypeFsSync:         {FromHost, []string{"path"}},
	TypeFsDone:         {FromAgent, []string{"bytes"}},
	TypeFsStatResult:   {FromAgent, []string{"kind", "size", "mode", "uid", "gid", "readonly", "modified", "created", "target"}},
}

// supMetricsFields are the fields of sup.metrics.result (the supervisor's answer; the agent never sends it).
var supMetricsFields = []string{"cpuPercent", "guestCpuPercent", "memoryBytes", "memoryLimitBytes",
	"memoryHostResidentBytes", "diskReadBytes", "diskWriteBytes", "netRxBytes", "netTxBytes", "uptimeMs",
	"timestampMs"}

// Connection lists the stream-0 requests.
var Connection = []ConnRequest{
	{TypePing, TypePong, HandlerBoth},
	{TypeShutdown, TypeShutdownAck, HandlerBoth},
}

// Operations lists every operation, in the order of operations.json.
var Operations = []Operation{
	{Open: TypeInit, Handler: HandlerAgent, FollowUps: []FollowUp{}, Replies: []string{},
		Terminal: []string{TypeInitDone}},
	{Open: TypeNetConfigure, Handler: HandlerAgent, Feature: FeatureNet, FollowUps: []FollowUp{}, Replies: []string{},
		Terminal: []string{TypeInitDone}},
	{Open: TypeTemplatePark, Handler: HandlerAgent, Feature: FeatureTemplate, FollowUps: []FollowUp{},
		Replies: []string{}, Terminal: []string{TypeInitDone}},
	{Open: TypeTemplateResume, Handler: HandlerAgent, Feature: FeatureTemplate, FollowUps: []FollowUp{},
		Replies: []string{}, Terminal: []string{TypeInitDone}},
	{Open: TypeExecStart, Handler: HandlerAgent, Feature: FeatureExec, Clients: true,
		FollowUps: []FollowUp{
			{TypeExecSignal, FeatureExec},
			{TypeExecResize, FeatureExecTty},
			{TypeStreamCancel, FeatureStreamCancel},
		},
		Replies: []string{TypeExecStarted}, Terminal: []string{TypeExecExited}, Input: true, Output: true},
	{Open: TypeStats, Handler: HandlerAgent, Feature: FeatureStats, Clients: true, FollowUps: []FollowUp{},
		Replies: []string{}, Terminal: []string{TypeStatsResult}},
	{Open: TypeMetrics, Handler: HandlerAgent, Feature: FeatureMetrics, FollowUps: []FollowUp{},
		Replies: []string{}, Terminal: []string{TypeMetricsRes}},
	{Open: TypeSupStats, Handler: HandlerSupervisor, Feature: FeatureSupStats, Clients: true,
		FollowUps: []FollowUp{}, Replies: []string{}, Terminal: []string{TypeSupStatsRes}},
	{Open: TypeSupMetrics, Handler: HandlerSupervisor, Feature: FeatureSupMetrics, Clients: true,
		FollowUps: []FollowUp{}, Replies: []string{}, Terminal: []string{TypeSupMetricsRs}},
	{Open: TypeSupDrain, Handler: HandlerSupervisor, Feature: FeatureSupDrain, Clients: true,
		FollowUps: []FollowUp{}, Replies: []string{}, Terminal: []string{TypeSupOk}},
	{Open: TypeSupDetach, Handler: HandlerSupervisor, Feature: FeatureSupDetach, Clients: true,
		FollowUps: []FollowUp{}, Replies: []string{}, Terminal: []string{TypeSupOk}},
	fsOp(TypeFsRead, true, false, true),
	fsOp(TypeFsWrite, true, true, false),
	fsOp(TypeFsList, true, false, true),
	fsOp(TypeFsStat, false, false, false, TypeFsStatResult),
	fsOp(TypeFsMkdir, false, false, false),
	fsOp(TypeFsRemove, false, false, false),
	fsOp(TypeFsCopy, false, false, false),
	fsOp(TypeFsRename, false, false, false),
	fsOp(TypeFsArchiveRead, true, false, true),
	fsOp(TypeFsArchiveWrite, true, true, false),
	// The supervisor's own: a barrier before it records patches as applied.
	{Open: TypeFsSync, Handler: HandlerAgent, Feature: FeatureFsSync, Clients: false,
		FollowUps: []FollowUp{}, Replies: []string{}, Terminal: []string{TypeFsDone}},
}

// fsOp is the row of a file operation: feature fs, open to clients, no replies, stream.cancel as its only
// follow-up when cancellable, and fs.done as its end unless terminal names another.
func fsOp(open string, cancellable, input, output bool, terminal ...string) Operation {
	if len(terminal) == 0 {
		terminal = []string{TypeFsDone}
	}
	followUps := []FollowUp{}
	if cancellable {
		followUps = append(followUps, FollowUp{TypeStreamCancel, FeatureStreamCancel})
	}
	return Operation{Open: open, Handler: HandlerAgent, Feature: FeatureFs, Clients: true, FollowUps: followUps,
		Replies: []string{}, Terminal: terminal, Input: input, Output: output}
}

// AgentFeatures are the features this agent lists in its HELLO.
var AgentFeatures = []string{FeatureExec, FeatureNet, FeatureExecTty, FeatureStreamCancel, FeatureStats,
	FeatureControlContinue, FeatureFs, FeatureMetrics, FeatureMounts, FeatureTemplate, FeatureFsSync}

// OperationFor returns the operation opened by messages of type typ, or nil.
func OperationFor(typ string) *Operation {
	for i := range Operations {
		if Operations[i].Open == typ {
			return &Operations[i]
		}
	}
	return nil
}

// IsFollowUp reports whether typ is a follow-up of some operation.
func IsFollowUp(typ string) bool {
	for i := range Operations {
		if Operations[i].AllowsFollowUp(typ) {
			return true
		}
	}
	return false
}

// MessageStructs maps each message type the agent parses or sends to a value of its Go struct, for the test
// that compares the structs' json tags with the table. The supervisor's own messages (sup.*) have no struct
// in the agent.
var MessageStructs = map[string]any{
	TypePing:           Ping{},
	TypePong:           Pong{},
	TypeShutdown:       Simple{},
	TypeShutdownAck:    Simple{},
	TypeInit:           Init{},
	TypeInitDone:       Simple{},
	TypeNetConfigure:   NetConfigure{},
	TypeTemplatePark:   Simple{},
	TypeTemplateResume: TemplateResume{},
	TypeExecStart:      ExecStart{},
	TypeExecStarted:    ExecStarted{},
	TypeExecExited:     ExecExited{},
	TypeExecSignal:     ExecSignal{},
	TypeExecResize:     ExecResize{},
	TypeStreamCancel:   Simple{},
	TypeStats:          Simple{},
	TypeStatsResult:    StatsResult{},
	TypeMetrics:        Simple{},
	TypeMetricsRes:     MetricsResult{},
	TypeError:          ErrorMsg{},

	TypeFsRead:         FsRead{},
	TypeFsWrite:        FsWrite{},
	TypeFsList:         FsPath{},
	TypeFsStat:         FsPath{},
	TypeFsMkdir:        FsMkdir{},
	TypeFsRemove:       FsRemove{},
	TypeFsCopy:         FsFromTo{},
	TypeFsRename:       FsFromTo{},
	TypeFsArchiveRead:  FsPath{},
	TypeFsArchiveWrite: FsPath{},
	TypeFsSync:         FsSync{},
	TypeFsDone:         FsDone{},
	TypeFsStatResult:   FsStatResult{},
}

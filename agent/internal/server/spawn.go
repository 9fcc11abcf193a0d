package server

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"microsandbox/agent/internal/protocol"
	"microsandbox/agent/internal/users"
)

// maxTimeoutMs bounds timeoutMs (about 31 years) so the duration cannot overflow.
const maxTimeoutMs = 1e12

// DefaultPath is the PATH of a process whose env does not set one.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// spawnSpec is a validated exec.start, ready for ForkExec.
type spawnSpec struct {
	path string // resolved executable
	argv []string
	env  []string
	dir  string
	cred *syscall.Credential // nil: keep the agent's identity
	pipe bool                // stdin "pipe"
}

// prepare validates req and resolves user, environment, cwd and executable.
func prepare(req *protocol.ExecStart, etcDir string) (*spawnSpec, *protocol.OpError) {
	if req.Tty != nil {
		return nil, protocol.Errorf(protocol.CodeInvalid, "tty: pseudo-terminals are not supported by this agent")
	}
	if len(req.Argv) == 0 || req.Argv[0] == "" {
		return nil, protocol.Errorf(protocol.CodeInvalid, "argv: must be a non-empty array with a non-empty argv[0]")
	}
	for _, a := range req.Argv {
		if strings.IndexByte(a, 0) >= 0 {
			return nil, protocol.Errorf(protocol.CodeInvalid, "argv: contains a NUL byte")
		}
	}
	if req.TimeoutMs < 0 || req.TimeoutMs > maxTimeoutMs {
		return nil, protocol.Errorf(protocol.CodeInvalid, "timeoutMs: must be between 0 and %d", int64(maxTimeoutMs))
	}
	spec := &spawnSpec{argv: req.Argv}
	switch req.Stdin {
	case "", "null":
	case "pipe":
		spec.pipe = true
	default:
		return nil, protocol.Errorf(protocol.CodeInvalid, "stdin: must be \"null\" or \"pipe\"")
	}
	id, err := users.Resolve(req.User, etcDir)
	if err != nil {
		return nil, protocol.Errorf(protocol.CodeUser, "%v", err)
	}
	if opErr := spec.setCredential(id, req.User); opErr != nil {
		return nil, opErr
	}
	env, opErr := buildEnv(id.Home, req.Env)
	if opErr != nil {
		return nil, opErr
	}
	spec.env = env
	if spec.dir, opErr = resolveCwd(req.Cwd, id.Home); opErr != nil {
		return nil, opErr
	}
	if spec.path, opErr = lookPath(req.Argv[0], envValue(env, "PATH"), spec.dir); opErr != nil {
		return nil, opErr
	}
	return spec, nil
}

func (s *spawnSpec) setCredential(id *users.Identity, spec string) *protocol.OpError {
	if os.Geteuid() == 0 {
		s.cred = &syscall.Credential{Uid: id.Uid, Gid: id.Gid, Groups: id.Groups}
		return nil
	}
	if id.Uid != uint32(os.Geteuid()) {
		return protocol.Errorf(protocol.CodeAccess, "cannot run as user %q: the agent is not root", spec)
	}
	return nil
}

// buildEnv merges extra over the base environment (PATH, HOME, TERM) and returns sorted KEY=VALUE pairs.
func buildEnv(home string, extra map[string]string) ([]string, *protocol.OpError) {
	m := map[string]string{"PATH": DefaultPath, "HOME": home, "TERM": "xterm"}
	for k, v := range extra {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.IndexByte(v, 0) >= 0 {
			return nil, protocol.Errorf(protocol.CodeInvalid, "env: invalid variable %q", k)
		}
		m[k] = v
	}
	env := make([]string, 0, len(m))
	for k, v := range m {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env, nil
}

func envValue(env []string, key string) string {
	for _, kv := range env {
		if strings.HasPrefix(kv, key+"=") {
			return kv[len(key)+1:]
		}
	}
	return ""
}

// resolveCwd checks the requested working directory, or picks the home directory (else "/").
func resolveCwd(cwd, home string) (string, *protocol.OpError) {
	if cwd == "" {
		if st, err := os.Stat(home); err == nil && st.IsDir() {
			return home, nil
		}
		return "/", nil
	}
	if strings.IndexByte(cwd, 0) >= 0 {
		return "", protocol.Errorf(protocol.CodeInvalid, "cwd: contains a NUL byte")
	}
	if !filepath.IsAbs(cwd) {
		cwd = "/" + cwd
	}
	st, err := os.Stat(cwd)
	switch {
	case err == nil && !st.IsDir():
		return "", protocol.Errorf(protocol.CodeNotDir, "cwd is not a directory: %s", cwd)
	case err == nil:
		return cwd, nil
	case errors.Is(err, syscall.ENOTDIR):
		return "", protocol.Errorf(protocol.CodeNotDir, "cwd is not a directory: %s", cwd)
	case errors.Is(err, syscall.EACCES):
		return "", protocol.Errorf(protocol.CodeAccess, "cwd is not accessible: %s", cwd)
	default:
		return "", protocol.Errorf(protocol.CodeNotFound, "cwd not found: %s", cwd)
	}
}

// lookPath finds name like a shell: names containing "/" are used as given (relative to dir), others are
// searched in pathEnv. An empty PATH element means the working directory.
func lookPath(name, pathEnv, dir string) (string, *protocol.OpError) {
	notFound := protocol.Errorf(protocol.CodeNotFound, "command not found: %s", name)
	if strings.Contains(name, "/") {
		if _, err := os.Stat(abs(name, dir)); err != nil {
			return "", notFound
		}
		return name, nil
	}
	var denied *protocol.OpError
	for _, elem := range filepath.SplitList(pathEnv) {
		if elem == "" {
			elem = "."
		}
		candidate := filepath.Join(elem, name)
		st, err := os.Stat(abs(candidate, dir))
		if err != nil || st.IsDir() {
			continue
		}
		if st.Mode()&0o111 == 0 {
			if denied == nil {
				denied = protocol.Errorf(protocol.CodeAccess, "permission denied: %s", candidate)
			}
			continue
		}
		return candidate, nil // a relative candidate is resolved by execve against the child's cwd
	}
	if denied != nil {
		return "", denied
	}
	return "", notFound
}

func abs(p, dir string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// execError maps a ForkExec failure to an operation error.
func execError(err error, argv0 string) *protocol.OpError {
	switch {
	case errors.Is(err, syscall.ENOENT):
		return protocol.Errorf(protocol.CodeNotFound, "command not found: %s", argv0)
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return protocol.Errorf(protocol.CodeAccess, "permission denied: %s", argv0)
	case errors.Is(err, syscall.ENOTDIR):
		return protocol.Errorf(protocol.CodeNotDir, "not a directory: %s", argv0)
	case errors.Is(err, syscall.ENOEXEC):
		return protocol.Errorf(protocol.CodeAccess, "exec format error: %s", argv0)
	}
	return protocol.Errorf(protocol.CodeIO, "exec %s: %v", argv0, err)
}

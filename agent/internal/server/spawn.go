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
	tty  *protocol.TtySize   // nil: no terminal
}

// prepare validates req and resolves user, environment, cwd and executable.
func prepare(req *protocol.ExecStart, resolver *users.Resolver) (*spawnSpec, *protocol.OpError) {
	if len(req.Argv) == 0 || req.Argv[0] == "" {
		return nil, protocol.FieldErrorf(protocol.CodeInvalid, "argv", "argv: must be a non-empty array with a non-empty argv[0]")
	}
	for _, a := range req.Argv {
		if strings.IndexByte(a, 0) >= 0 {
			return nil, protocol.FieldErrorf(protocol.CodeInvalid, "argv", "argv: contains a NUL byte")
		}
	}
	if req.TimeoutMs < 0 || req.TimeoutMs > maxTimeoutMs {
		return nil, protocol.FieldErrorf(protocol.CodeInvalid, "timeoutMs", "timeoutMs: must be between 0 and %d", int64(maxTimeoutMs))
	}
	spec := &spawnSpec{argv: req.Argv}
	switch req.Stdin {
	case "", "null":
	case "pipe":
		spec.pipe = true
	default:
		return nil, protocol.FieldErrorf(protocol.CodeInvalid, "stdin", "stdin: must be \"null\" or \"pipe\"")
	}
	if t := req.Tty; t != nil {
		for _, dim := range []struct {
			name string
			v    int
		}{{"tty.rows", t.Rows}, {"tty.cols", t.Cols}} {
			if dim.v < 1 || dim.v > maxTtySize {
				return nil, protocol.FieldErrorf(protocol.CodeInvalid, dim.name, "%s: must be 1..%d, got %d", dim.name, maxTtySize, dim.v)
			}
		}
		spec.tty = t
	}
	id, err := resolver.Resolve(req.User)
	if err != nil {
		return nil, protocol.FieldErrorf(protocol.CodeUser, "user", "%v", err)
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
		return protocol.FieldErrorf(protocol.CodeAccess, "user", "cannot run as user %q: the agent is not root", spec)
	}
	return nil
}

// buildEnv merges extra over the base environment (PATH, HOME, TERM) and returns sorted KEY=VALUE pairs.
func buildEnv(home string, extra map[string]string) ([]string, *protocol.OpError) {
	m := map[string]string{"PATH": DefaultPath, "HOME": home, "TERM": "xterm"}
	for k, v := range extra {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.IndexByte(v, 0) >= 0 {
			return nil, protocol.FieldErrorf(protocol.CodeInvalid, "env", "env: invalid variable %q", k)
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
		return "", protocol.FieldErrorf(protocol.CodeInvalid, "cwd", "cwd: contains a NUL byte")
	}
	if !filepath.IsAbs(cwd) {
		cwd = "/" + cwd
	}
	st, err := os.Stat(cwd)
	switch {
	case err == nil && !st.IsDir():
		return "", protocol.FieldErrorf(protocol.CodeNotDir, "cwd", "cwd is not a directory: %s", cwd)
	case err == nil:
		return cwd, nil
	case errors.Is(err, syscall.ENOTDIR):
		return "", protocol.FieldErrorf(protocol.CodeNotDir, "cwd", "cwd is not a directory: %s", cwd)
	case errors.Is(err, syscall.EACCES):
		return "", protocol.FieldErrorf(protocol.CodeAccess, "cwd", "cwd is not accessible: %s", cwd)
	default:
		return "", protocol.FieldErrorf(protocol.CodeNotFound, "cwd", "cwd not found: %s", cwd)
	}
}

// lookPath finds name like a shell: names containing "/" are used as given (relative to the child's cwd), others are
// searched in pathEnv. An empty PATH element means the working directory.
func lookPath(name, pathEnv, dir string) (string, *protocol.OpError) {
	notFound := protocol.FieldErrorf(protocol.CodeNotFound, "argv[0]", "command not found: %s", name)
	if strings.Contains(name, "/") {
		return name, nil // execve (after the child's chdir) reports a missing one: execError maps it
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
				denied = protocol.FieldErrorf(protocol.CodeAccess, "argv[0]", "permission denied: %s", candidate)
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

// maxArgStrlen is the kernel's limit on one argument or environment string, its NUL included
// (MAX_ARG_STRLEN).
const maxArgStrlen = 131072

// execError maps a ForkExec failure to an operation error.
func execError(err error, spec *spawnSpec) *protocol.OpError {
	argv0 := spec.argv[0]
	switch {
	case errors.Is(err, syscall.ENOENT):
		return protocol.FieldErrorf(protocol.CodeNotFound, "argv[0]", "command not found: %s", argv0)
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return protocol.FieldErrorf(protocol.CodeAccess, "argv[0]", "permission denied: %s", argv0)
	case errors.Is(err, syscall.ENOTDIR):
		return protocol.FieldErrorf(protocol.CodeNotDir, "argv[0]", "not a directory: %s", argv0)
	case errors.Is(err, syscall.ENOEXEC):
		return protocol.FieldErrorf(protocol.CodeAccess, "argv[0]", "exec format error: %s", argv0)
	case errors.Is(err, syscall.E2BIG):
		field := "argv"
		for _, kv := range spec.env {
			if len(kv) >= maxArgStrlen {
				field = "env"
			}
		}
		return protocol.FieldErrorf(protocol.CodeTooBig, field, "%s: argument list too long (each string at most %d bytes, all together at most the exec limit)", argv0, maxArgStrlen-1)
	}
	return protocol.Errorf(protocol.CodeIO, "exec %s: %v", argv0, err)
}

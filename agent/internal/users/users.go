// Package users resolves an exec's `user` field ("name", "uid", "uid:gid", "name:group") against the
// passwd and group files of the current root.
package users

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Identity is who a process runs as.
type Identity struct {
	// Name is the user name, "" for a uid without a passwd entry.
	Name string
	Uid  uint32
	Gid  uint32
	// Groups are the supplementary groups (from the group file's member lists, plus Gid).
	Groups []uint32
	// Home is the home directory from passwd, "/" when unknown.
	Home string
}

// UnknownError means the user or group does not exist.
type UnknownError struct{ Msg string }

// Error implements error.
func (e *UnknownError) Error() string { return e.Msg }

type passwdEntry struct {
	name     string
	uid, gid uint32
	home     string
}

type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

// Resolve resolves spec using etcDir/passwd and etcDir/group (read once: see Resolver for repeated use).
func Resolve(spec, etcDir string) (*Identity, error) {
	return NewResolver(etcDir).Resolve(spec)
}

// Resolver resolves users against the passwd and group files of a directory, parsing each file again only
// when it changed (its device, inode, size, modification or change time): a resolve then costs two stats.
// It is safe for concurrent use.
type Resolver struct {
	mu     sync.Mutex
	passwd parsedFile[[]passwdEntry]
	groups parsedFile[[]groupEntry]
}

// NewResolver returns a Resolver for etcDir/passwd and etcDir/group.
func NewResolver(etcDir string) *Resolver {
	return &Resolver{
		passwd: parsedFile[[]passwdEntry]{path: filepath.Join(etcDir, "passwd"), parse: readPasswd},
		groups: parsedFile[[]groupEntry]{path: filepath.Join(etcDir, "group"), parse: readGroups},
	}
}

// parsedFile is a file's parsed contents and the identity of the file they were parsed from.
type parsedFile[T any] struct {
	path   string
	parse  func(path string) T
	stamp  fileStamp
	parsed T
	valid  bool
}

// fileStamp identifies a version of a file; the zero value stands for a missing file.
type fileStamp struct {
	dev, ino         uint64
	size             int64
	mtimeNs, ctimeNs int64
}

func stampOf(path string) fileStamp {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return fileStamp{}
	}
	return fileStamp{
		dev: uint64(st.Dev), ino: uint64(st.Ino), size: st.Size,
		mtimeNs: st.Mtim.Nano(), ctimeNs: st.Ctim.Nano(),
	}
}

// get returns the parsed contents, parsing the file again when its stamp changed.
func (f *parsedFile[T]) get() T {
	stamp := stampOf(f.path)
	if !f.valid || stamp != f.stamp {
		f.parsed, f.stamp, f.valid = f.parse(f.path), stamp, true
	}
	return f.parsed
}

// Resolve resolves spec. An empty spec means "root". Missing files are treated as empty, except that root
// (uid 0) always resolves.
func (r *Resolver) Resolve(spec string) (*Identity, error) {
	if spec == "" {
		spec = "root"
	}
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	if userPart == "" || (hasGroup && groupPart == "") {
		return nil, &UnknownError{fmt.Sprintf("invalid user %q", spec)}
	}
	r.mu.Lock()
	passwd, groups := r.passwd.get(), r.groups.get()
	r.mu.Unlock()

	id, err := resolveUser(userPart, passwd)
	if err != nil {
		return nil, err
	}
	if hasGroup {
		gid, err := resolveGroup(groupPart, groups)
		if err != nil {
			return nil, err
		}
		id.Gid = gid
	}
	id.Groups = []uint32{id.Gid}
	if id.Name != "" {
		for _, g := range groups {
			if g.gid == id.Gid {
				continue
			}
			for _, m := range g.members {
				if m == id.Name {
					id.Groups = append(id.Groups, g.gid)
					break
				}
			}
		}
	}
	return id, nil
}

func resolveUser(s string, passwd []passwdEntry) (*Identity, error) {
	if uid, err := parseID(s); err == nil {
		for _, p := range passwd {
			if p.uid == uid {
				return &Identity{Name: p.name, Uid: p.uid, Gid: p.gid, Home: p.home}, nil
			}
		}
		home := "/"
		if uid == 0 {
			home = "/root"
		}
		// A uid without a passwd entry runs with gid 0 (as container runtimes do).
		return &Identity{Uid: uid, Gid: 0, Home: home}, nil
	}
	for _, p := range passwd {
		if p.name == s {
			return &Identity{Name: p.name, Uid: p.uid, Gid: p.gid, Home: p.home}, nil
		}
	}
	if s == "root" {
		return &Identity{Name: "root", Home: "/root"}, nil
	}
	return nil, &UnknownError{fmt.Sprintf("unknown user %q", s)}
}

func resolveGroup(s string, groups []groupEntry) (uint32, error) {
	if gid, err := parseID(s); err == nil {
		return gid, nil
	}
	for _, g := range groups {
		if g.name == s {
			return g.gid, nil
		}
	}
	if s == "root" {
		return 0, nil
	}
	return 0, &UnknownError{fmt.Sprintf("unknown group %q", s)}
}

func parseID(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, err
	}
	return uint32(n), nil
}

func readLines(path string, fields int, fn func([]string)) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, ":")
		if len(parts) < fields {
			continue
		}
		fn(parts)
	}
}

func readPasswd(path string) []passwdEntry {
	var out []passwdEntry
	readLines(path, 7, func(p []string) {
		uid, err1 := parseID(p[2])
		gid, err2 := parseID(p[3])
		if err1 != nil || err2 != nil {
			return
		}
		home := p[5]
		if home == "" {
			home = "/"
		}
		out = append(out, passwdEntry{name: p[0], uid: uid, gid: gid, home: home})
	})
	return out
}

func readGroups(path string) []groupEntry {
	var out []groupEntry
	readLines(path, 4, func(p []string) {
		gid, err := parseID(p[2])
		if err != nil {
			return
		}
		var members []string
		for _, m := range strings.Split(p[3], ",") {
			if m = strings.TrimSpace(m); m != "" {
				members = append(members, m)
			}
		}
		out = append(out, groupEntry{name: p[0], gid: gid, members: members})
	})
	return out
}

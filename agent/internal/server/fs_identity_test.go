package server

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"microsandbox/agent/internal/protocol"
	"microsandbox/agent/internal/users"
)

// An agent that is not root (development mode) acts only as itself.
func TestFsUserWithoutRoot(t *testing.T) {
	etc := users.NewResolver(t.TempDir())
	if _, _, e := resolveFsUser("root", etc, 1000, 1000); e == nil || e.Code != "EACCES" || e.Field != "user" {
		t.Fatalf("root from uid 1000: %v", e)
	}
	cred, switchID, e := resolveFsUser("1000", etc, 1000, 1000)
	if e != nil || switchID || cred.uid != 1000 || cred.gid != 1000 {
		t.Fatalf("own uid: %+v %v %v", cred, switchID, e)
	}
	if _, switchID, e := resolveFsUser("", etc, 0, 0); e != nil || switchID {
		t.Fatalf("root agent, default user: switch %v %v", switchID, e)
	}
	cred, switchID, e = resolveFsUser("1234:5678", etc, 0, 0)
	if e != nil || !switchID || cred.uid != 1234 || cred.gid != 5678 {
		t.Fatalf("uid:gid: %+v %v %v", cred, switchID, e)
	}
}

func TestFsIdentity(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("switching identities needs root")
	}
	c, _ := newHarness(t, nil)
	dir, err := os.MkdirTemp("", "msb-fs-identity-") // under /tmp, which anyone may traverse
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	owner := func(p string) string {
		st := statOf(t, p)
		return fmt.Sprintf("%d:%d", st.Uid, st.Gid)
	}
	// Files and directories a user creates are theirs.
	w := fsWrite(filepath.Join(dir, "by-nobody", "file"))
	w.User = "nobody"
	final, _ := c.fsRun(w, []byte("hi"))
	expectDone(t, final, 2)
	if o, p := owner(filepath.Join(dir, "by-nobody", "file")), owner(filepath.Join(dir, "by-nobody")); o != "65534:65534" || p != o {
		t.Fatalf("owners %s %s", o, p)
	}
	w = fsWrite(filepath.Join(dir, "by-uid"))
	w.User = "1234:5678"
	final, _ = c.fsRun(w, []byte("x"))
	expectDone(t, final, 1)
	if o := owner(filepath.Join(dir, "by-uid")); o != "1234:5678" {
		t.Fatalf("owner %s", o)
	}
	// Root's private file: nobody may not read it, nor write into root's directory; root may.
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("s"), 0o600); err != nil {
		t.Fatal(err)
	}
	private := filepath.Join(dir, "private")
	if err := os.Mkdir(private, 0o755); err != nil {
		t.Fatal(err)
	}
	r := fsRead(secret)
	r.User = "nobody"
	final, _ = c.fsRun(r, nil)
	expectFsError(t, final, "EACCES", "path")
	w = fsWrite(filepath.Join(private, "x"))
	w.User = "nobody"
	final, _ = c.fsRun(w, []byte("x"))
	expectFsError(t, final, "EACCES", "path")
	final, out := c.fsRun(fsRead(secret), nil)
	if expectDone(t, final, 1); string(out) != "s" {
		t.Fatalf("root read %q", out)
	}
	// readonly is the user's answer.
	for user, want := range map[string]bool{"": false, "nobody": true} {
		st := protocol.FsPath{Type: protocol.TypeFsStat, Path: secret, User: user}
		if final, _ := c.fsRun(st, nil); final["readonly"] != want {
			t.Fatalf("readonly as %q: %v", user, final)
		}
	}
	// Owners from an archive are applied only as root.
	hdr := reg("owned")
	hdr.Uid, hdr.Gid = 4321, 8765
	archive := tarOf(t, hdr)
	final, _ = c.fsRun(fsPath(protocol.TypeFsArchiveWrite, filepath.Join(dir, "as-root")), archive)
	expectDone(t, final, -1)
	aw := protocol.FsPath{Type: protocol.TypeFsArchiveWrite, Path: filepath.Join(dir, "as-nobody"), User: "nobody"}
	final, _ = c.fsRun(aw, archive)
	expectDone(t, final, -1)
	if a, b := owner(filepath.Join(dir, "as-root", "owned")), owner(filepath.Join(dir, "as-nobody", "owned")); a != "4321:8765" || b != "65534:65534" {
		t.Fatalf("archive owners: as root %s, as nobody %s", a, b)
	}

	// Many operations as nobody and as root at once: root's never run with nobody's identity, and no thread
	// keeps a changed identity once they are done.
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(2)
		go func(i int) {
			defer wg.Done()
			w := fsWrite(filepath.Join(dir, fmt.Sprintf("n%d", i)))
			w.User = "nobody"
			if final, _ := c.fsRun(w, []byte("x")); final["type"] != protocol.TypeFsDone {
				t.Errorf("nobody write: %v", final)
			}
		}(i)
		go func() {
			defer wg.Done()
			if final, _ := c.fsRun(fsRead(secret), nil); final["type"] != protocol.TypeFsDone {
				t.Errorf("root read: %v", final)
			}
		}()
	}
	wg.Wait()
	waitFor(t, func() bool { return len(changedThreads(t)) == 0 })
}

// changedThreads lists this process's threads whose filesystem ids are not root's. The main thread is left
// out: when an operation's goroutine ran on it, the runtime parks it for good instead of ending it (the
// process's main thread cannot exit), so it keeps the identity but never runs anything again.
func changedThreads(t *testing.T) []string {
	t.Helper()
	tasks, err := filepath.Glob("/proc/self/task/*/status")
	if err != nil {
		t.Fatal(err)
	}
	var changed []string
	for _, p := range tasks {
		if filepath.Base(filepath.Dir(p)) == fmt.Sprint(os.Getpid()) {
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			continue // the thread exited
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) == 5 && (fields[0] == "Uid:" || fields[0] == "Gid:") && fields[4] != "0" {
				changed = append(changed, p+": "+sc.Text())
			}
		}
		f.Close()
	}
	if len(changed) > 0 {
		time.Sleep(10 * time.Millisecond)
	}
	return changed
}

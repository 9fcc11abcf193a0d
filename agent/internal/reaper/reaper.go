// Package reaper is the agent's single owner of wait4: one goroutine reaps every child (including orphans
// inherited by PID 1) and hands exit statuses to whoever registered the pid. Nothing else in the agent may
// wait for children (no os/exec Wait), or the two would steal each other's statuses.
package reaper

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// unclaimedTTL is how long a status nobody registered for is kept.
const unclaimedTTL = 30 * time.Second

// sweepInterval is how often the reaper also runs without a SIGCHLD: a safety net, and when unclaimed statuses
// expire. Every SIGCHLD already triggers a full pass (a dropped signal is covered by the ones still queued), so
// this is long: each timer wake-up of an idle guest costs host CPU under TCG (a 1 s sweep was ~4 of an idle
// guest's ~12 timer interrupts a second).
const sweepInterval = time.Minute

type unclaimed struct {
	status syscall.WaitStatus
	at     time.Time
}

// Reaper dispatches child exit statuses to registered waiters.
type Reaper struct {
	mu        sync.Mutex
	waiters   map[int]chan syscall.WaitStatus
	unclaimed map[int]unclaimed
	orphans   int
}

var (
	defaultOnce sync.Once
	defaultR    *Reaper
)

// Default returns the process-wide reaper, starting it on first use.
func Default() *Reaper {
	defaultOnce.Do(func() {
		defaultR = &Reaper{waiters: map[int]chan syscall.WaitStatus{}, unclaimed: map[int]unclaimed{}}
		sig := make(chan os.Signal, 16)
		signal.Notify(sig, syscall.SIGCHLD)
		go defaultR.loop(sig)
	})
	return defaultR
}

func (r *Reaper) loop(sig <-chan os.Signal) {
	tick := time.NewTicker(sweepInterval)
	defer tick.Stop()
	for {
		select {
		case <-sig:
		case <-tick.C:
		}
		r.reapAll()
	}
}

func (r *Reaper) reapAll() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			break
		}
		r.dispatch(pid, ws)
	}
	r.mu.Lock()
	now := time.Now()
	for pid, u := range r.unclaimed {
		if now.Sub(u.at) > unclaimedTTL {
			delete(r.unclaimed, pid)
		}
	}
	r.mu.Unlock()
}

func (r *Reaper) dispatch(pid int, ws syscall.WaitStatus) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ch, ok := r.waiters[pid]; ok {
		delete(r.waiters, pid)
		ch <- ws // buffered, never blocks
		return
	}
	r.orphans++
	r.unclaimed[pid] = unclaimed{ws, time.Now()}
}

// Start runs start (which must create exactly one child and return its pid) while holding the reaper's
// lock, and registers the pid before the lock is released, so the child's status cannot be dispatched
// before someone waits for it. The returned channel receives the exit status once.
func (r *Reaper) Start(start func() (int, error)) (int, <-chan syscall.WaitStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pid, err := start()
	if err != nil {
		return 0, nil, err
	}
	ch := make(chan syscall.WaitStatus, 1)
	if u, ok := r.unclaimed[pid]; ok {
		delete(r.unclaimed, pid)
		ch <- u.status
	} else {
		r.waiters[pid] = ch
	}
	return pid, ch, nil
}

// ForkExec starts argv0 with syscall.ForkExec and registers it (see Start).
func (r *Reaper) ForkExec(argv0 string, argv []string, attr *syscall.ProcAttr) (int, <-chan syscall.WaitStatus, error) {
	return r.Start(func() (int, error) { return syscall.ForkExec(argv0, argv, attr) })
}

// Orphans returns how many statuses of unregistered children (inherited orphans) were reaped.
func (r *Reaper) Orphans() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.orphans
}

package reaper

import (
	"sync"
	"syscall"
	"testing"
	"time"
)

func run(t *testing.T, script string) syscall.WaitStatus {
	t.Helper()
	sh := "/bin/sh"
	_, ch, err := Default().ForkExec(sh, []string{"sh", "-c", script}, &syscall.ProcAttr{Env: []string{}})
	if err != nil {
		t.Fatalf("fork: %v", err)
	}
	select {
	case ws := <-ch:
		return ws
	case <-time.After(10 * time.Second):
		t.Fatal("no exit status within 10 s")
	}
	return 0
}

func TestExitStatuses(t *testing.T) {
	if ws := run(t, "exit 3"); !ws.Exited() || ws.ExitStatus() != 3 {
		t.Fatalf("exit 3: %v", ws)
	}
	if ws := run(t, "kill -9 $$"); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("kill -9: %v", ws)
	}
}

func TestManyConcurrentChildren(t *testing.T) {
	var wg sync.WaitGroup
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ws := run(t, "exit $(( "+string(rune('0'+i%10))+" ))")
			if ws.ExitStatus() != i%10 {
				t.Errorf("child %d: status %v", i, ws)
			}
		}(i)
	}
	wg.Wait()
}

func TestUnclaimedStatusDelivered(t *testing.T) {
	r := Default()
	// Simulates a status reaped for a pid before registration (cannot happen through Start, which holds the
	// lock, but registration must still find it).
	r.dispatch(999999, syscall.WaitStatus(7<<8))
	_, ch, err := r.Start(func() (int, error) { return 999999, nil })
	if err != nil {
		t.Fatal(err)
	}
	if ws := <-ch; ws.ExitStatus() != 7 {
		t.Fatalf("status %v", ws)
	}
}

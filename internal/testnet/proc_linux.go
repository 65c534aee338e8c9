package testnet

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"time"
)

// setParentDeath kills a child when the parent dies, so that a crashed or
// killed test leaves no nodes behind.
func setParentDeath(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }

// waitStopped waits (up to a second) until the kernel reports the process
// stopped: a signal is delivered asynchronously, and a paused node must
// not answer once Pause returns.
func waitStopped(p *os.Process) {
	path := "/proc/" + strconv.Itoa(p.Pid) + "/stat"
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(path)
		if err != nil {
			return
		}
		// The state follows the parenthesised command name.
		if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) && (b[i+2] == 'T' || b[i+2] == 't') {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

//go:build unix

package testnet

import (
	"os"
	"os/exec"
	"syscall"
)

func terminateProcess(p *os.Process) error { return p.Signal(syscall.SIGTERM) }
func pauseProcess(p *os.Process) error {
	if err := p.Signal(syscall.SIGSTOP); err != nil {
		return err
	}
	waitStopped(p)
	return nil
}
func resumeProcess(p *os.Process) error { return p.Signal(syscall.SIGCONT) }

// setChildAttrs puts the child in its own process group, so that a ^C in
// the parent's terminal reaches the parent only (which then stops its
// children in order).
func setChildAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setParentDeath(cmd.SysProcAttr)
}

package testnet

import "syscall"

// setParentDeath kills a child when the parent dies, so that a crashed or
// killed test leaves no nodes behind.
func setParentDeath(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }

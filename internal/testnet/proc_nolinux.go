//go:build unix && !linux

package testnet

import (
	"os"
	"syscall"
	"time"
)

func setParentDeath(*syscall.SysProcAttr) {}

// waitStopped gives the signal a moment to arrive (no /proc to ask).
func waitStopped(*os.Process) { time.Sleep(50 * time.Millisecond) }

//go:build unix && !linux

package testnet

import "syscall"

func setParentDeath(*syscall.SysProcAttr) {}

//go:build !unix

package testnet

import (
	"os"
	"os/exec"
)

func terminateProcess(p *os.Process) error { return p.Kill() }
func pauseProcess(*os.Process) error       { return ErrUnsupported }
func resumeProcess(*os.Process) error      { return ErrUnsupported }
func setChildAttrs(*exec.Cmd)              {}

//go:build !linux

package sandbox

import "syscall"

// sysProcAttr puts the child in its own process group (Stop kills the
// group). Outside Linux there is no parent-death signal.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

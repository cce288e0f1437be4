package sandbox

import "syscall"

// sysProcAttr puts the child in its own process group (Stop kills the
// group) and has the kernel kill it if the sandbox process dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

package localcluster

import "syscall"

// Pdeathsig kills the child when the test binary dies, even by SIGKILL or a
// panic, so no control plane outlives its test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

//go:build unix && !linux

package localcluster

import "syscall"

// Without Pdeathsig a crashed test binary can leave children behind; Stop and
// t.Cleanup still kill them on every ordinary exit.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

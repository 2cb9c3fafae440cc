package localcluster

import (
	"net"
	"sync"
)

// handedOut remembers every port this process chose, so clusters started in
// parallel never get the same one. Another program can still take a port
// between the choice and the bind; Start retries a cluster when that happens.
var (
	portsMu   sync.Mutex
	handedOut = map[int]bool{}
)

// freePort asks the kernel for an unused loopback port.
func freePort() (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !handedOut[port] {
			handedOut[port] = true
			return port, nil
		}
	}
}

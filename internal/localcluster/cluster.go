package localcluster

import (
	"context"
	"sync"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Cluster is one running control plane.
type Cluster struct {
	Name   string               // cluster1, cluster2, …: also its kubeconfig context
	Server string               // https://127.0.0.1:<port>
	CAPEM  []byte               // the cluster CA that signed the serving certificate
	Config *rest.Config         // admin (system:masters) by client certificate
	Client kubernetes.Interface // built from Config

	dir   string
	ports []int // every port its processes listen on
	procs []*process

	// Emulators run until their own context or life ends; Stop waits for them.
	life      context.Context
	emulators *sync.WaitGroup
	logf      func(format string, args ...any)
	lbPool    *addressPool
	podIPs    atomic.Uint32

	// The kubelet emulator: its node's address and port, the binaries it runs,
	// and the pods it runs as real processes (see podrunner.go).
	binDir         string
	hostIP         string
	kubeletServing *keyPair
	kubeletPort    int
	nodeRegistered atomic.Bool
	runsPods       atomic.Bool
	podsMu         sync.Mutex
	pods           map[types.UID]*realPod
}

// pids lists the control-plane processes, for RSS and leak checks.
func (c *Cluster) pids() []int {
	pids := make([]int, len(c.procs))
	for i, p := range c.procs {
		pids[i] = p.pid()
	}
	return pids
}

// kill ends every process of the cluster, pods first.
func (c *Cluster) kill() {
	c.stopAllPods()
	for _, p := range c.procs {
		p.kill()
	}
}

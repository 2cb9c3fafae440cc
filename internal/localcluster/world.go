package localcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"k8s.io/client-go/rest"
)

// World is a set of clusters started together, with one kubeconfig for all.
type World struct {
	Clusters   []*Cluster
	Kubeconfig string // path of the kubeconfig with contexts cluster1..clusterN

	dir       string
	ownsDir   bool
	cancel    context.CancelFunc // ends the emulators
	emulators sync.WaitGroup
	stopOnce  sync.Once
	stopErr   error
}

// Start starts o.N clusters in parallel and returns once every one serves
// requests and its controller-manager works. ctx bounds the start only: the
// clusters run until Stop.
func Start(ctx context.Context, o Options) (*World, error) {
	if o.N < 1 {
		return nil, fmt.Errorf("localcluster: N must be at least 1, got %d", o.N)
	}
	binDir, err := resolveBinDir(o.BinDir)
	if err != nil {
		return nil, err
	}
	w := &World{dir: o.WorkDir}
	if w.dir == "" {
		if w.dir, err = os.MkdirTemp("", "localcluster-"); err != nil {
			return nil, err
		}
		w.ownsDir = true
	} else if err := os.MkdirAll(w.dir, 0o700); err != nil {
		return nil, err
	}
	hostIP := nodeAddress()
	life, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}

	w.Clusters = make([]*Cluster, o.N)
	errs := make([]error, o.N)
	var wg sync.WaitGroup
	for i := range o.N {
		name := fmt.Sprintf("cluster%d", i+1)
		wg.Go(func() {
			w.Clusters[i], errs[i] = startCluster(ctx, name, filepath.Join(w.dir, name), binDir, hostIP, o.Lean)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("localcluster: %w", errors.Join(err, w.Stop()))
	}

	pool := &addressPool{}
	configs := map[string]*rest.Config{}
	for _, c := range w.Clusters {
		c.life, c.emulators, c.logf, c.lbPool = life, &w.emulators, logf, pool
		configs[c.Name] = c.Config
	}
	w.Kubeconfig = filepath.Join(w.dir, "kubeconfig")
	if err := writeKubeconfig(w.Kubeconfig, configs); err != nil {
		return nil, fmt.Errorf("localcluster: write kubeconfig: %w", errors.Join(err, w.Stop()))
	}
	return w, nil
}

// Cluster returns the cluster with that name, or nil.
func (w *World) Cluster(name string) *Cluster {
	for _, c := range w.Clusters {
		if c != nil && c.Name == name {
			return c
		}
	}
	return nil
}

// Stop ends the emulators, kills every process and removes the cluster data.
// It is safe to call more than once.
func (w *World) Stop() error {
	w.stopOnce.Do(func() {
		w.cancel()
		w.emulators.Wait()
		var errs []error
		for _, c := range w.Clusters {
			if c == nil {
				continue
			}
			c.kill()
			errs = append(errs, os.RemoveAll(c.dir))
		}
		if w.ownsDir {
			errs = append(errs, os.RemoveAll(w.dir))
		}
		w.stopErr = errors.Join(errs...)
	})
	return w.stopErr
}

// Command localclusters starts N local Kubernetes clusters with the kubelet
// and load-balancer emulators, for a person to use (`make clusters`): the
// same world the tests use, so every istiod pod runs a real pilot-discovery
// reachable with `kubectl port-forward`. It writes <dir>/kubeconfig,
// <dir>/pid and, once every cluster is ready, <dir>/ready; it stops the
// clusters on SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
)

func main() {
	n := flag.Int("n", 2, "number of clusters")
	dir := flag.String("dir", ".demo", "directory for the kubeconfig, pid, ready file and cluster data")
	lean := flag.Bool("lean", false, "run only the controllers ristio needs in each kube-controller-manager")
	flag.Parse()
	if err := run(*n, *dir, *lean); err != nil {
		log.Fatal(err)
	}
}

func run(n int, dir string, lean bool) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ready := filepath.Join(dir, "ready")
	os.Remove(ready) // a ready file left by an earlier run must not fool the Makefile
	if err := os.WriteFile(filepath.Join(dir, "pid"), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	w, err := localcluster.Start(ctx, localcluster.Options{N: n, WorkDir: dir, Logf: log.Printf, Lean: lean})
	if err != nil {
		return err
	}
	defer func() {
		if err := w.Stop(); err != nil {
			log.Printf("stopping the clusters: %v", err)
		}
	}()
	w.RunLoadBalancer(ctx, localcluster.LBIP)
	w.RunKubelet(ctx)
	for _, c := range w.Clusters {
		log.Printf("%s: %s", c.Name, c.Server)
	}
	log.Printf("%d clusters ready in %s", n, time.Since(start).Round(time.Millisecond))
	if err := os.WriteFile(ready, nil, 0o644); err != nil {
		return err
	}
	fmt.Println(w.Kubeconfig)

	<-ctx.Done()
	log.Print("stopping")
	os.Remove(ready)
	return w.Stop()
}

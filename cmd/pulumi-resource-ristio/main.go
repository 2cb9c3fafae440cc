// Command pulumi-resource-ristio is ristio's Pulumi provider plugin.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"syscall"
	"time"

	p "github.com/pulumi/pulumi-go-provider"

	"github.com/ristio/pulumi-ristio/pkg/helm"
	"github.com/ristio/pulumi-ristio/provider"
)

// cpuProfileEnv names a file prefix: when set, the plugin writes a CPU
// profile of its whole life to <prefix>.<pid>.pprof, for finding where a
// large mesh's time goes (go tool pprof).
const cpuProfileEnv = "RISTIO_CPUPROFILE"

// settleTimeout bounds how long the plugin, once told to stop, waits for
// Helm steps to record how they ended: within the engine's 5 s grace.
const settleTimeout = 4 * time.Second

func main() {
	if prefix := os.Getenv(cpuProfileEnv); prefix != "" {
		if err := profileCPU(prefix + "." + strconv.Itoa(os.Getpid()) + ".pprof"); err != nil {
			fmt.Fprintf(os.Stderr, "pulumi-resource-ristio: %s: %s\n", cpuProfileEnv, err)
			os.Exit(1)
		}
	}
	prov, err := provider.New(provider.DefaultDeps())
	if err == nil {
		err = p.RunProvider(context.Background(), provider.Name, provider.Version, prov)
	}
	// The engine stops the plugin (SIGINT, SIGKILL 5 s later) as soon as an
	// interrupted `up` has its answers; a Helm step cut short is still
	// recording its release then, and would leave it pending.
	settle, cancel := context.WithTimeout(context.Background(), settleTimeout)
	helm.Settle(settle)
	cancel()
	pprof.StopCPUProfile()
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-ristio: %s\n", err)
		os.Exit(1)
	}
}

// profileCPU starts a CPU profile into path and ends it when the engine asks
// the plugin to stop (SIGINT, then SIGKILL after 5 s).
func profileCPU(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-stop
		pprof.StopCPUProfile()
		_ = f.Close()
		os.Exit(0)
	}()
	return nil
}

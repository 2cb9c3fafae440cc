package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/internal/pulumitest"
	"github.com/ristio/pulumi-ristio/internal/testcharts"
)

// BenchmarkMeshScale measures, for meshes of n clusters (ECDSA, chart
// directory, verify on): `up` of a fresh mesh, a no-op preview, and `up`
// adding one cluster, with the provider's own CPU seconds and peak RSS for
// each (read from /proc while it runs), and the state's size. Sizes come
// from RISTIO_BENCH_CLUSTERS (default 1,2,4,8); the clusters are lean unless
// RISTIO_BENCH_LEAN=0.
// Run: make bench (go test -run x -bench MeshScale -benchtime 1x ./test/e2e/)
func BenchmarkMeshScale(b *testing.B) {
	sizes := benchSizes(b)
	largest := sizes[len(sizes)-1] + 1 // room for the added cluster
	w := localcluster.StartOptionsT(b, localcluster.Options{N: largest, Lean: os.Getenv("RISTIO_BENCH_LEAN") != "0"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.RunKubelet(ctx)
	w.RunLoadBalancer(ctx, localcluster.LBIP)
	charts := testcharts.Directory(b)
	for _, n := range sizes {
		spec := meshSpec{kubeconfig: w.Kubeconfig, chartDirectory: charts, clusters: clustersOf(w, n)}
		grown := spec
		grown.clusters = clustersOf(w, n+1)
		b.Run(fmt.Sprintf("clusters=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				stack := pulumitest.InlineStack(b, "ristio-scale", meshProgram(spec))
				measure(b, "up", func() { pulumitest.Up(b, stack) })
				reportState(b, stack)
				measure(b, "preview", func() { pulumitest.Preview(b, stack) })
				setProgram(b, &stack, grown)
				// What adding a cluster touches: its own resources, the 2n
				// remote secrets pairing it, and each peer's mesh check.
				changes := pulumitest.Changes(pulumitest.Preview(b, stack))
				b.ReportMetric(float64(changes["create"]), "add-one-creates")
				b.ReportMetric(float64(changes["update"]), "add-one-updates")
				measure(b, "add-one", func() { pulumitest.Up(b, stack) })
				b.StopTimer()
				if _, err := stack.Destroy(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

func benchSizes(b *testing.B) []int {
	spec := os.Getenv("RISTIO_BENCH_CLUSTERS")
	if spec == "" {
		spec = "1,2,4,8"
	}
	var sizes []int
	for _, f := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("RISTIO_BENCH_CLUSTERS=%q: %q is not a cluster count", spec, f)
		}
		sizes = append(sizes, n)
	}
	return sizes
}

// measure runs op, reporting its wall time and the provider's CPU seconds
// and peak RSS as metrics named after what.
func measure(b *testing.B, what string, op func()) {
	b.Helper()
	watch := watchProvider()
	start := time.Now()
	op()
	elapsed := time.Since(start)
	cpu, rss := watch()
	b.ReportMetric(elapsed.Seconds(), what+"-s")
	b.ReportMetric(cpu, what+"-provider-cpu-s")
	b.ReportMetric(float64(rss)/(1<<20), what+"-provider-peak-MiB")
}

// watchProvider samples every provider plugin process (the only one these
// stacks use is pulumi-resource-ristio) until the
// returned function is called, which gives their CPU seconds and the largest
// peak RSS seen: the engine may start more than one during an operation.
func watchProvider() func() (cpuSeconds float64, peakRSS int64) {
	stop := make(chan struct{})
	var mu sync.Mutex
	cpu := map[int]float64{}
	var peak int64
	sample := func() {
		procs, _ := filepath.Glob("/proc/[0-9]*/comm")
		for _, comm := range procs {
			// comm holds the first 15 bytes of the name: "pulumi-resource".
			name, err := os.ReadFile(comm)
			if err != nil || strings.TrimSpace(string(name)) != "pulumi-resource" {
				continue
			}
			dir := filepath.Dir(comm)
			pid, _ := strconv.Atoi(filepath.Base(dir))
			s, r := procCPU(dir), procPeakRSS(dir)
			mu.Lock()
			if s > cpu[pid] {
				cpu[pid] = s
			}
			peak = max(peak, r)
			mu.Unlock()
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			sample()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() (float64, int64) {
		close(stop)
		<-done
		mu.Lock()
		defer mu.Unlock()
		var total float64
		for _, s := range cpu {
			total += s
		}
		return total, peak
	}
}

// procCPU is a process's user and system CPU seconds, from /proc/<pid>/stat.
func procCPU(dir string) float64 {
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return 0
	}
	// Fields after the parenthesised command name; utime and stime are the
	// 14th and 15th of the whole line, in clock ticks (100 per second).
	rest := string(stat)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100
}

// procPeakRSS is a process's peak resident set (VmHWM), in bytes.
func procPeakRSS(dir string) int64 {
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// reportState reports the stack's resource count and the size of its state
// (`pulumi stack export`), the inputs of the 100-cluster model in the README.
func reportState(b *testing.B, stack auto.Stack) {
	b.Helper()
	state, err := stack.Export(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	var deployment struct{ Resources []json.RawMessage }
	if err := json.Unmarshal(state.Deployment, &deployment); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(deployment.Resources)), "resources")
	b.ReportMetric(float64(len(state.Deployment))/1024, "state-KiB")
}

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
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

// The scale benchmarks share one world of lean clusters (unless
// RISTIO_BENCH_LEAN=0), large enough for the largest mesh plus the cluster
// added to it, and use ECDSA, a chart directory and verify on. Sizes come
// from RISTIO_BENCH_CLUSTERS (up and preview; default 1,2,4,8,16) and
// RISTIO_BENCH_ADD (adding a cluster; default 8,16); RISTIO_BENCH_SECRETS
// sets remoteSecrets (perPair or perCluster).
// Run: make bench.

// BenchmarkMeshUp measures `up` of a fresh mesh of n clusters, with the
// provider's CPU seconds and peak RSS, the stack's resource count and its
// state's size.
func BenchmarkMeshUp(b *testing.B) {
	forSizes(b, "RISTIO_BENCH_CLUSTERS", "1,2,4,8,16", func(b *testing.B, spec meshSpec) {
		for range b.N {
			stack := benchStack(b, spec)
			measure(b, "up", func() { pulumitest.Up(b, stack) })
			b.StopTimer()
			reportState(b, stack)
			destroy(b, stack)
			b.StartTimer()
		}
	})
}

// BenchmarkMeshPreview measures a no-op preview of a mesh of n clusters
// that is up (the up is not timed).
func BenchmarkMeshPreview(b *testing.B) {
	forSizes(b, "RISTIO_BENCH_CLUSTERS", "1,2,4,8,16", func(b *testing.B, spec meshSpec) {
		b.StopTimer()
		stack := benchStack(b, spec)
		pulumitest.Up(b, stack)
		b.StartTimer()
		for range b.N {
			measure(b, "preview", func() {
				if changes := pulumitest.Changes(pulumitest.Preview(b, stack)); len(changes) != 0 {
					b.Fatalf("a preview after up shows %v", changes)
				}
			})
		}
	})
}

// BenchmarkMeshAddCluster measures `up` adding one cluster to a mesh of n
// that is up, and reports what its preview creates and updates: the new
// cluster's resources and the remote secrets pairing it (2n RemoteSecrets,
// or one set created and n updated), nothing else.
func BenchmarkMeshAddCluster(b *testing.B) {
	forSizes(b, "RISTIO_BENCH_ADD", "8,16", func(b *testing.B, spec meshSpec) {
		grown := spec
		grown.clusters = clustersOf(benchWorld(b), len(spec.clusters)+1)
		for range b.N {
			b.StopTimer()
			stack := benchStack(b, spec)
			pulumitest.Up(b, stack)
			setProgram(b, &stack, grown)
			changes := pulumitest.Changes(pulumitest.Preview(b, stack))
			b.ReportMetric(float64(changes["create"]), "creates")
			b.ReportMetric(float64(changes["update"]), "updates")
			b.StartTimer()
			measure(b, "add-one", func() { pulumitest.Up(b, stack) })
			b.StopTimer()
			destroy(b, stack)
			b.StartTimer()
		}
	})
}

// BenchmarkMeshTokenRenewal measures an `up` that reissues every reader
// token of a mesh of n clusters that is up (RISTIO_BENCH_RENEW, default 3),
// so every remote secret is rewritten: with restartIstiodAfterSecretRotation
// auto and verify on (this world's istiod is affected, so each cluster's
// istiod restarts once and the checks prove discovery after it), and, for
// comparison, the bare rewrite (never, verify off).
func BenchmarkMeshTokenRenewal(b *testing.B) {
	forSizes(b, "RISTIO_BENCH_RENEW", "3", func(b *testing.B, spec meshSpec) {
		off := false
		for _, v := range []struct {
			name    string
			restart string
			verify  *bool
		}{{"restart=auto", "auto", nil}, {"restart=never,verify=false", "never", &off}} {
			b.Run(v.name, func(b *testing.B) {
				spec := spec
				spec.restartIstiod, spec.verify = v.restart, v.verify
				for range b.N {
					b.StopTimer()
					stack := benchStack(b, spec)
					pulumitest.Up(b, stack)
					renewed := spec
					renewed.readerTokenTTL = 4000 // not the default 8760: every token is reissued
					setProgram(b, &stack, renewed)
					b.StartTimer()
					measure(b, "renew", func() { pulumitest.Up(b, stack) })
					b.StopTimer()
					destroy(b, stack)
					b.StartTimer()
				}
			})
		}
	})
}

// forSizes runs f as a sub-benchmark per mesh size listed in env.
func forSizes(b *testing.B, env, def string, f func(b *testing.B, spec meshSpec)) {
	w := benchWorld(b)
	for _, n := range benchSizes(b, env, def) {
		spec := meshSpec{
			kubeconfig: w.Kubeconfig, chartDirectory: testcharts.Directory(b), clusters: clustersOf(w, n),
			remoteSecrets: os.Getenv("RISTIO_BENCH_SECRETS"),
			// Well above a 16-cluster up (about 100 s here), and a failed
			// run (see the README's note on Istio's clusterz deadlock) ends
			// in minutes, not ten.
			timeoutSeconds: 300,
		}
		b.Run(fmt.Sprintf("clusters=%d", n), func(b *testing.B) { f(b, spec) })
	}
}

// benchStack makes the stack of a mesh, destroyed when the benchmark ends
// however it ends: a failed up must not leave a mesh in the shared world
// for the next benchmark to trip over.
func benchStack(b *testing.B, spec meshSpec) auto.Stack {
	b.Helper()
	stack := pulumitest.InlineStack(b, "ristio-scale", meshProgram(spec))
	b.Cleanup(func() { destroy(b, stack) })
	return stack
}

func destroy(b *testing.B, stack auto.Stack) {
	b.Helper()
	if _, err := stack.Destroy(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// shared is the benchmarks' world; TestMain stops it.
var shared struct {
	once sync.Once
	w    *localcluster.World
	stop context.CancelFunc
	err  error
	idle float64 // CPU seconds per second the world uses with no mesh
}

func benchWorld(b *testing.B) *localcluster.World {
	b.Helper()
	shared.once.Do(func() {
		largest := 0
		for _, env := range [][2]string{{"RISTIO_BENCH_CLUSTERS", "1,2,4,8,16"}, {"RISTIO_BENCH_ADD", "8,16"}, {"RISTIO_BENCH_RENEW", "3"}} {
			largest = max(largest, slices.Max(benchSizes(b, env[0], env[1])))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		shared.w, shared.err = localcluster.Start(ctx, localcluster.Options{N: largest + 1, Lean: os.Getenv("RISTIO_BENCH_LEAN") != "0"})
		if shared.err != nil {
			return
		}
		var life context.Context
		life, shared.stop = context.WithCancel(context.Background())
		shared.w.RunKubelet(life)
		shared.w.RunLoadBalancer(life, localcluster.LBIP)
		// What the idle world costs: measure reports each operation's
		// share of it, which is in the machine's CPU but not the operation's.
		time.Sleep(20 * time.Second)
		shared.idle = busyCores(10 * time.Second)
	})
	if shared.err != nil {
		b.Fatal(shared.err)
	}
	return shared.w
}

// TestMain stops the benchmarks' world, if one started.
func TestMain(m *testing.M) {
	code := m.Run()
	if shared.w != nil {
		shared.stop()
		if err := shared.w.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop the benchmarks' clusters:", err)
		}
	}
	os.Exit(code)
}

func benchSizes(b *testing.B, env, def string) []int {
	spec := os.Getenv(env)
	if spec == "" {
		spec = def
	}
	var sizes []int
	for _, f := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("%s=%q: %q is not a cluster count", env, spec, f)
		}
		sizes = append(sizes, n)
	}
	return sizes
}

// measure runs op, reporting as metrics named after what: its wall time,
// the provider's CPU seconds and peak RSS, the whole machine's CPU seconds,
// and those of each kind of process (cpuGroups).
func measure(b *testing.B, what string, op func()) {
	b.Helper()
	b.StopTimer()
	settle(b)
	b.StartTimer()
	watch := watchProcesses()
	busyBefore := machineBusy()
	start := time.Now()
	op()
	elapsed := time.Since(start)
	busy := machineBusy() - busyBefore
	cpu, rss := watch()
	b.ReportMetric(elapsed.Seconds(), what+"-s")
	b.ReportMetric(cpu[providerGroup], what+"-provider-cpu-s")
	b.ReportMetric(float64(rss)/(1<<20), what+"-provider-peak-MiB")
	// Everything's CPU: divided by the cores, the least wall time the
	// operation could take on this machine.
	b.ReportMetric(busy, what+"-machine-cpu-s")
	b.ReportMetric(shared.idle*elapsed.Seconds(), what+"-idle-world-cpu-s")
	for _, g := range slices.Compact(slices.Sorted(maps.Values(cpuGroups))) {
		if g != providerGroup {
			b.ReportMetric(cpu[g], what+"-cpu-"+g+"-s")
		}
	}
}

// settle waits, for at most two minutes, until the machine is quiet enough
// to measure on: the world's idle load plus a quarter of the cores. Right
// after an up, istiods still list their new peers and the API servers are
// busy serving them, and right after a destroy namespaces are still being
// emptied; an operation measured then measures that too (a no-op preview of
// 16 clusters measured right after its up took from 5 to 20 s).
func settle(b *testing.B) {
	b.Helper()
	quiet := shared.idle + 0.25*float64(runtime.NumCPU())
	start := time.Now()
	for {
		rate := busyCores(5 * time.Second)
		if rate <= quiet {
			b.Logf("settled in %s (%.2f cores busy)", time.Since(start).Round(time.Second), rate)
			return
		}
		if time.Since(start) > 2*time.Minute {
			b.Logf("not settled after %s: %.2f cores busy, more than %.2f", time.Since(start).Round(time.Second), rate, quiet)
			return
		}
	}
}

// busyCores is how many cores the machine keeps busy, on average, over the
// next window.
func busyCores(window time.Duration) float64 {
	before := machineBusy()
	time.Sleep(window)
	return (machineBusy() - before) / window.Seconds()
}

// cpuGroups names the processes of a benchmark by their comm (the first 15
// bytes of the executable's name). The test binary runs the inline program
// and the kubelet and load-balancer emulators.
var cpuGroups = map[string]string{
	"pulumi-resource": providerGroup,
	"pulumi":          "engine",
	"pulumi-language": "engine",
	"kube-apiserver":  "apiserver",
	"etcd":            "etcd",
	"kube-controller": "kcm",
	"pilot-discovery": "istiod",
	"e2e.test":        "test",
}

const providerGroup = "provider"

// machineBusy is the CPU seconds every core has spent not idle since boot,
// from /proc/stat's first line (user nice system idle iowait irq softirq
// steal ..., in clock ticks of 1/100 s).
func machineBusy() float64 {
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(stat), "\n")
	var busy float64
	for i, f := range strings.Fields(line)[1:] {
		v, _ := strconv.ParseFloat(f, 64)
		if i == 3 || i == 4 || i >= 7 { // idle, iowait, steal; guest time is already in user
			continue
		}
		busy += v
	}
	return busy / 100
}

// watchProcesses samples every process every 100 ms until the returned
// function is called, which gives the CPU seconds each group of cpuGroups
// spent meanwhile (a process already running at the first sample counts
// from there) and the largest peak RSS of a provider process: the engine
// may start more than one during an operation.
func watchProcesses() func() (cpuSeconds map[string]float64, providerPeakRSS int64) {
	stop := make(chan struct{})
	type proc struct {
		group       string
		first, last float64
	}
	procs := map[int]*proc{}
	var peak int64
	sample := func(initial bool) {
		comms, _ := filepath.Glob("/proc/[0-9]*/comm")
		for _, comm := range comms {
			name, err := os.ReadFile(comm)
			if err != nil {
				continue
			}
			group, ok := cpuGroups[strings.TrimSpace(string(name))]
			if !ok {
				continue
			}
			dir := filepath.Dir(comm)
			pid, _ := strconv.Atoi(filepath.Base(dir))
			cpu := procCPU(dir)
			p := procs[pid]
			if p == nil {
				p = &proc{group: group}
				if initial {
					p.first = cpu
				}
				procs[pid] = p
			}
			p.last = max(p.last, cpu)
			if group == providerGroup {
				peak = max(peak, procPeakRSS(dir))
			}
		}
	}
	sample(true)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				sample(false)
				return
			case <-t.C:
				sample(false)
			}
		}
	}()
	return func() (map[string]float64, int64) {
		close(stop)
		<-done
		out := map[string]float64{}
		for _, p := range procs {
			out[p.group] += max(0, p.last-p.first)
		}
		return out, peak
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

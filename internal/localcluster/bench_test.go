package localcluster

import (
	"context"
	"errors"
	"testing"
)

// The benchmarks measure the time to start N clusters (Stop is not timed) and
// report the resident memory per cluster. Run them with
// `go test -run '^$' -bench Start ./internal/localcluster/`.
func BenchmarkStart1(b *testing.B) { benchmarkStart(b, 1) }
func BenchmarkStart3(b *testing.B) { benchmarkStart(b, 3) }

func benchmarkStart(b *testing.B, n int) {
	var rss uint64
	starts := 0
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		w, err := Start(ctx, Options{N: n, WorkDir: b.TempDir()})
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		starts++
		var errs []error
		for _, c := range w.Clusters {
			r, err := c.RSS()
			rss += r
			errs = append(errs, err)
		}
		if err := errors.Join(append(errs, w.Stop())...); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(rss)/float64(starts*n)/(1<<20), "MiB-RSS/cluster")
}

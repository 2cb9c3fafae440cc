package provider

import (
	"fmt"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/ristio/pulumi-ristio/pkg/charts"
)

// ChartSource says where Istio's Helm charts come from.
type ChartSource struct {
	ChartRepository *string `pulumi:"chartRepository,optional"`
	ChartDirectory  *string `pulumi:"chartDirectory,optional"`
}

// Annotate documents ChartSource.
func (c *ChartSource) Annotate(a infer.Annotator) {
	a.Describe(&c.ChartRepository, "Helm repository of Istio's charts: an https:// repo or an oci:// registry.")
	a.SetDefault(&c.ChartRepository, defaultChartRepository)
	a.Describe(&c.ChartDirectory, "Local directory holding base, istiod and gateway as chart directories or .tgz files. Wins over chartRepository.")
}

const defaultChartRepository = "https://istio-release.storage.googleapis.com/charts"

func checkIstioVersion(field, cluster, version string) []p.CheckFailure {
	if err := charts.ValidateVersion(version); err != nil {
		return []p.CheckFailure{{Property: field, Reason: fmt.Sprintf("cluster %q: istioVersion: %v", cluster, err)}}
	}
	return nil
}

func checkChartSource(d Deps, field string, c ChartSource) []p.CheckFailure {
	if err := d.chartSource(c).Validate(); err != nil {
		return []p.CheckFailure{{Property: field, Reason: err.Error()}}
	}
	return nil
}

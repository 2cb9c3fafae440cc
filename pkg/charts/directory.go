package charts

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
)

// sourceTreeDirs are where charts sit in Istio's manifests/charts when that
// differs from the chart's name.
var sourceTreeDirs = map[string]string{
	Istiod: filepath.Join("istio-control", "istio-discovery"),
}

// loadFromDirectory implements Load for Source.Directory.
func loadFromDirectory(dir, name, version string) (*chart.Chart, error) {
	path, err := findInDirectory(dir, name, version)
	if err != nil {
		return nil, err
	}
	ch, err := loader.Load(path)
	if err != nil {
		return nil, fmt.Errorf("chart %s from %s: %w", name, path, err)
	}
	if ch.Name() != name {
		return nil, fmt.Errorf("chart %s from %s: the chart there is called %q", name, path, ch.Name())
	}
	return ch, nil
}

// findInDirectory returns the chart folder or archive Load should read.
func findInDirectory(dir, name, version string) (string, error) {
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("chart directory %s: %w", dir, err)
	}
	folders := []string{filepath.Join(dir, name)}
	if alt, ok := sourceTreeDirs[name]; ok {
		folders = append(folders, filepath.Join(dir, alt))
	}
	for _, f := range folders {
		if isFile(filepath.Join(f, "Chart.yaml")) {
			return f, nil
		}
	}
	if version != "" {
		if p := filepath.Join(dir, name+"-"+version+".tgz"); isFile(p) {
			return p, nil
		}
	}
	if p := filepath.Join(dir, name+".tgz"); isFile(p) {
		return p, nil
	}
	matches, err := filepath.Glob(filepath.Join(dir, globEscape(name)+"-*.tgz"))
	if err != nil {
		return "", fmt.Errorf("chart directory %s: %w", dir, err)
	}
	var archives []string
	for _, m := range matches {
		if isFile(m) {
			archives = append(archives, m)
		}
	}
	sort.Strings(archives)
	switch len(archives) {
	case 1:
		return archives[0], nil
	case 0:
		return "", fmt.Errorf("chart %s not found in chart directory %s: looked for %s/, %s-%s.tgz, %s.tgz and %s-*.tgz",
			name, dir, name, name, version, name, name)
	default:
		bases := make([]string, len(archives))
		for i, a := range archives {
			bases[i] = filepath.Base(a)
		}
		return "", fmt.Errorf("chart %s-%s: chart directory %s has no %s-%s.tgz but several other archives (%s); keep one or name it %s-%s.tgz",
			name, version, dir, name, version, strings.Join(bases, ", "), name, version)
	}
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	if err != nil {
		return false
	}
	return fi.Mode().IsRegular()
}

func globEscape(s string) string {
	r := strings.NewReplacer(`*`, `\*`, `?`, `\?`, `[`, `\[`, `\`, `\\`)
	return r.Replace(s)
}

package examples

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"

	"github.com/ristio/pulumi-ristio/internal/pulumitest"
)

// runner runs one operation (up, preview or destroy) of an example's stack
// with the given stack configuration.
type runner interface {
	run(t *testing.T, op string, config map[string]string) result
}

// result is what every runner reports, whatever its language: the drivers
// print it as JSON.
type result struct {
	Steps   []step         `json:"steps"`
	Summary map[string]int `json:"summary"`
	Outputs map[string]any `json:"outputs"`
}

type step struct {
	Op   string `json:"op"`
	Type string `json:"type"`
	URN  string `json:"urn"`
}

// changedSteps maps "<type> <name>" to the operation of every resource that
// does not stay the same, default providers aside (see defaultProviderSteps).
func (r result) changedSteps() map[string]string {
	out := map[string]string{}
	for _, s := range r.Steps {
		if s.Op == "same" || s.Op == "read" || s.isDefaultProvider() {
			continue
		}
		out[s.Type+" "+s.name()] = s.Op
	}
	return out
}

// defaultProviderSteps lists what happens to default providers. An inline
// program tells the engine no plugin versions, so on a stack's first update
// the component's children get an unversioned default provider ("default");
// from the next run on the engine takes the version from the state, moves
// them to "default_0_1_0" and deletes "default". Summaries leave default
// providers out; the event stream shows the delete.
func (r result) defaultProviderSteps() []string {
	var out []string
	for _, s := range r.Steps {
		if s.Op != "same" && s.isDefaultProvider() {
			out = append(out, s.Op+" "+s.name())
		}
	}
	return out
}

func (s step) name() string { return s.URN[strings.LastIndex(s.URN, "::")+2:] }

func (s step) isDefaultProvider() bool {
	return strings.HasPrefix(s.Type, "pulumi:providers:") && strings.HasPrefix(s.name(), "default")
}

// ---- YAML: the Pulumi CLI runs the project with pulumi-language-yaml. ----

type autoRunner struct{ stack auto.Stack }

func (a autoRunner) run(t *testing.T, op string, config map[string]string) result {
	t.Helper()
	ctx := context.Background()
	cm := auto.ConfigMap{}
	for k, v := range config {
		cm[k] = auto.ConfigValue{Value: v}
	}
	if err := a.stack.SetAllConfig(ctx, cm); err != nil {
		t.Fatalf("setting config: %v", err)
	}
	var out bytes.Buffer
	var res result
	ch := make(chan events.EngineEvent)
	var wg sync.WaitGroup
	wg.Go(func() {
		for e := range ch {
			if e.ResourcePreEvent != nil {
				m := e.ResourcePreEvent.Metadata
				res.Steps = append(res.Steps, step{Op: string(m.Op), Type: m.Type, URN: m.URN})
			}
		}
	})
	var err error
	switch op {
	case "up":
		var r auto.UpResult
		r, err = a.stack.Up(ctx, optup.ProgressStreams(&out), optup.ErrorProgressStreams(&out), optup.EventStreams(ch))
		if err == nil {
			res.Summary = deref(r.Summary.ResourceChanges)
			res.Outputs = map[string]any{}
			for k, v := range r.Outputs {
				res.Outputs[k] = v.Value
			}
		}
	case "preview":
		var r auto.PreviewResult
		r, err = a.stack.Preview(ctx, optpreview.ProgressStreams(&out), optpreview.ErrorProgressStreams(&out), optpreview.EventStreams(ch))
		if err == nil {
			res.Summary = map[string]int{}
			for k, n := range r.ChangeSummary {
				res.Summary[string(k)] = n
			}
		}
	case "destroy":
		var r auto.DestroyResult
		r, err = a.stack.Destroy(ctx, optdestroy.ProgressStreams(&out), optdestroy.ErrorProgressStreams(&out), optdestroy.EventStreams(ch))
		if err == nil {
			res.Summary = deref(r.Summary.ResourceChanges)
		}
	default:
		t.Fatalf("unknown operation %q", op)
	}
	if err != nil {
		t.Fatalf("pulumi %s: %v\n%s", op, err, tail(out.String(), 60))
	}
	wg.Wait()
	return res
}

func deref(m *map[string]int) map[string]int {
	if m == nil {
		return map[string]int{}
	}
	return *m
}

// ---- TypeScript, Python, Go: a driver process per operation. ----

// driver runs `<command...> <op> <request.json>` with the Pulumi test
// environment, and reads the result from the last line of its stdout.
type driver struct {
	command []string
	env     []string
	request map[string]any
	dir     string
}

func newDriver(t *testing.T, env map[string]string, command []string, extraEnv []string, request map[string]any) *driver {
	d := &driver{command: command, request: request, dir: t.TempDir()}
	d.env = append(os.Environ(), extraEnv...)
	for k, v := range env {
		d.env = append(d.env, k+"="+v)
	}
	request["stack"] = "test"
	request["workDir"] = d.dir
	return d
}

func (d *driver) run(t *testing.T, op string, config map[string]string) result {
	t.Helper()
	d.request["config"] = config
	data, err := json.Marshal(d.request)
	if err != nil {
		t.Fatal(err)
	}
	reqPath := filepath.Join(d.dir, "request.json")
	if err := os.WriteFile(reqPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{}, d.command[1:]...), op, reqPath)
	cmd := exec.Command(d.command[0], args...)
	cmd.Env = d.env
	cmd.Dir = d.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(d.command[len(d.command)-1]), op, err, tail(stderr.String(), 60))
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var res result
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("%s: driver result: %v\n%s", op, err, stdout.String())
	}
	return res
}

// sdkCache is where scripts/sdk-check.sh builds the SDKs and examples.
func sdkCache(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("RISTIO_SDK_CACHE"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(d, "ristio", "sdk-check")
}

// sdkCheck builds lang's SDK and compiles its example (cached between runs).
func sdkCheck(t *testing.T, lang string) string {
	t.Helper()
	cache := sdkCache(t)
	cmd := exec.Command(filepath.Join(pulumitest.RepoRoot(), "scripts", "sdk-check.sh"), lang)
	cmd.Env = append(os.Environ(), "RISTIO_SDK_CACHE="+cache)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/sdk-check.sh %s: %v\n%s", lang, err, tail(string(out), 40))
	}
	t.Logf("%s", strings.TrimSpace(tail(string(out), 1)))
	return cache
}

func driverPath(name string) string {
	return filepath.Join(pulumitest.RepoRoot(), "test", "examples", "drivers", name)
}

func nodeRunner(t *testing.T, env map[string]string) runner {
	example := filepath.Join(sdkCheck(t, "nodejs"), "nodejs", "example")
	return newDriver(t, env,
		[]string{"node", filepath.Join(driverPath("node"), "driver.js")},
		[]string{"NODE_PATH=" + filepath.Join(example, "node_modules")},
		map[string]any{"project": "ristio-mesh-ts", "program": filepath.Join(example, "bin", "program.js")})
}

func pythonRunner(t *testing.T, env map[string]string) runner {
	python := filepath.Join(sdkCheck(t, "python"), "python", "venv", "bin", "python")
	return newDriver(t, env,
		[]string{python, filepath.Join(driverPath("python"), "driver.py")},
		[]string{"PYTHONDONTWRITEBYTECODE=1"},
		map[string]any{"project": "ristio-mesh-python", "program": filepath.Join(pulumitest.RepoRoot(), "examples", "python", "__main__.py")})
}

func goRunner(t *testing.T, env map[string]string) runner {
	bin := filepath.Join(t.TempDir(), "godriver")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = driverPath("go")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the Go driver: %v\n%s", err, out)
	}
	return newDriver(t, env, []string{bin}, nil, map[string]any{"project": "ristio-mesh-go"})
}

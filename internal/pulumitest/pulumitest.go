// Package pulumitest runs Pulumi programs through the real Pulumi CLI and the
// freshly built ristio plugin, with a local file backend. Test-only.
package pulumitest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Passphrase encrypts the test stacks' secrets.
const Passphrase = "ristio-test-passphrase"

var (
	buildOnce sync.Once
	pluginDir string
	buildErr  error
)

// RepoRoot is the repository's top directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// ToolsDir holds bin/pulumi, bin/pulumi-language-yaml and
// bin/pulumi-language-java, built by `make tools`.
func ToolsDir() string {
	if d := os.Getenv("RISTIO_TOOLS_DIR"); d != "" {
		return d
	}
	return filepath.Join(RepoRoot(), ".tools")
}

// PluginDir builds pulumi-resource-ristio once per test binary and returns its
// directory: <tmp>/ristio-plugins/<pid>. Test binaries have no hook at exit,
// so each build first removes the directories of processes that are gone
// (a plugin is 150 MB).
func PluginDir(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		parent := filepath.Join(os.TempDir(), "ristio-plugins")
		removeStalePluginDirs(parent)
		dir := filepath.Join(parent, strconv.Itoa(os.Getpid()))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			buildErr = err
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "pulumi-resource-ristio"), "./cmd/pulumi-resource-ristio")
		cmd.Dir = RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building plugin: %v\n%s", err, out)
			return
		}
		pluginDir = dir
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return pluginDir
}

// removeStalePluginDirs deletes the plugin directories of test processes that
// no longer run.
func removeStalePluginDirs(parent string) {
	entries, _ := os.ReadDir(parent)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || processRuns(pid) {
			continue
		}
		_ = os.RemoveAll(filepath.Join(parent, e.Name()))
	}
}

// processRuns says whether a process with this pid exists.
func processRuns(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return p.Signal(syscall.Signal(0)) == nil
}

// Env is what a Pulumi CLI run needs: PATH with the CLI, YAML host and the
// plugin built from this tree, a file backend and a passphrase.
func Env(t testing.TB) map[string]string {
	t.Helper()
	env := CLIEnv(t)
	env["PATH"] = PluginDir(t) + string(os.PathListSeparator) + env["PATH"]
	return env
}

// CLIEnv is Env without the plugin on PATH: the engine must find it where it
// installs plugins.
func CLIEnv(t testing.TB) map[string]string {
	t.Helper()
	bin := filepath.Join(ToolsDir(), "bin")
	if _, err := os.Stat(filepath.Join(bin, "pulumi")); err != nil {
		t.Fatalf("the Pulumi CLI is missing from %s: run `make tools` first", bin)
	}
	home := t.TempDir()
	backend := t.TempDir()
	return map[string]string{
		"PATH":                                     bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"PULUMI_HOME":                              home,
		"PULUMI_BACKEND_URL":                       "file://" + backend,
		"PULUMI_CONFIG_PASSPHRASE":                 Passphrase,
		"PULUMI_SKIP_UPDATE_CHECK":                 "true",
		"PULUMI_DIY_BACKEND_NO_LEGACY_WARNING":     "true",
		"PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
	}
}

// ConverterEnv is Env with pulumi-converter-ristioctl, built from this tree,
// next to the plugin on PATH, for `pulumi convert --from ristioctl`.
func ConverterEnv(t testing.TB) map[string]string {
	t.Helper()
	env := Env(t)
	build := exec.Command("go", "build", "-o", filepath.Join(PluginDir(t), "pulumi-converter-ristioctl"), "./cmd/pulumi-converter-ristioctl")
	build.Dir = RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the converter: %v\n%s", err, out)
	}
	return env
}

// Run runs the pinned CLI in dir with env added to this process's
// environment, and returns what it printed.
func Run(t testing.TB, env map[string]string, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(ToolsDir(), "bin", "pulumi"), args...)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Command is the pinned Pulumi CLI.
func Command(t testing.TB) auto.PulumiCommand {
	t.Helper()
	cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: ToolsDir(), SkipVersionCheck: true})
	if err != nil {
		t.Fatalf("pulumi CLI: %v", err)
	}
	return cmd
}

// InlineStack makes a stack running program in-process: no language host needed.
// The stack is destroyed and removed when the test ends, if anything is left.
func InlineStack(t testing.TB, project string, program pulumi.RunFunc) auto.Stack {
	t.Helper()
	ctx := context.Background()
	env := Env(t)
	stack, err := auto.UpsertStackInlineSource(ctx, "test", project, program,
		auto.Pulumi(Command(t)), auto.EnvVars(env), auto.WorkDir(t.TempDir()),
		auto.SecretsProvider("passphrase"))
	if err != nil {
		t.Fatalf("creating stack: %v", err)
	}
	return stack
}

// LocalStack makes a stack from a project directory (e.g. a YAML example),
// run with the plugin built from this tree on PATH.
func LocalStack(t testing.TB, dir string) auto.Stack {
	t.Helper()
	return LocalStackIn(t, dir, Env(t))
}

// LocalStackIn is LocalStack in the environment env.
func LocalStackIn(t testing.TB, dir string, env map[string]string) auto.Stack {
	t.Helper()
	stack, err := auto.UpsertStackLocalSource(context.Background(), "test", dir,
		auto.Pulumi(Command(t)), auto.EnvVars(env), auto.SecretsProvider("passphrase"))
	if err != nil {
		t.Fatalf("creating stack in %s: %v", dir, err)
	}
	return stack
}

// Up runs `pulumi up` and fails the test on error.
func Up(t testing.TB, stack auto.Stack, opts ...optup.Option) auto.UpResult {
	t.Helper()
	var out strings.Builder
	opts = append(opts, optup.ProgressStreams(&out), optup.ErrorProgressStreams(&out))
	res, err := stack.Up(context.Background(), opts...)
	if err != nil {
		t.Fatalf("pulumi up: %v\n%s", err, out.String())
	}
	return res
}

// Preview runs `pulumi preview` and returns the counts of each operation.
func Preview(t testing.TB, stack auto.Stack, opts ...optpreview.Option) auto.PreviewResult {
	t.Helper()
	var out strings.Builder
	opts = append(opts, optpreview.ProgressStreams(&out), optpreview.ErrorProgressStreams(&out))
	res, err := stack.Preview(context.Background(), opts...)
	if err != nil {
		t.Fatalf("pulumi preview: %v\n%s", err, out.String())
	}
	return res
}

// Changes sums every operation of a preview except "same".
func Changes(res auto.PreviewResult) map[string]int {
	out := map[string]int{}
	for op, n := range res.ChangeSummary {
		if op != "same" && n > 0 {
			out[string(op)] = n
		}
	}
	return out
}

// Command godriver runs one Automation API operation on an inline program
// that is examples/go's mesh.Program. Usage: godriver up|preview|destroy request.json
// The request names the project, stack, work dir and config; the result
// (outputs, change summary, resource steps) is one JSON line on stdout, and
// the engine's own output goes to stderr.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"

	"github.com/ristio/pulumi-ristio/examples/go/mesh"
)

type request struct {
	Project string            `json:"project"`
	Stack   string            `json:"stack"`
	WorkDir string            `json:"workDir"`
	Config  map[string]string `json:"config"`
}

type step struct {
	Op   string `json:"op"`
	Type string `json:"type"`
	URN  string `json:"urn"`
}

type result struct {
	Steps   []step         `json:"steps"`
	Summary map[string]int `json:"summary"`
	Outputs map[string]any `json:"outputs,omitempty"`
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: godriver up|preview|destroy request.json")
		os.Exit(2)
	}
	if err := run(context.Background(), os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintf(os.Stderr, "godriver: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, op, requestPath string) error {
	data, err := os.ReadFile(requestPath)
	if err != nil {
		return err
	}
	var req request
	if err := json.Unmarshal(data, &req); err != nil {
		return fmt.Errorf("%s: %w", requestPath, err)
	}
	stack, err := auto.UpsertStackInlineSource(ctx, req.Stack, req.Project, mesh.Program, auto.WorkDir(req.WorkDir))
	if err != nil {
		return err
	}
	config := auto.ConfigMap{}
	for k, v := range req.Config {
		config[k] = auto.ConfigValue{Value: v}
	}
	if err := stack.SetAllConfig(ctx, config); err != nil {
		return err
	}

	ch := make(chan events.EngineEvent)
	var res result
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range ch {
			if e.ResourcePreEvent != nil {
				m := e.ResourcePreEvent.Metadata
				res.Steps = append(res.Steps, step{Op: string(m.Op), Type: m.Type, URN: m.URN})
			}
		}
	}()
	switch op {
	case "up":
		r, err := stack.Up(ctx, optup.ProgressStreams(os.Stderr), optup.EventStreams(ch))
		if err != nil {
			return err
		}
		<-done
		res.Summary = counts(r.Summary.ResourceChanges)
		res.Outputs = map[string]any{}
		for k, v := range r.Outputs {
			res.Outputs[k] = v.Value
		}
	case "preview":
		r, err := stack.Preview(ctx, optpreview.ProgressStreams(os.Stderr), optpreview.EventStreams(ch))
		if err != nil {
			return err
		}
		<-done
		res.Summary = map[string]int{}
		for k, n := range r.ChangeSummary {
			res.Summary[string(k)] = n
		}
	case "destroy":
		r, err := stack.Destroy(ctx, optdestroy.ProgressStreams(os.Stderr), optdestroy.EventStreams(ch))
		if err != nil {
			return err
		}
		<-done
		res.Summary = counts(r.Summary.ResourceChanges)
	default:
		return fmt.Errorf("unknown operation %q", op)
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

func counts(m *map[string]int) map[string]int {
	if m == nil {
		return map[string]int{}
	}
	return *m
}

package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/ristio/pulumi-ristio/pkg/naming"
)

var (
	_ infer.CustomResource[RemoteSecretSetArgs, RemoteSecretSetState]       = (*RemoteSecretSet)(nil)
	_ infer.CustomCheck[RemoteSecretSetArgs]                                = (*RemoteSecretSet)(nil)
	_ infer.CustomDiff[RemoteSecretSetArgs, RemoteSecretSetState]           = (*RemoteSecretSet)(nil)
	_ infer.CustomUpdate[RemoteSecretSetArgs, RemoteSecretSetState]         = (*RemoteSecretSet)(nil)
	_ infer.CustomRead[RemoteSecretSetArgs, RemoteSecretSetState]           = (*RemoteSecretSet)(nil)
	_ infer.CustomDelete[RemoteSecretSetState]                              = (*RemoteSecretSet)(nil)
	_ infer.ExplicitDependencies[RemoteSecretSetArgs, RemoteSecretSetState] = (*RemoteSecretSet)(nil)
)

// WireDependencies makes secrets unknown in a preview only when an option
// of every source changes. A source added or removed leaves the others'
// entries as they are, so the checks that read them show no change (infer's
// default would make any input change turn every entry unknown).
func (r *RemoteSecretSet) WireDependencies(f infer.FieldSelector, args *RemoteSecretSetArgs, state *RemoteSecretSetState) {
	f.OutputField(&state.Secrets).DependsOn(
		f.InputField(&args.Target).Computed(),
		f.InputField(&args.ReaderTokenMode).Computed(),
		f.InputField(&args.ReaderTokenTTLHours).Computed(),
	)
}

// setParallelism bounds how many sources a RemoteSecretSet writes at once:
// each is a token request to the source and a write to the target.
const setParallelism = 8

// pairs is the RemoteSecret logic the set runs once per source.
func (r *RemoteSecretSet) pairs() *RemoteSecret { return newRemoteSecret(r.deps) }

// Check validates the target, every source and the options, naming the
// source whose entry is wrong.
func (r *RemoteSecretSet) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[RemoteSecretSetArgs], error) {
	return checkInputs(ctx, req, func(args RemoteSecretSetArgs, _ *RemoteSecretSetArgs) (failures []p.CheckFailure) {
		failures = checkConnection("target", req.NewInputs, args.Target)
		failures = append(failures, checkRemoteSecretOptions("", args.Target.Name, RemoteSecretArgs{ReaderTokenMode: args.ReaderTokenMode, ReaderTokenTTLHours: args.ReaderTokenTTLHours})...)
		failures = append(failures, checkRestartPolicy("restartIstiodAfterSecretRotation", args.Target.Name, args.RestartIstiod)...)
		raw := req.NewInputs.Get("sources")
		for _, name := range slices.Sorted(maps.Keys(args.Sources)) {
			src, field := args.Sources[name], "sources."+name
			switch {
			case src.Cluster.Name != name:
				failures = append(failures, p.CheckFailure{Property: field + ".cluster.name", Reason: fmt.Sprintf("source %q is cluster %q: the key must be the cluster's name", name, src.Cluster.Name)})
			case name == args.Target.Name:
				failures = append(failures, p.CheckFailure{Property: field, Reason: fmt.Sprintf("cluster %q is the target: a cluster needs no remote secret for itself", name)})
			}
			if raw.IsMap() && raw.AsMap().Get(name).IsMap() {
				for _, f := range checkConnection("cluster", raw.AsMap().Get(name).AsMap(), src.Cluster) {
					f.Property = field + "." + f.Property
					failures = append(failures, f)
				}
			}
			failures = append(failures, checkRemoteSecretOptions(field+".", name, RemoteSecretArgs{RemoteAPIServer: src.RemoteAPIServer})...)
		}
		return failures
	})
}

// Diff lists the set's own input changes, then each source as its own
// entry: added, removed, or changed the way a RemoteSecret of that pair
// would be (its inputs, a hand edit, a token due for renewal).
func (r *RemoteSecretSet) Diff(ctx context.Context, req infer.DiffRequest[RemoteSecretSetArgs, RemoteSecretSetState]) (infer.DiffResponse, error) {
	diff := diffInputs(withoutSources(req.State.RemoteSecretSetArgs), withoutSources(req.Inputs))
	for name, kind := range sourceChanges(req.State, req.Inputs) {
		diff["sources."+name] = p.PropertyDiff{Kind: kind, InputDiff: kind != p.Update}
	}
	for _, name := range kept(req.State, req.Inputs) {
		for path, d := range r.pairs().changes(req.State.pair(name), req.Inputs.pair(name)) {
			switch {
			case strings.HasPrefix(path, "source."):
				diff["sources."+name+".cluster."+strings.TrimPrefix(path, "source.")] = d
			case path == "remoteApiServer":
				diff["sources."+name+"."+path] = d
			case path == "tokenExpiresAt":
				p.GetLogger(ctx).Infof("%s -> %s: reader token expires %s and is due for renewal", name, req.State.Target.Name, req.State.Secrets[name].TokenExpiresAt)
				diff["secrets."+name+"."+path] = d
			case path == "checksum":
				diff["secrets."+name+"."+path] = d
			}
			// Other paths are the set's own inputs, diffed above.
		}
	}
	return diffResponse(diff), nil
}

func withoutSources(a RemoteSecretSetArgs) RemoteSecretSetArgs {
	a.Sources = nil
	return a
}

// sourceChanges is every source to add (in the inputs, not yet written) or
// to remove (written, no longer in the inputs).
func sourceChanges(state RemoteSecretSetState, inputs RemoteSecretSetArgs) map[string]p.DiffKind {
	out := map[string]p.DiffKind{}
	for name := range inputs.Sources {
		if _, ok := state.Secrets[name]; !ok {
			out[name] = p.Add
		}
	}
	for name := range state.Secrets {
		if _, ok := inputs.Sources[name]; !ok {
			out[name] = p.Delete
		}
	}
	return out
}

// kept is every source both written and still wanted, sorted.
func kept(state RemoteSecretSetState, inputs RemoteSecretSetArgs) []string {
	var out []string
	for name := range inputs.Sources {
		if _, ok := state.Secrets[name]; ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// Create writes every source's secret. Those written are kept in state even
// when another fails, so the next `up` writes only what is missing and a
// destroy removes what was made.
func (r *RemoteSecretSet) Create(ctx context.Context, req infer.CreateRequest[RemoteSecretSetArgs]) (infer.CreateResponse[RemoteSecretSetState], error) {
	id := newID(req.Name)
	state := RemoteSecretSetState{RemoteSecretSetArgs: req.Inputs, Secrets: map[string]RemoteSecretStatus{}}
	if req.DryRun {
		var refs []objectRef
		for _, name := range slices.Sorted(maps.Keys(req.Inputs.Sources)) {
			refs = append(refs, objectRef{secretGVK, naming.IstioNamespace, naming.RemoteSecret(name)})
		}
		err := r.deps.previewClaims(ctx, req.Inputs.Target, req.Inputs.Adopt, writerOf(req.Inputs, id, false), takeover{objects: refs})
		if deref(req.Inputs.Adopt) {
			for _, name := range slices.Sorted(maps.Keys(req.Inputs.Sources)) {
				r.deps.previewAdoptedServer(ctx, req.Inputs.pair(name))
			}
			names := make([]string, len(refs))
			for i, ref := range refs {
				names[i] = ref.name
			}
			r.deps.previewAdoptedRewrites(ctx, req.Inputs.Target, req.Inputs.RestartIstiod, names...)
		}
		return infer.CreateResponse[RemoteSecretSetState]{ID: id, Output: state}, err
	}
	err := r.write(ctx, writerOf(req.Inputs, id, false), RemoteSecretSetState{}, &state)
	return infer.CreateResponse[RemoteSecretSetState]{ID: id, Output: state}, partial(err)
}

// Update writes the sources that are new or changed and deletes the secrets
// of sources that left; sources whose only change is how they are reached
// are recorded without touching either cluster.
func (r *RemoteSecretSet) Update(ctx context.Context, req infer.UpdateRequest[RemoteSecretSetArgs, RemoteSecretSetState]) (infer.UpdateResponse[RemoteSecretSetState], error) {
	state := req.State
	state.RemoteSecretSetArgs = req.Inputs
	state.Secrets = maps.Clone(req.State.Secrets)
	if state.Secrets == nil {
		state.Secrets = map[string]RemoteSecretStatus{}
	}
	if req.DryRun {
		if rewrites := r.rewrites(req.State, state.RemoteSecretSetArgs); len(rewrites) > 0 {
			for _, name := range rewrites {
				previewServerChange(ctx, req.Inputs.pair(name), req.State.Secrets[name])
			}
			r.deps.previewRestart(ctx, req.Inputs.Target, req.Inputs.RestartIstiod)
		}
		return infer.UpdateResponse[RemoteSecretSetState]{Output: state}, nil
	}
	err := r.write(ctx, writerOf(req.Inputs, req.ID, true), req.State, &state)
	return infer.UpdateResponse[RemoteSecretSetState]{Output: state}, partial(err)
}

// write brings the target's secrets from old to state's inputs, recording
// in state.Secrets each source as written. A source that fails is marked
// drifted (or left out, if new), so the next preview shows it again.
func (r *RemoteSecretSet) write(ctx context.Context, w writer, old RemoteSecretSetState, state *RemoteSecretSetState) error {
	ctx, cancel := withTimeout(ctx, state.TimeoutSeconds)
	defer cancel()
	var errs []error
	for name, kind := range sourceChanges(old, state.RemoteSecretSetArgs) {
		if kind != p.Delete {
			continue
		}
		if err := r.pairs().remove(ctx, writerOf(old, w.owner, true), old.pair(name)); err != nil {
			// Keep how the source is reached, so the retry acts on it and
			// not on whatever cluster an empty connection reaches.
			state.Sources = maps.Clone(state.Sources)
			if state.Sources == nil {
				state.Sources = map[string]RemoteSecretSource{}
			}
			state.Sources[name] = old.Sources[name]
			errs = append(errs, err)
			continue
		}
		delete(state.Secrets, name)
	}
	var todo []string
	for _, name := range slices.Sorted(maps.Keys(state.Sources)) {
		if _, ok := old.Secrets[name]; !ok {
			todo = append(todo, name)
		}
	}
	todo = append(todo, r.rewrites(old, state.RemoteSecretSetArgs)...)
	for _, name := range r.marks(old, state.RemoteSecretSetArgs) {
		if err := r.pairs().mark(ctx, w, state.pair(name)); err != nil {
			errs = append(errs, err)
		}
	}
	round := r.deps.writingSecrets(state.Target)
	var rewritten []string
	var mu sync.Mutex // guards state.Secrets and rewritten
	errs = append(errs, forEachLimited(todo, setParallelism, func(name string) error {
		pair := state.RemoteSecretSetArgs.pair(name)
		written, rewrote, err := r.pairs().apply(ctx, w, pair, old.Secrets[name])
		if _, ok := old.Secrets[name]; ok && err == nil {
			// Before taking the lock: revoking talks to the source.
			r.pairs().revokeReplaced(ctx, old.pair(name), written.RemoteSecretStatus, pair.ReaderTokenMode)
		}
		mu.Lock()
		defer mu.Unlock()
		if rewrote {
			rewritten = append(rewritten, name)
		}
		if err != nil {
			if prev, ok := state.Secrets[name]; ok {
				prev.Checksum = "" // differs from appliedChecksum: retried by the next up
				state.Secrets[name] = prev
			}
			return err
		}
		state.Secrets[name] = written.RemoteSecretStatus
		return nil
	}))
	// A restart that fails marks what it was for drifted: the next up
	// rewrites those secrets and restarts again.
	if err := round.done(ctx, len(rewritten) > 0, state.RestartIstiod); err != nil {
		errs = append(errs, err)
		for _, name := range rewritten {
			entry := state.Secrets[name]
			entry.Checksum = ""
			state.Secrets[name] = entry
		}
	}
	return errors.Join(errs...)
}

// rewrites lists, sorted, the sources written before and still wanted whose
// secret the inputs change (how it is reached aside), or that drifted.
func (r *RemoteSecretSet) rewrites(old RemoteSecretSetState, in RemoteSecretSetArgs) []string {
	var out []string
	for _, name := range kept(old, in) {
		pair := in.pair(name)
		changes := r.pairs().changes(old.pair(name), pair)
		if len(changes) == 0 || ((quietOnly(changes, pair) || markOnly(changes, pair)) && serverOf(pair, old.Secrets[name]) == old.Secrets[name].Server) {
			continue
		}
		out = append(out, name)
	}
	return out
}

// marks lists, sorted, the sources written before and still wanted whose
// only change is the mesh mark: their objects are marked in place.
func (r *RemoteSecretSet) marks(old RemoteSecretSetState, in RemoteSecretSetArgs) []string {
	var out []string
	for _, name := range kept(old, in) {
		pair := in.pair(name)
		if markOnly(r.pairs().changes(old.pair(name), pair), pair) && serverOf(pair, old.Secrets[name]) == old.Secrets[name].Server {
			out = append(out, name)
		}
	}
	return out
}

// forEachLimited runs fn for every name, at most limit at a time, and joins
// their errors.
func forEachLimited(names []string, limit int, fn func(name string) error) error {
	return fanOut(len(names), limit, func(i int) error { return fn(names[i]) })
}

// Read fingerprints every written secret in the target; a source whose
// secret is gone or edited shows as a change of that source.
func (r *RemoteSecretSet) Read(ctx context.Context, req infer.ReadRequest[RemoteSecretSetArgs, RemoteSecretSetState]) (infer.ReadResponse[RemoteSecretSetArgs, RemoteSecretSetState], error) {
	ctx, cancel := withTimeout(ctx, req.State.TimeoutSeconds) // refresh is bounded like the writes
	defer cancel()
	state := req.State
	state.Secrets = maps.Clone(req.State.Secrets)
	var mu sync.Mutex // guards state.Secrets
	err := forEachLimited(slices.Sorted(maps.Keys(state.Secrets)), setParallelism, func(name string) error {
		got, err := r.pairs().fingerprint(ctx, req.State.pair(name))
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		entry := state.Secrets[name]
		entry.Checksum = got
		state.Secrets[name] = entry
		return nil
	})
	if err != nil {
		return infer.ReadResponse[RemoteSecretSetArgs, RemoteSecretSetState]{}, err
	}
	return infer.ReadResponse[RemoteSecretSetArgs, RemoteSecretSetState]{ID: req.ID, Inputs: req.Inputs, State: state}, nil
}

// Delete removes every secret the set wrote, and long-lived tokens from
// their sources; a source that is gone does not block it.
func (r *RemoteSecretSet) Delete(ctx context.Context, req infer.DeleteRequest[RemoteSecretSetState]) (infer.DeleteResponse, error) {
	s := req.State
	ctx, cancel := withTimeout(ctx, s.TimeoutSeconds)
	defer cancel()
	return infer.DeleteResponse{}, forEachLimited(slices.Sorted(maps.Keys(s.Secrets)), setParallelism, func(name string) error {
		return r.pairs().remove(ctx, writerOf(s, req.ID, true), s.pair(name))
	})
}

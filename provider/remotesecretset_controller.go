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

// newRemoteSecretSet builds the resource over the RemoteSecret logic it
// runs once per source: it reaches the target once, and each source as a
// RemoteSecret does.
func newRemoteSecretSet(deps Deps) *RemoteSecretSet {
	r := &RemoteSecretSet{deps: deps, pairs: newRemoteSecret(deps)}
	r.clusterResource = clusterResource[RemoteSecretSetArgs, RemoteSecretSetState, remoteSecretKube]{
		connect: func(ctx context.Context, c ClusterConnection, w writer) (remoteSecretKube, error) {
			return r.pairs.connect(ctx, c, w)
		},
		claims: deps,
		takeover: func(in RemoteSecretSetArgs, _ *RemoteSecretSetState) takeover {
			var t takeover
			for _, name := range slices.Sorted(maps.Keys(in.Sources)) {
				t.objects = append(t.objects, remoteSecretRef(name))
			}
			return t
		},
		drift: func(s RemoteSecretSetState) map[string]bool {
			off := map[string]bool{}
			for name := range s.Secrets {
				for _, drifted := range r.pairs.drift(s.pair(name)) {
					off["secrets."+name] = off["secrets."+name] || drifted
				}
			}
			return off
		},
		apply: r.write, read: r.read, remove: r.remove, mark: r.mark, preview: r.preview,
	}
	return r
}

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
		for path, d := range r.pairs.changes(req.State.pair(name), req.Inputs.pair(name)) {
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

// preview says, for an adoption, which API server each istioctl secret
// will point at, and for an update, each source whose server changes;
// both say whether the target's istiods restart.
func (r *RemoteSecretSet) preview(ctx context.Context, in RemoteSecretSetArgs, prior *RemoteSecretSetState) RemoteSecretSetState {
	if prior != nil {
		if rewrites, _ := r.plan(*prior, in); len(rewrites) > 0 {
			for _, name := range rewrites {
				previewServerChange(ctx, in.pair(name), prior.Secrets[name])
			}
			r.deps.previewRestart(ctx, in.Target, in.RestartIstiod)
		}
		return withArgs(*prior, in)
	}
	if deref(in.Adopt) {
		var names []string
		for _, name := range slices.Sorted(maps.Keys(in.Sources)) {
			r.deps.previewAdoptedServer(ctx, in.pair(name))
			names = append(names, naming.RemoteSecret(name))
		}
		r.deps.previewAdoptedRewrites(ctx, in.Target, in.RestartIstiod, names...)
	}
	return RemoteSecretSetState{RemoteSecretSetArgs: in, Secrets: map[string]RemoteSecretStatus{}}
}

// write brings the secrets in dst, the target, from prior (nil on create)
// to in, recording in state.Secrets each source as written: those written
// are kept even when another fails, so the next up writes only what is
// missing and a destroy removes what was made. A source that fails is
// marked drifted (or left out, if new), so the next preview shows it again.
// Sources whose only change is how they are reached are recorded without
// touching either cluster.
func (r *RemoteSecretSet) write(ctx context.Context, dst remoteSecretKube, w writer, in RemoteSecretSetArgs, prior *RemoteSecretSetState) (RemoteSecretSetState, bool, error) {
	var old RemoteSecretSetState
	if prior != nil {
		old = *prior
	}
	state := RemoteSecretSetState{RemoteSecretSetArgs: in, Secrets: maps.Clone(old.Secrets)}
	if state.Secrets == nil {
		state.Secrets = map[string]RemoteSecretStatus{}
	}
	var errs []error
	for name, kind := range sourceChanges(old, state.RemoteSecretSetArgs) {
		if kind != p.Delete {
			continue
		}
		if err := r.pairs.remove(ctx, dst, writerOf(old, w.owner, true), old.pair(name)); err != nil {
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
	rewrites, marks := r.plan(old, state.RemoteSecretSetArgs)
	todo = append(todo, rewrites...)
	for _, name := range marks {
		if err := r.pairs.mark(ctx, w, state.pair(name)); err != nil {
			errs = append(errs, err)
		}
	}
	round := r.deps.writingSecrets(state.Target)
	var rewritten []string
	var mu sync.Mutex // guards state.Secrets and rewritten
	errs = append(errs, forEachLimited(todo, setParallelism, func(name string) error {
		pair := state.RemoteSecretSetArgs.pair(name)
		written, rewrote, err := r.pairs.writeSecret(ctx, dst, w, pair, old.Secrets[name])
		if _, ok := old.Secrets[name]; ok && err == nil {
			// Before taking the lock: revoking talks to the source.
			r.pairs.revokeReplaced(ctx, old.pair(name), written.RemoteSecretStatus, pair.ReaderTokenMode)
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
	return state, prior != nil || len(state.Secrets) > 0, errors.Join(errs...)
}

// plan lists, sorted, the sources written before and still wanted whose
// secret the inputs change (how a source is reached aside) or that
// drifted, and those whose only change is the mesh mark, marked in place.
func (r *RemoteSecretSet) plan(old RemoteSecretSetState, in RemoteSecretSetArgs) (rewrites, marks []string) {
	for _, name := range kept(old, in) {
		prior, pair := old.pair(name), in.pair(name)
		changes, inPlace := r.pairs.changes(prior, pair), !r.pairs.rewrite(prior, pair)
		switch {
		case len(changes) == 0 || inPlace && quietOnly(changes, pair):
		case inPlace && markOnly(changes, pair):
			marks = append(marks, name)
		default:
			rewrites = append(rewrites, name)
		}
	}
	return rewrites, marks
}

// forEachLimited runs fn for every name, at most limit at a time, and joins
// their errors.
func forEachLimited(names []string, limit int, fn func(name string) error) error {
	return fanOut(len(names), limit, func(i int) error { return fn(names[i]) })
}

// mark gives every source's secret and token binding w's mark in place (a
// change of meshIdentity alone).
func (r *RemoteSecretSet) mark(ctx context.Context, w writer, s RemoteSecretSetState) error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(s.Secrets)) {
		errs = append(errs, r.pairs.mark(ctx, w, s.pair(name)))
	}
	return errors.Join(errs...)
}

// read fingerprints every written secret in dst, the target; a source
// whose secret is gone or edited shows as a change of that source.
func (r *RemoteSecretSet) read(ctx context.Context, dst remoteSecretKube, s RemoteSecretSetState) (RemoteSecretSetState, error) {
	state := s
	state.Secrets = maps.Clone(s.Secrets)
	var mu sync.Mutex // guards state.Secrets
	err := forEachLimited(slices.Sorted(maps.Keys(state.Secrets)), setParallelism, func(name string) error {
		got, err := fingerprint(ctx, dst, s.pair(name))
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
	return state, err
}

// remove deletes every secret the set wrote in dst, the target, and
// revokes their tokens; a source that is gone does not block it.
func (r *RemoteSecretSet) remove(ctx context.Context, dst remoteSecretKube, w writer, s RemoteSecretSetState) error {
	return forEachLimited(slices.Sorted(maps.Keys(s.Secrets)), setParallelism, func(name string) error {
		return r.pairs.remove(ctx, dst, w, s.pair(name))
	})
}

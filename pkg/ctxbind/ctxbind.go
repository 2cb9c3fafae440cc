// Package ctxbind binds work that takes no context to one: Helm's SDK,
// registry client and HTTP getters make requests and run steps that a
// caller's cancellation or deadline would otherwise never reach.
package ctxbind

import (
	"context"
	"io"
	"net/http"
	"sync"
)

// RoundTripper ends each request when either its own context or Context()
// ends. Context is read per request, so a long-lived client can follow the
// workflow running now; a nil Context, or a context that never ends, adds
// nothing.
type RoundTripper struct {
	Next    http.RoundTripper
	Context func() context.Context
}

// Transport returns a RoundTripper that ends every request with ctx.
func Transport(ctx context.Context, next http.RoundTripper) RoundTripper {
	return RoundTripper{Next: next, Context: func() context.Context { return ctx }}
}

// RoundTrip sends req bound to both contexts. The merged context lives until
// the response body is closed, so a body read after RoundTrip returns still
// ends with the outer context.
func (t RoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.Context == nil {
		return t.Next.RoundTrip(req)
	}
	outer := t.Context()
	if outer.Done() == nil {
		return t.Next.RoundTrip(req)
	}
	ctx, cancel := merge(req.Context(), outer)
	resp, err := t.Next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// merge returns a context that ends when either a or b ends, with b's cause
// when b ends first. When b has already ended, so has the merged context:
// AfterFunc would end it only from a goroutine of its own, after a request
// may have gone out.
func merge(a, b context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(a)
	if b.Err() != nil {
		cancel(context.Cause(b))
		return ctx, func() { cancel(nil) }
	}
	stop := context.AfterFunc(b, func() { cancel(context.Cause(b)) })
	return ctx, func() {
		stop()
		cancel(nil)
	}
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// call runs f, which knows no context, and returns its result, or ctx's
// error as soon as ctx ends; f then goes on in the background and its
// result is dropped. It is CallInTurn's, and not exported: work left running
// must keep a turn, or it overlaps what comes next (an abandoned Helm
// uninstall purging the release the next install writes).
func call[T any](ctx context.Context, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1) // buffered: f's goroutine never blocks on a caller gone
	go func() {
		v, err := f()
		done <- result{v, err}
	}()
	select {
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	case r := <-done:
		return r.v, r.err
	}
}

// Turn lets work bound to callers' contexts run one piece at a time (see
// CallInTurn). The zero Turn is ready to use; a Turn must not be copied.
type Turn struct {
	once sync.Once
	held chan struct{}
}

func (t *Turn) token() chan struct{} {
	t.once.Do(func() { t.held = make(chan struct{}, 1) })
	return t.held
}

// CallInTurn runs f, which knows no context, when t's turn comes: it waits
// for the turn while ctx lasts, then runs f, and returns f's result, or
// ctx's error as soon as ctx ends. f keeps the turn until it has returned,
// after its caller has gone if need be: the work that takes the turn next
// never overlaps what is left of f.
func CallInTurn[T any](ctx context.Context, t *Turn, f func() (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	select {
	case t.token() <- struct{}{}:
	case <-ctx.Done():
		return zero, ctx.Err()
	}
	return call(ctx, func() (T, error) {
		defer func() { <-t.token() }()
		return f()
	})
}

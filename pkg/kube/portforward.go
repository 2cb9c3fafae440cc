package kube

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream" //nolint:staticcheck // client-go's SPDY dialer still returns this package's Connection
	"k8s.io/client-go/transport/spdy"
)

// portForwardProtocol is the port-forward subprotocol the API server and the
// kubelet speak (client-go's portforward.PortForwardProtocolV1Name).
const portForwardProtocol = "portforward.k8s.io"

// DialPod opens one TCP connection to a pod's port through the API server's
// port-forward subresource, the path `kubectl port-forward` and istioctl
// take: no Service, no exposed port, only the caller's RBAC (pods/portforward).
func (c *Client) DialPod(ctx context.Context, ns, pod string, port int) (net.Conn, error) {
	if c.config == nil {
		return nil, errors.New("port-forward needs a client built from a REST config")
	}
	transport, upgrader, err := spdy.RoundTripperFor(c.config)
	if err != nil {
		return nil, err
	}
	url := c.kube.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("portforward").URL()
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, url)

	type dialed struct {
		conn httpstream.Connection
		err  error
	}
	ch := make(chan dialed, 1)
	go func() {
		conn, _, err := dialer.Dial(portForwardProtocol)
		ch <- dialed{conn, err}
	}()
	var streams httpstream.Connection
	select {
	case d := <-ch:
		if d.err != nil {
			return nil, fmt.Errorf("port-forward to pod %s port %d: %w", ref(ns, pod), port, d.err)
		}
		streams = d.conn
	case <-ctx.Done():
		go func() {
			if d := <-ch; d.conn != nil {
				_ = d.conn.Close()
			}
		}()
		return nil, fmt.Errorf("port-forward to pod %s port %d: %w", ref(ns, pod), port, ctx.Err())
	}

	headers := http.Header{}
	headers.Set(corev1.PortHeader, strconv.Itoa(port))
	headers.Set(corev1.PortForwardRequestIDHeader, "0")
	headers.Set(corev1.StreamType, corev1.StreamTypeError)
	errStream, err := streams.CreateStream(headers)
	if err != nil {
		_ = streams.Close()
		return nil, fmt.Errorf("port-forward to pod %s port %d: error stream: %w", ref(ns, pod), port, err)
	}
	errStream.Close() // nothing is sent on it; the kubelet writes why a dial failed
	headers.Set(corev1.StreamType, corev1.StreamTypeData)
	data, err := streams.CreateStream(headers)
	if err != nil {
		_ = streams.Close()
		return nil, fmt.Errorf("port-forward to pod %s port %d: data stream: %w", ref(ns, pod), port, err)
	}
	pc := &podConn{streams: streams, data: data, remote: podAddr(ref(ns, pod) + ":" + strconv.Itoa(port)), remoteErr: make(chan error, 1)}
	go func() {
		msg, err := io.ReadAll(errStream)
		switch {
		case err != nil:
			pc.remoteErr <- err
		case len(msg) > 0:
			pc.remoteErr <- fmt.Errorf("pod %s port %d: %s", ref(ns, pod), port, msg)
		default:
			pc.remoteErr <- nil
		}
	}()
	return pc, nil
}

// podConn is a port-forwarded connection as a net.Conn. Deadlines are not
// supported by the streams; callers bound their work with a context instead
// (closing the connection when it ends).
type podConn struct {
	streams   httpstream.Connection
	data      httpstream.Stream
	remote    podAddr
	remoteErr chan error
	closeOnce sync.Once
}

func (c *podConn) Read(b []byte) (int, error) {
	n, err := c.data.Read(b)
	if errors.Is(err, io.EOF) && n == 0 {
		// A dial failure on the pod's side arrives on the error stream and
		// ends the data stream: report it rather than a bare EOF.
		select {
		case rerr := <-c.remoteErr:
			if rerr != nil {
				return 0, rerr
			}
		case <-time.After(100 * time.Millisecond):
		}
	}
	return n, err
}

func (c *podConn) Write(b []byte) (int, error) { return c.data.Write(b) }

func (c *podConn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.data.Close()
		err = c.streams.Close()
	})
	return err
}

func (c *podConn) LocalAddr() net.Addr              { return podAddr("port-forward") }
func (c *podConn) RemoteAddr() net.Addr             { return c.remote }
func (c *podConn) SetDeadline(time.Time) error      { return nil }
func (c *podConn) SetReadDeadline(time.Time) error  { return nil }
func (c *podConn) SetWriteDeadline(time.Time) error { return nil }

type podAddr string

func (a podAddr) Network() string { return "port-forward" }
func (a podAddr) String() string  { return string(a) }

// PodGet sends GET path to a pod's port through port-forward and returns the
// body of a 200 answer.
func (c *Client) PodGet(ctx context.Context, ns, pod string, port int, path string) ([]byte, error) {
	transport := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return c.DialPod(ctx, ns, pod, port)
		},
		DisableKeepAlives: true,
	}
	defer transport.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+pod+":"+strconv.Itoa(port)+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s on pod %s port %d: %s", path, ref(ns, pod), port, resp.Status)
	}
	return body, nil
}

// PodTLSChain opens TLS to a pod's port through port-forward and returns the
// certificate chain it presents. Nothing is verified here: the caller judges
// the chain against the roots it cares about.
func (c *Client) PodTLSChain(ctx context.Context, ns, pod string, port int, serverName string) ([]*x509.Certificate, error) {
	conn, err := c.DialPod(ctx, ns, pod, port)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	tc := tls.Client(conn, &tls.Config{
		ServerName:         serverName,
		InsecureSkipVerify: true, //nolint:gosec // the chain is returned to be verified by the caller
		NextProtos:         []string{"h2"},
		MinVersion:         tls.VersionTLS12,
	})
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("TLS handshake with pod %s port %d: %w", ref(ns, pod), port, err)
	}
	return tc.ConnectionState().PeerCertificates, nil
}

package sandbox

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"k8s.io/apimachinery/pkg/version"
)

// The sandbox builds one kube-apiserver (v1.31.x), but a fleet's clusters
// are at other versions: cutover reads the control plane's version from
// the apiserver (/version: preflight's deprecation window, green's
// verification against the target). A version proxy in front of an
// apiserver answers /version as a control plane at the cluster's version
// would, and passes every other request through unchanged (watches
// streamed), so the activities see the version EKS reports for the
// cluster. It serves with the apiserver's own certificate, so the
// kubeconfig's CA and token are the same.

// versionProxy is one running proxy.
type versionProxy struct {
	srv  *http.Server
	done chan struct{}
}

func (p *versionProxy) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := p.srv.Shutdown(ctx)
	<-p.done
	return err
}

// controlPlaneVersion is what /version answers for minor version v
// ("1.30"): an EKS-like git version of that minor.
func controlPlaneVersion(v string) (version.Info, error) {
	major, minor, ok := strings.Cut(v, ".")
	if !ok || major == "" || minor == "" {
		return version.Info{}, fmt.Errorf("version %q is not major.minor", v)
	}
	return version.Info{
		Major: major, Minor: minor, GitVersion: "v" + v + ".14-eks-sandbox", GitTreeState: "clean",
		BuildDate: "2025-06-01T00:00:00Z", GoVersion: runtime.Version(), Compiler: runtime.Compiler, Platform: "linux/amd64",
	}, nil
}

// startVersionProxy puts a proxy reporting Kubernetes version v in front
// of k's apiserver (its certificates are in dir/pki, as StartKube writes
// them), then points k.Server and k's kubeconfig at the proxy.
func startVersionProxy(k *Kube, dir, v string) (*versionProxy, error) {
	if _, err := controlPlaneVersion(v); err != nil {
		return nil, fmt.Errorf("cluster %s: %w", k.Name, err)
	}
	return startVersionProxyFunc(k, dir, func(context.Context) string { return v })
}

// eksVersion is a version source that follows the EKS cluster's version in
// moto (DescribeCluster, read at most once a second), so an in-place
// upgrade's control-plane updates show in /version; "" (the apiserver's
// own answer) while moto is not up or does not know the cluster.
func eksVersion(m func() *Moto, cluster string) func(context.Context) string {
	var mu sync.Mutex
	var last string
	var at time.Time
	return func(ctx context.Context) string {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(at) < time.Second {
			return last
		}
		moto := m()
		if moto == nil {
			return ""
		}
		cfg, err := moto.AWS().ForRegion(ctx, moto.Region)
		if err != nil {
			return last
		}
		out, err := eks.NewFromConfig(cfg).DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(cluster)})
		if err != nil {
			return last
		}
		last, at = aws.ToString(out.Cluster.Version), time.Now()
		return last
	}
}

// startVersionProxyFunc is startVersionProxy with the version read from
// source on each /version request ("" passes the request through).
func startVersionProxyFunc(k *Kube, dir string, source func(context.Context) string) (*versionProxy, error) {
	upstream, err := url.Parse(k.Server)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(k.CAData) {
		return nil, fmt.Errorf("cluster %s: no CA certificate", k.Name)
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "pki", "apiserver.crt"), filepath.Join(dir, "pki", "apiserver.key"))
	if err != nil {
		return nil, fmt.Errorf("cluster %s: version proxy certificate: %w", k.Name, err)
	}
	rp := httputil.NewSingleHostReverseProxy(upstream)
	rp.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, MaxIdleConnsPerHost: 64, ForceAttemptHTTP2: true}
	rp.FlushInterval = -1 // watches stream
	// Watches cut by a client or by Stop are no error of the cluster's:
	// the proxy's own messages go to the sandbox log at debug level.
	rp.ErrorLog = slog.NewLogLogger(k.log.Handler(), slog.LevelDebug)
	mux := http.NewServeMux()
	mux.Handle("/", rp)
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) {
		v := source(r.Context())
		info, err := controlPlaneVersion(v)
		if v == "" || err != nil {
			rp.ServeHTTP(w, r)
			return
		}
		body, _ := json.Marshal(info)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("cluster %s: version proxy: %w", k.Name, err)
	}
	p := &versionProxy{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		if err := p.srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			k.log.Error("Version proxy stopped", "err", err)
		}
	}()
	apiserver := k.Server
	k.Server = "https://" + ln.Addr().String()
	if err := k.WriteKubeconfig(k.Kubeconfig, k.Name); err != nil {
		return nil, errors.Join(err, p.stop())
	}
	k.log.Info("Version proxy serving", "server", k.Server, "apiserver", apiserver)
	return p, nil
}

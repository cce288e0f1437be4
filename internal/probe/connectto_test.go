package probe

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// tlsServer serves https on 127.0.0.1 with a certificate for name only,
// and returns a client trusting it.
func tlsServer(t *testing.T, name string, h http.HandlerFunc) (*httptest.Server, *http.Client) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return srv, &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// TestHostReachesGreenWithTheProductionName: a probe of green's address
// with host shop.example.com presents that name for SNI, the certificate
// check and the Host header; without host the certificate (made for the
// production name only) does not verify.
func TestHostReachesGreenWithTheProductionName(t *testing.T) {
	const name = "shop.example.com"
	var sni, host string
	srv, client := tlsServer(t, name, func(w http.ResponseWriter, r *http.Request) {
		sni, host = r.TLS.ServerName, r.Host
		_, _ = w.Write([]byte("ok from green"))
	})
	r := Runner{Client: client, RetryDelay: time.Millisecond}
	res := r.Run(context.Background(), []Probe{
		{Name: "green-as-prod", URL: srv.URL + "/healthz", Host: name, BodyContains: "from green"},
		{Name: "green-by-address", URL: srv.URL + "/healthz"},
		{Name: "bad-host", URL: srv.URL, Host: "shop.example.com:443"},
	})
	if !res[0].Passed || sni != name || host != name || res[0].URL != srv.URL+"/healthz" {
		t.Errorf("with host: %+v; server saw SNI %q Host %q", res[0], sni, host)
	}
	if res[1].Passed || !strings.Contains(res[1].Message, "certificate") {
		t.Errorf("without host the certificate for %s must not verify for 127.0.0.1: %+v", name, res[1])
	}
	if res[2].Passed || !strings.Contains(res[2].Message, "without port") {
		t.Errorf("a host with a port: %+v", res[2])
	}
	// Another name is dialled as it is (no override for it): here it does
	// not resolve, so the probe fails rather than reach green.
	other := r.Run(context.Background(), []Probe{{Name: "other", URL: "https://other.invalid:1/", Host: name, Retries: 0}})
	if other[0].Passed {
		t.Errorf("a probe of an unreachable address passed: %+v", other[0])
	}
}

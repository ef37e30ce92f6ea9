package broker

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
)

// TestConnectSignsIn connects to real servers that each demand one way of
// signing in: it works with the right secret and not with a wrong one.
func TestConnectSignsIn(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		// setup returns the server's options, then a URL scheme and user
		// part and the Auth that sign in, and the same for a wrong secret.
		setup func(t *testing.T) (opts *server.Options, good, bad signIn)
	}{
		{"user and password in the URL", func(*testing.T) (*server.Options, signIn, signIn) {
			return &server.Options{Username: "invoiced", Password: "s3cret"},
				signIn{user: "invoiced:s3cret@"}, signIn{user: "invoiced:wrong@"}
		}},
		{"token in the URL", func(*testing.T) (*server.Options, signIn, signIn) {
			return &server.Options{Authorization: "t0ken"}, signIn{user: "t0ken@"}, signIn{user: "other@"}
		}},
		{"nkey seed file", func(t *testing.T) (*server.Options, signIn, signIn) {
			good, pub := nkeySeedFile(t, dir, "good.nk")
			bad, _ := nkeySeedFile(t, dir, "bad.nk")
			return &server.Options{Nkeys: []*server.NkeyUser{{Nkey: pub}}},
				signIn{auth: Auth{NKeySeedFile: good}}, signIn{auth: Auth{NKeySeedFile: bad}}
		}},
		{"creds file", func(t *testing.T) (*server.Options, signIn, signIn) {
			return credsSetup(t, dir)
		}},
		{"TLS with a client certificate", func(t *testing.T) (*server.Options, signIn, signIn) {
			return tlsSetup(t, dir)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, good, bad := tt.setup(t)
			opts.Host, opts.Port, opts.NoLog, opts.NoSigs = "127.0.0.1", -1, true, true
			srv, err := server.NewServer(opts)
			if err != nil {
				t.Fatal(err)
			}
			srv.Start()
			t.Cleanup(srv.Shutdown)
			if !srv.ReadyForConnections(patience) {
				t.Fatal("server not ready")
			}
			port := srv.Addr().(*net.TCPAddr).Port
			if err := signInto(t, port, good); err != nil {
				t.Fatalf("the right secret: %v", err)
			}
			if err := signInto(t, port, bad); err == nil {
				t.Fatal("a wrong secret signed in")
			}
		})
	}
}

// signIn is one way to present oneself: a user part of the URL, an Auth.
type signIn struct {
	user string
	auth Auth
}

// signInto connects with s and reports whether the connection came up and
// answered a round trip; Connect keeps retrying a refused sign-in in the
// background, so a refusal shows as the connection's last error.
func signInto(t *testing.T, port int, s signIn) error {
	t.Helper()
	nc, err := Connect(fmt.Sprintf("nats://%s127.0.0.1:%d", s.user, port), nil, "auth-test", discard(), s.auth)
	if err != nil {
		return err
	}
	defer nc.Close()
	deadline := time.Now().Add(patience)
	for !nc.IsConnected() {
		if err := nc.LastError(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return errors.New("not connected in time")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nc.FlushTimeout(patience)
}

func nkeySeedFile(t *testing.T, dir, name string) (path, public string) {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	public, _ = kp.PublicKey()
	path = filepath.Join(dir, name)
	if err := os.WriteFile(path, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, public
}

// credsSetup returns an operator-mode server trusting one account, and a
// creds file of a user of that account and one of a stranger's.
func credsSetup(t *testing.T, dir string) (*server.Options, signIn, signIn) {
	t.Helper()
	operator, _ := nkeys.CreateOperator()
	opPub, _ := operator.PublicKey()
	opClaims := jwt.NewOperatorClaims(opPub)
	opJWT, err := opClaims.Encode(operator)
	if err != nil {
		t.Fatal(err)
	}
	trusted, err := jwt.DecodeOperatorClaims(opJWT)
	if err != nil {
		t.Fatal(err)
	}
	account, _ := nkeys.CreateAccount()
	accPub, _ := account.PublicKey()
	accJWT, err := jwt.NewAccountClaims(accPub).Encode(operator)
	if err != nil {
		t.Fatal(err)
	}
	resolver := &server.MemAccResolver{}
	if err := resolver.Store(accPub, accJWT); err != nil {
		t.Fatal(err)
	}
	stranger, _ := nkeys.CreateAccount() // signs users the server does not know
	opts := &server.Options{TrustedOperators: []*jwt.OperatorClaims{trusted}, AccountResolver: resolver}
	return opts, signIn{auth: Auth{CredsFile: credsFile(t, dir, "good.creds", account)}},
		signIn{auth: Auth{CredsFile: credsFile(t, dir, "bad.creds", stranger)}}
}

func credsFile(t *testing.T, dir, name string, account nkeys.KeyPair) string {
	t.Helper()
	user, _ := nkeys.CreateUser()
	userPub, _ := user.PublicKey()
	userJWT, err := jwt.NewUserClaims(userPub).Encode(account)
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := user.Seed()
	creds, err := jwt.FormatUserConfig(userJWT, seed)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// tlsSetup returns a server that demands TLS and a client certificate from
// its CA, and the CA and a client certificate it signed; the wrong secret
// is a client certificate from another CA.
func tlsSetup(t *testing.T, dir string) (*server.Options, signIn, signIn) {
	t.Helper()
	ca, caKey := newCert(t, dir, "ca", nil, nil)
	srvCert, _ := newCert(t, dir, "server", ca, caKey)
	cliCert, _ := newCert(t, dir, "client", ca, caKey)
	otherCA, otherKey := newCert(t, dir, "other-ca", nil, nil)
	stranger, _ := newCert(t, dir, "stranger", otherCA, otherKey)
	pair, err := tls.LoadX509KeyPair(srvCert.path, srvCert.keyPath)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	opts := &server.Options{TLS: true, TLSVerify: true, TLSTimeout: 5, TLSConfig: &tls.Config{
		Certificates: []tls.Certificate{pair}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12,
	}}
	return opts, signIn{auth: Auth{TLSCA: ca.path, TLSCert: cliCert.path, TLSKey: cliCert.keyPath}},
		signIn{auth: Auth{TLSCA: ca.path, TLSCert: stranger.path, TLSKey: stranger.keyPath}}
}

type pemCert struct {
	cert          *x509.Certificate
	path, keyPath string
}

// newCert writes a certificate named name, for 127.0.0.1, signed by parent
// (self-signed, as a CA, when parent is nil), and its key, as PEM files; it
// returns them and the key.
func newCert(t *testing.T, dir, name string, parent *pemCert, parentKey *ecdsa.PrivateKey) (*pemCert, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		KeyUsage:    x509.KeyUsageDigitalSignature,
	}
	signer, signerKey := tmpl, key
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	} else {
		signer, signerKey = parent.cert, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	path := filepath.Join(dir, name+".pem")
	writePEM(t, path, "CERTIFICATE", der)
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPath := strings.TrimSuffix(path, ".pem") + "-key.pem"
	writePEM(t, keyPath, "EC PRIVATE KEY", keyDER)
	return &pemCert{cert: cert, path: path, keyPath: keyPath}, key
}

func writePEM(t *testing.T, path, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

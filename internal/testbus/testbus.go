// Package testbus starts private NATS (JetStream) and Redis servers for
// tests, from the nats-server and redis-server binaries, on free ports
// and in temporary directories; a server can be stopped and started again
// on the same port with the same data, for outage tests.
package testbus

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is a running nats-server or redis-server.
type Server struct {
	t    testing.TB
	name string
	args []string
	dir  string
	Port int
	cmd  *exec.Cmd
	done chan struct{}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// NATSOptions configure StartNATS.
type NATSOptions struct {
	User, Password string
}

// StartNATS starts nats-server with JetStream (file storage in a
// temporary directory).
func StartNATS(t testing.TB, o NATSOptions) *Server {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		t.Skip("nats-server not installed (apt-get install nats-server)")
	}
	dir := t.TempDir()
	s := &Server{t: t, name: bin, dir: dir, Port: freePort(t)}
	s.args = []string{"-a", "127.0.0.1", "-p", strconv.Itoa(s.Port), "-js", "-sd", filepath.Join(dir, "js")}
	if o.User != "" {
		s.args = append(s.args, "--user", o.User, "--pass", o.Password)
	}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// URL is the nats:// URL of a NATS server.
func (s *Server) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.Port) }

// Addr is host:port.
func (s *Server) Addr() string { return fmt.Sprintf("127.0.0.1:%d", s.Port) }

// StartRedis starts redis-server with append-only persistence (fsync
// always), so that a restarted server has everything it acknowledged.
func StartRedis(t testing.TB, password string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed (apt-get install redis-server)")
	}
	dir := t.TempDir()
	s := &Server{t: t, name: bin, dir: dir, Port: freePort(t)}
	s.args = []string{"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1", "--dir", dir, "--save", "",
		"--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no", "--protected-mode", "no"}
	if password != "" {
		s.args = append(s.args, "--requirepass", password)
	}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start starts the server (again) and waits until it accepts connections.
func (s *Server) Start() {
	s.t.Helper()
	if s.cmd != nil {
		return
	}
	log, err := os.OpenFile(filepath.Join(s.dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command(s.name, s.args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		s.t.Fatalf("starting %s: %v", s.name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		log.Close()
		close(done)
	}()
	s.cmd, s.done = cmd, done
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			s.cmd = nil
			s.t.Fatalf("%s exited at start:\n%s", s.name, s.Log())
		default:
		}
		if c, err := net.DialTimeout("tcp", s.Addr(), 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("%s did not accept connections on %s:\n%s", s.name, s.Addr(), s.Log())
}

// Stop terminates the server (SIGTERM, then SIGKILL after 10 s) and waits
// for it to exit. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Log is the server's output so far (last 40 lines).
func (s *Server) Log() string {
	f, err := os.Open(filepath.Join(s.dir, "server.log"))
	if err != nil {
		return ""
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}
